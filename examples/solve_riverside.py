"""The acceptance program end to end from Python: load -> solve -> DataFrames -> calendars.

    python examples/solve_riverside.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import iop_sched

HERE = Path(__file__).resolve().parent


def main(out_dir: str = "out/riverside") -> None:
    problem = iop_sched.load_problem(HERE / "riverside.json")
    schedule = iop_sched.solve(problem, time_limit=30)
    print(schedule.summary())

    patients = schedule.patients_frame()
    print("\nplaced by population:")
    print(patients.groupby("population")["placed"].agg(["sum", "count"]).to_string())

    groups = schedule.blocks_frame()
    print("\nopen groups:")
    print(groups[groups["open"]][["block", "day", "start", "end", "topic", "size", "capacity", "clinicians"]].to_string(index=False))

    print("\nclinician hours:")
    print(schedule.clinicians_frame().to_string(index=False))

    out = schedule.write(out_dir)
    print(f"\nwrote {out}/schedule.json and {len(list((out / 'calendars').rglob('*.ics')))} calendar files")


if __name__ == "__main__":
    main(*sys.argv[1:])
