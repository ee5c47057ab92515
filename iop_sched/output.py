"""Write a run's files whole or not at all.

Everything is written into a fresh folder beside `--out`, then renamed into
place; the previous `--out` is moved aside first and removed only once the new
one stands. A failed or interrupted run leaves the previous `--out` intact, and a
folder holding anything but our own outputs is never replaced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Union

#: What a run writes at the top of --out; anything else there means the folder is not ours.
OWN_ENTRIES = frozenset({"schedule.json", "calendars", "suggestions.json", "changes.json", "summary.txt", "problem.json"})


class OutputError(OSError):
    """--out cannot be written safely (it holds other files, or is not a folder)."""


def check_out_dir(out_dir: Union[str, Path]) -> Path:
    """Refuse, before any work is done, a --out that is a file or holds files that are not ours."""
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"--out {out}: exists and is not a folder")
        foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in OWN_ENTRIES)
        if foreign:
            raise OutputError(
                f"--out {out}: holds files iop-sched did not write ({', '.join(foreign[:5])}); "
                "choose an empty or new folder")
    return out


def _file_and_folder(files: Mapping[str, bytes]) -> list[str]:
    """Paths that one file needs as a folder and another writes as a file."""
    folders = {"/".join(parts[:depth]) for parts in (path.split("/") for path in files) for depth in range(1, len(parts))}
    return sorted(folders & set(files))


def write_tree(out_dir: Union[str, Path], files: Mapping[str, bytes]) -> Path:
    """Write {relative path: bytes} as the whole content of `out_dir`, atomically replacing it."""
    out = check_out_dir(out_dir).absolute()
    clashes = _file_and_folder(files)
    if clashes:
        raise OutputError(f"--out {out}: {clashes[0]!r} would be both a file and a folder (ids such as 'a' and "
                          f"'a.ics/b' name each other's calendar path); nothing written")
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.writing-", dir=parent))
    previous = None
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
        if out.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=parent))
            previous.rmdir()
            os.rename(out, previous)
        os.rename(staging, out)
    except BaseException:
        if previous is not None and previous.exists() and not out.exists():
            os.rename(previous, out)  # put the previous outputs back
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return out
