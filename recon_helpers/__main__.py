"""Allow ``python -m recon_helpers``."""

from recon_helpers.cli import main

raise SystemExit(main())
