"""Moving a pull into the month folder in one step, or not at all.

A pull writes into a hidden staging folder beside the month (``inputs/.<YYYY-MM>.pull-*``).
Only when every source succeeded does :func:`commit` build the month's next state beside it:
every file already there hard-linked in (copied where links are impossible), the files being
replaced linked into ``.replaced/<stamp>/`` instead, the new files moved in, the new
``pull-log.json`` written; then it swaps that folder with the month in one atomic exchange
(Linux ``renameat2``). A failure or a ``kill -9`` at any earlier point leaves the month as it
was; the staging folder is removed by the next pull of the month. :func:`month_lock` keeps two
pulls of one month apart.

Example:
    >>> with month_lock(ws.root / "inputs", "2026-10"):
    ...     staging = new_staging(ws.root / "inputs", "2026-10")
    ...     commit(ws.inputs("2026-10"), staging, replaced, log_text, "20261103T091244Z")
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from recon_helpers.connect.provenance import PULL_LOG
from recon_helpers.core.errors import UsageError
from recon_helpers.core.files import exchange_paths, fsync_tree
from recon_helpers.core.period import Period

REPLACED = ".replaced"
NEW = "files"  # inside the staging folder: what the sources saved


@contextlib.contextmanager
def month_lock(inputs: Path, period: Period) -> Iterator[None]:
    """Hold the month's pull lock (released by the OS if the process dies).

    Raises:
        UsageError: another pull of the month is running.
    """
    inputs.mkdir(parents=True, exist_ok=True)
    fd = os.open(inputs / f".{period}.pull.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise UsageError(f"another recon pull into {period} is running; wait for it "
                                 "to finish") from None
            raise
        yield
    finally:
        os.close(fd)


def new_staging(inputs: Path, period: Period) -> Path:
    """A fresh staging folder; earlier ones of the month (left by a killed pull) are removed.

    A pull killed between the two renames of the fallback swap (no ``renameat2``) left the
    month's previous state inside its staging folder: it is put back first. Call this holding
    :func:`month_lock`, so no running pull owns those folders.
    """
    month = inputs / str(period)
    for old in sorted(inputs.glob(f".{period}.pull-*")):
        if not old.is_dir():
            continue
        if (old / "previous").is_dir() and not month.exists():
            (old / "previous").rename(month)
        shutil.rmtree(old, ignore_errors=True)
    staging = inputs / f".{period}.pull-{os.getpid()}-{time.time_ns()}"
    (staging / NEW).mkdir(parents=True)
    return staging


def month_files(month: Path) -> list[str]:
    """Every file under the month folder (relative POSIX paths), ``.replaced/`` excluded."""
    if not month.is_dir():
        return []
    out = []
    for path in sorted(month.rglob("*")):
        rel = path.relative_to(month)
        if rel.parts[0] == REPLACED or not (path.is_file() or path.is_symlink()):
            continue
        out.append(rel.as_posix())
    return out


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:  # a file system without hard links: copy (a symlink stays a symlink)
        shutil.copy2(src, dst, follow_symlinks=False)


def _build(month: Path, tree: Path, replaced: set[str], stamp: str) -> list[dict[str, str]]:
    """Link the month's current files into ``tree``; the replaced ones under .replaced/."""
    moved = []
    if not month.is_dir():
        return moved
    for dirpath, dirnames, filenames in os.walk(month):
        here = Path(dirpath)
        rel_dir = here.relative_to(month)
        (tree / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in [*filenames, *(d for d in dirnames if (here / d).is_symlink())]:
            rel = (rel_dir / name).as_posix()
            if rel == PULL_LOG:
                continue  # rewritten below, with this pull appended
            if rel in replaced:
                target = f"{REPLACED}/{stamp}/{rel}"
                moved.append({"file": rel, "moved_to": target})
                _link(here / name, tree / target)
            else:
                _link(here / name, tree / rel)
    return moved


def unique_stamp(month: Path, stamp: str) -> str:
    """``stamp``, or ``stamp-2``, ... when ``.replaced/<stamp>`` exists already."""
    candidate, n = stamp, 1
    while (month / REPLACED / candidate).exists():
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def commit(month: Path, staging: Path, replaced: set[str], log_text: str,
           stamp: str) -> list[dict[str, str]]:
    """Make the month folder its next state in one atomic step (see the module docstring).

    Returns:
        The replaced files and where they were moved (``.replaced/<stamp>/...``).

    Raises:
        UsageError: a new file has the name of a file that stays (nothing is changed).
    """
    tree = staging / "month"
    moved = _build(month, tree, replaced, stamp)
    new = staging / NEW
    for path in sorted(p for p in new.rglob("*") if p.is_file()):
        rel = path.relative_to(new)
        if (tree / rel).exists():
            raise UsageError(f"{month.name}/{rel.as_posix()} exists and is not from the pulled "
                             "source; rename or move it, then pull again")
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        path.rename(tree / rel)
    (tree / PULL_LOG).write_text(log_text, encoding="utf-8")
    fsync_tree(tree)
    if month.exists() and exchange_paths(tree, month):
        shutil.rmtree(tree, ignore_errors=True)  # the old state: links to files kept above
    else:
        aside = staging / "previous"
        if month.exists():
            month.rename(aside)
        tree.rename(month)
    shutil.rmtree(staging, ignore_errors=True)
    return moved
