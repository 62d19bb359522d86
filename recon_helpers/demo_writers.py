"""Former home of the demo export writers, kept so existing imports keep working.

The writers now live in :mod:`recon_helpers.demo_exports` (one module per export family);
``benchmarks/generate.py`` still imports ``MS_HEADER`` and ``PARTNER_ID`` from here. New code
should import from :mod:`recon_helpers.demo_exports`.
"""

from __future__ import annotations

from recon_helpers.demo_exports import *  # noqa: F403  (the same public names as before)
from recon_helpers.demo_exports import __all__ as __all__
