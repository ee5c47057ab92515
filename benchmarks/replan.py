"""Re-planning measured: how many patients keep their place and their week when the program changes.

    python benchmarks/replan.py --size large --seeds 3 --time-limit 30 --first-limit 60

For each generated program, a first schedule is solved (`--first-limit` seconds), then the
program changes and is re-planned from it (`--time-limit` seconds), as `iop-sched solve
--previous` does:

- *unchanged*: the same program again; nobody should move;
- *admit*: the first schedule was solved without the last `--admit` share of the patients,
  who are admitted now;
- *discharge*: every `--discharge-every`-th patient is gone from the program.

A row per re-plan: patients placed before and now, the proven bound, previously placed
patients kept, dropped (no longer placed) and moved (placed in another week), the seconds
of the re-plan and whether its schedule holds every hard rule (`iop_sched.validate`).
Moves are what a clinic feels: a patient in treatment whose evenings change. Printed as a
table and written as CSV (``--csv``).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and __package__ in (None, ""):
    sys.path.insert(0, str(REPO))

from benchmarks.generate import SIZES, generate  # noqa: E402
from benchmarks.tables import show  # noqa: E402

CHANGES = ("unchanged", "admit", "discharge")
COLUMNS = ("program", "change", "before", "placed", "bound", "kept", "dropped", "moved", "seconds", "valid")


def without_last_patients(document: dict, share: float) -> dict:
    """The program before the last `share` of its patients were admitted (at least one stays out)."""
    earlier = copy.deepcopy(document)
    admitted = max(1, round(share * len(document["patients"])))
    earlier["patients"] = earlier["patients"][:-admitted]
    return earlier


def without_discharged(document: dict, every: int) -> dict:
    """The program after every `every`-th patient (the first included) is discharged and gone."""
    later = copy.deepcopy(document)
    later["patients"] = [patient for index, patient in enumerate(later["patients"]) if index % every]
    return later


def _row(program: int, change: str, problem, before: int, schedule, seconds: float) -> dict:
    from iop_sched.validate import validate_schedule

    previous = schedule.stats["previous"]
    return {"program": program, "change": change, "before": before, "placed": schedule.stats["placed"],
            "bound": schedule.stats["placed_bound"], "kept": len(previous["kept"]),
            "dropped": len(previous["dropped"]), "moved": len(previous["moved"]), "seconds": round(seconds, 1),
            "valid": not validate_schedule(problem, schedule.to_dict())}


def measure(document: dict, program: int, time_limit: float, first_limit: float, seed: int = 0,
            changes: Sequence[str] = CHANGES, admit: float = 0.05, discharge_every: int = 25) -> list[dict]:
    """A row per change in `changes`: the first schedule, then the re-plan of the changed program."""
    from iop_sched import problem_from_data

    solve = importlib.import_module("iop_sched.solve")  # the package's `solve` attribute is the function
    first = {}

    def first_schedule(earlier: dict) -> tuple[dict, int]:
        key = len(earlier["patients"])
        if key not in first:
            schedule = solve.solve(problem_from_data(earlier), time_limit=first_limit, seed=seed)
            first[key] = (schedule.to_dict(), schedule.stats["placed"])
        return first[key]

    rows = []
    for change in changes:
        earlier, later = document, document
        if change == "admit":
            earlier = without_last_patients(document, admit)
        elif change == "discharge":
            later = without_discharged(document, discharge_every)
        elif change != "unchanged":
            raise ValueError(f"unknown change {change!r}; choose from {', '.join(CHANGES)}")
        previous, before = first_schedule(earlier)
        problem = problem_from_data(later)
        started = time.monotonic()
        schedule = solve.solve(problem, time_limit=time_limit, seed=seed, previous=previous)
        rows.append(_row(program, change, problem, before, schedule, time.monotonic() - started))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--seeds", type=int, default=1, help="programs 0 .. N-1 (the solver's seed is the program's)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds of each re-plan")
    parser.add_argument("--first-limit", type=float, default=60.0, help="seconds of each first schedule")
    parser.add_argument("--changes", nargs="+", choices=CHANGES, default=list(CHANGES))
    parser.add_argument("--admit", type=float, default=0.05, help="share of the patients admitted since")
    parser.add_argument("--discharge-every", type=int, default=25, help="every N-th patient is discharged")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args(argv)
    if not 0 < args.admit < 1 or args.discharge_every < 2:
        parser.error("--admit must be between 0 and 1 and --discharge-every at least 2")
    rows = []
    for program in range(args.seeds):
        rows += measure(generate(args.size, program), program, args.time_limit, args.first_limit, seed=program,
                        changes=args.changes, admit=args.admit, discharge_every=args.discharge_every)
    print(f"{args.size}, programs 0-{args.seeds - 1}: first schedules {args.first_limit:g} s, "
          f"re-plans {args.time_limit:g} s")
    show(rows, COLUMNS, args.csv, width=9)
    return 0


if __name__ == "__main__":
    sys.exit(main())
