"""Append decisions to a ledger in a loop; used by the ledger tests as a separate process.

Usage: ``python tests/ledger_worker.py LEDGER TAG COUNT [sync]`` (COUNT 0 = until killed;
``sync``: print ``ready`` and wait for a line on stdin, so several workers start together).
Prints ``seq hash key`` after each append has committed, so the parent knows which appends
were acknowledged before it killed this process.
"""

from __future__ import annotations

import sys

from recon_helpers.audit.ledger import Ledger
from recon_helpers.core.period import Period


def main(argv: list[str]) -> int:
    """Append COUNT (or endless) decisions tagged TAG and acknowledge each on stdout."""
    path, tag, count = argv[1], argv[2], int(argv[3])
    ledger = Ledger(path, timeout=15.0)
    if argv[4:] == ["sync"]:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()
    i = 0
    while count == 0 or i < count:
        key = f"{tag}-{i}"
        payload = {"action": "accept", "note": f'burst, "quoted", {i}', "impact": "-12.50"}
        entry = ledger.append("decision", Period.parse("2026-10"), key, payload, actor=tag)
        sys.stdout.write(f"{entry.seq} {entry.hash} {key}\n")
        sys.stdout.flush()
        i += 1
    ledger.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
