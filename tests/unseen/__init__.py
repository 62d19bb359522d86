"""Unseen months: an MSP's book written in real export shapes, independent of the demo.

``plan`` holds what the month *is* (clients, vendor customers, vendor lines, agreement
additions, invoice lines); ``expected`` derives the findings the documented rules give on it;
the ``write_*`` modules render it as the vendors and ConnectWise export it; ``workspace``
writes a whole workspace; ``damage`` re-saves or breaks files the way spreadsheets and
browsers do; ``run`` drives the ``recon`` command line and compares its findings.

Nothing here imports ``recon_helpers`` except ``run`` (for ``recon_helpers.cli.main``).
"""
