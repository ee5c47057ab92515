"""Write a run's files whole or not at all.

Everything is written into a fresh folder beside `--out`, then swapped into place
in one step (Linux: renameat2 RENAME_EXCHANGE), and the previous run removed once
the new one stands; where no such swap exists, the previous `--out` is moved aside
just before the new one is renamed in. A failed or interrupted run leaves the
previous `--out` intact, and a folder holding anything but our own outputs is never
replaced.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

#: What a run writes at the top of --out; anything else there means the folder is not ours.
OWN_ENTRIES = frozenset({"schedule.json", "calendars", "suggestions.json", "changes.json", "summary.txt", "problem.json"})


class OutputError(OSError):
    """--out cannot be written safely (it holds other files, or is not a folder)."""


def check_out_dir(out_dir: Union[str, Path]) -> Path:
    """Refuse, before any work is done, a --out that is a file, holds files that are not ours, or cannot be made.

    A symbolic link is followed: the folder it points to is the one replaced, and the
    link stays. Where --out does not exist yet, a folder is made and removed again in
    the nearest existing folder above it, so a read-only or special place (/proc, a
    file on the way) is found now, not after the solve.
    """
    out = Path(os.path.realpath(out_dir))
    if os.path.islink(out):  # realpath left a link: a loop of links
        raise OutputError(f"--out {out_dir}: a symbolic link that leads to no folder (a loop of links)")
    if os.path.ismount(out):
        raise OutputError(f"--out {out_dir}: a mount point, which cannot be replaced whole; choose a folder inside it")
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"--out {out_dir}: exists and is not a folder")
        try:
            foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in OWN_ENTRIES)
        except OSError as error:
            raise OutputError(f"--out {out_dir}: cannot be read ({error.strerror or error})") from None
        if foreign:
            raise OutputError(
                f"--out {out_dir}: holds files iop-sched did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new folder")
    above = out.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputError(f"--out {out_dir}: {above} is a file, so no folder can be made there")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".iop-sched-probe-", dir=above))
    except OSError as error:
        raise OutputError(f"--out {out_dir}: cannot write in {above} ({error.strerror or error})") from None
    return out


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_current_folder, rename_exchange = -100, 2
    return renameat2(at_current_folder, os.fsencode(first), at_current_folder, os.fsencode(second), rename_exchange) == 0


def _file_and_folder(files: Mapping[str, bytes]) -> list[str]:
    """Paths that one file needs as a folder and another writes as a file."""
    folders = {"/".join(parts[:depth]) for parts in (path.split("/") for path in files) for depth in range(1, len(parts))}
    return sorted(folders & set(files))


def case_only_clashes(paths: Iterable[str]) -> list[tuple[str, ...]]:
    """Paths that differ only in case or Unicode form: on a case-insensitive disk (Windows, macOS) one file
    overwrites another (macOS also takes "José" composed and decomposed for one name).

    The format allows ids such as `P1` and `p1` (unique as strings), and Linux keeps both files,
    so they are written; but a copy to such a disk would hand one patient another's calendar.
    """
    by_folded: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_folded[unicodedata.normalize("NFD", path).casefold()].append(path)
    return [tuple(sorted(group)) for _, group in sorted(by_folded.items()) if len(group) > 1]


def write_tree(out_dir: Union[str, Path], files: Mapping[str, bytes]) -> Path:
    """Write {relative path: bytes} as the whole content of `out_dir`, atomically replacing it."""
    out = check_out_dir(out_dir).absolute()
    clashes = _file_and_folder(files)
    if clashes:
        raise OutputError(f"--out {out}: {clashes[0]!r} would be both a file and a folder (ids such as 'a' and "
                          f"'a.ics/b' name each other's calendar path); nothing written")
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging: Optional[Path] = Path(tempfile.mkdtemp(prefix=f".{out.name}.writing-", dir=parent))
    previous: Optional[Path] = None
    try:
        for relative, content in files.items():
            target = (staging / relative).resolve()
            if staging.resolve() not in target.parents:
                raise OutputError(f"refusing to write outside --out: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(staging, 0o755)
        if out.exists() and _exchange(staging, out):
            previous, staging = staging, None  # the new run stands; the staging path now holds the old one
        else:
            if out.exists():  # without an atomic swap: the old run is moved aside for a moment
                previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=parent))
                previous.rmdir()
                os.rename(out, previous)
            os.rename(staging, out)
    except BaseException:
        if previous is not None and previous.exists() and not out.exists():
            os.rename(previous, out)  # put the previous outputs back
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return out
