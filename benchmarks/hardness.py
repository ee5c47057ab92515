"""What makes tier 1 hard: the number placed with every rule, then with one constraint family left out.

    python benchmarks/hardness.py --size large --seed 0 --time-limit 30

Leaving a family out relaxes the problem, so its optimum is at least the full one; a family
whose absence places many more patients, or proves the number placed in a fraction of the
time, is what the solver's bound is fighting. Only tier 1 (patients placed) is solved, with
iop_sched's default parameters, one run per row, so the figures compare like with like.
Printed as a table and written as CSV (``--csv``).
"""

from __future__ import annotations

import argparse
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

#: Families whose absence still leaves a meaningful week: the patient's own week and the objective stay.
DROPPABLE = ("group_size", "staffing", "rooms", "topics")
COLUMNS = ("left_out", "placed", "bound", "status", "seconds")


def measure(document: dict, time_limit: float, seed: int = 0,
            left_out: Sequence[Optional[str]] = (None,) + DROPPABLE) -> list[dict]:
    """One tier-1 solve per entry of `left_out` (None: every family); a row per solve."""
    from iop_sched import problem_from_data
    from iop_sched.model import FAMILIES

    solve = importlib.import_module("iop_sched.solve")  # the package's `solve` attribute is the function
    constraints = importlib.import_module("iop_sched.constraints")
    problem = problem_from_data(document)
    rows = []
    for name in left_out:
        dropped = getattr(constraints, name).add if name else None
        families = tuple(family for family in FAMILIES if family is not dropped)
        started = time.monotonic()
        outcome = solve.solve_model(problem, time_limit=time_limit, seed=seed, tiers=(1,), families=families)
        tier = outcome.tiers[0]
        rows.append({"left_out": name or "(none)", "placed": tier.value, "bound": tier.bound,
                     "status": tier.status, "seconds": round(time.monotonic() - started, 2)})
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="medium")
    parser.add_argument("--seed", type=int, default=0, help="generator and solver seed")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per solve")
    parser.add_argument("--csv", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    rows = measure(generate(args.size, args.seed), args.time_limit, args.seed)
    print(f"{args.size} seed {args.seed}, tier 1 only, {args.time_limit:g} s per solve")
    show(rows, COLUMNS, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
