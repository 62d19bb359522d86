"""A workspace's own vendor profiles (``mappings/profiles/*.toml``), checked against each other.

The files are read once per change (cached on their names, sizes and modification times), so a
month with no profiles folder costs one ``is_dir`` call, and detection of the package's own
formats is unchanged. Every profile is validated (:mod:`recon_helpers.ingest.loaders.profile_toml`);
then no two profiles, shipped or the workspace's, may be able to claim the same file: one
export that fits both would be loaded by whichever detection happened to prefer.

Example:
    >>> formats = workspace_formats(Workspace.open("data"))   # () without mappings/profiles/
    >>> [f.name for f in formats]
    ['ninjaone_devices']
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from pathlib import Path

from recon_helpers.core.errors import ConfigError
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.profile_model import Profile, detection_signature
from recon_helpers.ingest.loaders.profile_toml import read_profile
from recon_helpers.ingest.loaders.profiles import PROFILES, to_format
from recon_helpers.ingest.raw import norm_header

FOLDER = "profiles"  # under mappings/


def profile_files(workspace: Workspace) -> list[Path]:
    """The workspace's profile files, by name (hidden and editor backup files are skipped)."""
    folder = workspace.mappings / FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if p.is_file() and not p.name.startswith("."))


def workspace_formats(workspace: Workspace, builtin_names: frozenset[str] = frozenset()
                      ) -> tuple[SourceFormat, ...]:
    """The registered formats a workspace's profiles declare (empty without any).

    Args:
        workspace: the workspace.
        builtin_names: names of the package's formats, which a profile may not reuse.

    Raises:
        ConfigError: a profile file is invalid, reuses a format name, or can claim the same
            file as another profile (names both files and lines).
    """
    files = profile_files(workspace)
    if not files:
        return ()
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    root = str(workspace.root)
    return _formats(stamp, root, builtin_names)


@lru_cache(maxsize=16)
def _formats(stamp: tuple[tuple[str, int, int], ...], root: str,
             builtin_names: frozenset[str]) -> tuple[SourceFormat, ...]:
    profiles = [read_profile(Path(path), _label(Path(path), root)) for path, _, _ in stamp]
    check_profiles(profiles, builtin_names)
    return tuple(to_format(p, origin=p.where("name")) for p in profiles)


def _label(path: Path, root: str) -> str:
    try:
        return str(path.relative_to(Path(root).parent))
    except ValueError:
        return str(path)


def check_profiles(profiles: list[Profile], builtin_names: frozenset[str] = frozenset()) -> None:
    """Names are new, and no two profiles (these and the shipped ones) claim the same file.

    Raises:
        ConfigError: naming the profile file(s) and line(s).
    """
    shipped = {p.name: p for p in PROFILES}
    seen: dict[str, Profile] = {}
    for p in profiles:
        other = seen.get(p.name) or shipped.get(p.name)
        if other is not None:
            raise ConfigError(f"{p.where('name')}: `name`: {p.name!r} is already the profile "
                              f"of {other.where('name')}; give this one another name")
        if p.name in builtin_names:
            raise ConfigError(f"{p.where('name')}: `name`: {p.name!r} is a built-in format; "
                              "give the profile another name")
        seen[p.name] = p
    for a, b in combinations([*PROFILES, *profiles], 2):
        if a.declared_in in shipped_files() and b.declared_in in shipped_files():
            continue  # the package's own are checked by its tests
        if can_claim_same_file(a, b):
            raise ConfigError(
                f"{b.where('detect')} and {a.where('detect')}: profiles {b.name!r} and "
                f"{a.name!r} can both claim one file (a file with the columns "
                f"{sorted(detection_signature(a) | detection_signature(b))}); add `excludes` "
                "under [detect] to one of them naming a column only the other's export has"
            )


def shipped_files() -> frozenset[str]:
    """The ``declared_in`` labels of the shipped profiles."""
    return frozenset(p.declared_in for p in PROFILES)


def can_claim_same_file(a: Profile, b: Profile) -> bool:
    """Whether one file could carry both profiles' signatures and neither one's excludes."""
    kinds = a.kinds & b.kinds
    if not kinds or (kinds == {"json"} and a.container != b.container):
        return False
    columns = {norm_header(c) for c in detection_signature(a) | detection_signature(b)}
    excluded = {norm_header(c) for c in (*a.excludes, *b.excludes)}
    return not columns & excluded
