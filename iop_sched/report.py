"""The program report a coordinator reads beside the schedule: where capacity binds.

Four tables (pandas DataFrames), all computed from the problem and the schedule
document without the solver: full groups, candidate groups that did not open and
who could have come, clinician hours against caps, and the time slots the
patients not placed could reach (where a new group would find demand).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from .constraints.availability import compute_eligibility
from .schema import Problem


def program_report(problem: Problem, schedule: dict) -> dict[str, pd.DataFrame]:
    rosters = {entry["id"]: entry for entry in schedule["blocks"]}
    placed = {entry["id"] for entry in schedule["patients"] if entry["placed"]}
    eligibility = compute_eligibility(problem)
    full, not_opened = [], []
    for b, block in enumerate(problem.blocks):
        members = rosters.get(block.id, {}).get("patients", [])
        capacity = problem.seats_of(block)  # full: every seat taken (not merely every patient of the program in it)
        reach = [problem.patients[p].id for p in eligibility.patients_of_block[b]]
        waiting = [pid for pid in reach if pid not in placed]
        if members and capacity is not None and len(members) >= capacity:
            full.append({"block": block.id, "day": block.day, "start": block.start, "topic": block.topic,
                         "size": len(members), "capacity": capacity, "unplaced_who_could_come": len(waiting)})
        if not members:
            not_opened.append({"block": block.id, "day": block.day, "start": block.start, "topic": block.topic,
                               "min_size": block.min_size, "could_come": len(reach),
                               "unplaced_who_could_come": len(waiting),
                               "clinicians_who_could_lead": len(eligibility.clinicians_of_block[b])})
    minutes = Counter()
    durations = {block.id: block.minutes for block in problem.blocks}
    for entry in schedule["blocks"]:
        if entry["patients"]:
            for clinician_id in entry["clinicians"]:
                minutes[clinician_id] += durations[entry["id"]]
    hours = [{"clinician": c.id, "hours": minutes[c.id] / 60, "max_weekly_hours": c.max_weekly_hours,
              "share_of_cap": (minutes[c.id] / 60 / c.max_weekly_hours) if c.max_weekly_hours else None}
             for c in problem.clinicians]
    demand = Counter()
    for p, patient in enumerate(problem.patients):
        if patient.id in placed:
            continue
        for slot in {(problem.blocks[b].day, problem.blocks[b].start) for b in eligibility.blocks_of_patient[p]}:
            demand[slot] += 1
    slots = [{"day": day, "start": start, "unplaced_who_could_come": count}
             for (day, start), count in sorted(demand.items(), key=lambda item: (-item[1], item[0]))]
    return {
        "full_groups": pd.DataFrame(full, columns=["block", "day", "start", "topic", "size", "capacity",
                                                   "unplaced_who_could_come"]),
        "groups_not_opened": pd.DataFrame(not_opened, columns=["block", "day", "start", "topic", "min_size",
                                                               "could_come", "unplaced_who_could_come",
                                                               "clinicians_who_could_lead"]),
        "clinician_hours": pd.DataFrame(hours, columns=["clinician", "hours", "max_weekly_hours", "share_of_cap"]),
        "unplaced_demand": pd.DataFrame(slots, columns=["day", "start", "unplaced_who_could_come"]),
    }


def report_lines(report: dict[str, pd.DataFrame]) -> list[str]:
    """A few lines for the solve summary."""
    lines = []
    full = report["full_groups"]
    if len(full):
        lines.append(f"full groups: {', '.join(full['block'])}")
    hours = report["clinician_hours"]
    at_cap = hours[(hours["share_of_cap"].notna()) & (hours["share_of_cap"] >= 0.999)]
    if len(at_cap):
        lines.append(f"clinicians at their weekly cap: {', '.join(at_cap['clinician'])}")
    demand = report["unplaced_demand"].head(3)
    if len(demand):
        slots = ", ".join(f"{row.day} {row.start} ({row.unplaced_who_could_come})" for row in demand.itertuples())
        lines.append(f"where patients not placed could come (patients): {slots}")
    return lines
