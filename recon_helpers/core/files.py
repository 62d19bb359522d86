"""Exact files: atomic writes, folder swaps and the one sha256 of a file.

Every file the tool writes goes through :func:`atomic_write` (temporary file, fsync,
``os.replace``): a crash leaves the old file or the new one, and a failed write (a full disk)
is :class:`WriteFailed`, naming the file. :func:`exchange_paths` and :func:`fsync_tree` do the
same for a report folder. :func:`sha256_file` is how every stage fingerprints a file (the
inventory, the manifest, the seal).

Example:
    >>> atomic_write_text(Path("reports/2026-10/signoff.html"), page)
    >>> sha256_file(Path("data/inputs/2026-10/cw-invoices.json"))
    '9c1f...'
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from recon_helpers.core.errors import ReconError


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class WriteFailed(ReconError, OSError):
    """A file could not be written (disk full, file too large, no permission).

    Raised by :func:`atomic_write`, which leaves the target as it was; an OSError too, so
    code that catches OSError keeps working, and a ReconError, so the CLI exits 2 with it.
    """


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file through a temporary file in the same folder and ``os.replace``.

    A reader (or a crash) never sees a half-written file: the target is either the old
    content or the complete new one.

    Args:
        path: the target file; its folder is created if missing.
        write: called with the temporary path to write to.

    Returns:
        The target path.

    Raises:
        WriteFailed: the file could not be written (names it); the target is unchanged and
            no temporary file is left.
    """
    target = Path(path)
    try:
        return _atomic_write(target, write)
    except WriteFailed:
        raise
    except OSError as exc:
        err = WriteFailed(f"cannot write {target}: {exc.strerror or exc}; "
                          "the file was left as it was")
        err.errno = exc.errno
        raise err from exc


def _atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp creates 0600; keep the mode an ordinary write would give
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic
        return target
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        True when swapped; False where the C library or the file system cannot (the caller
        then falls back to two renames).

    Raises:
        OSError: the exchange failed for another reason (e.g. ``b`` does not exist).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a libc without renameat2 (glibc < 2.28, musl)
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint)
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def fsync_tree(folder: Path) -> None:
    """fsync every file under ``folder`` and the folder itself (before it is renamed in)."""
    for path in [*sorted(p for p in folder.rglob("*") if p.is_file()), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))
