"""The schedule a clinic reads: rosters, each patient's week, statistics, reasons.

`Schedule` is what `iop_sched.solve()` returns. `to_dict()` / `to_json()` give the
iop-sched-schedule/1 document; the DataFrame views are for analysis and plots;
`summary()` is the text a coordinator reads first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from .schema import SCHEDULE_FORMAT, Problem
from .weektime import DAYS



@dataclass
class PatientWeek:
    id: str
    placed: bool
    blocks: list[str]
    weekly_hours: float
    reasons: list[str] = field(default_factory=list)
    why: list[dict] = field(default_factory=list)


@dataclass
class Roster:
    id: str
    patients: list[str]
    clinicians: list[str]

    @property
    def is_open(self) -> bool:
        return bool(self.patients)


@dataclass
class Schedule:
    """A weekly schedule for a problem, with how it was obtained."""

    problem: Problem
    status: str
    rosters: list[Roster]
    patients: list[PatientWeek]
    stats: dict[str, Any]

    # ---- the schedule document ----
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SCHEDULE_FORMAT,
            "status": self.status,
            "blocks": [{"id": r.id, "patients": list(r.patients), "clinicians": list(r.clinicians)} for r in self.rosters],
            "patients": [
                {"id": w.id, "placed": w.placed, "blocks": list(w.blocks), "weekly_hours": w.weekly_hours,
                 "reasons": list(w.reasons), "why": list(w.why)}
                for w in self.patients
            ],
            "stats": dict(self.stats),
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    def write(self, out_dir, extra_files: Optional[dict[str, bytes]] = None) -> "Path":
        """Write schedule.json, calendars/ and problem.json (and `extra_files`) into `out_dir`, replacing a previous run atomically.

        problem.json is what a later re-plan `--from` starts from: the problem as the caller
        gave it when they pass its bytes in `extra_files` (the CLI does), else the problem
        written back from the validated models, which reads back as the same problem.
        """
        from .output import write_tree

        problem_json = json.dumps(self.problem.model_dump(mode="json", exclude_none=True, by_alias=True),
                                  indent=2, ensure_ascii=False).encode("utf-8")
        return write_tree(out_dir, {**output_files(self), "problem.json": problem_json, **(extra_files or {})})

    # ---- figures ----
    @property
    def placed(self) -> int:
        return sum(1 for week in self.patients if week.placed)

    @property
    def open_blocks(self) -> list[Roster]:
        return [roster for roster in self.rosters if roster.is_open]

    # ---- pandas views ----
    def assignments(self) -> pd.DataFrame:
        """One row per (patient, block) attended."""
        blocks = {block.id: block for block in self.problem.blocks}
        staff = {roster.id: roster.clinicians for roster in self.rosters}
        rows = []
        for week in self.patients:
            for block_id in week.blocks:
                block = blocks[block_id]
                rows.append({
                    "patient": week.id, "block": block_id, "day": block.day, "start": block.start,
                    "end": block.end, "hours": block.minutes / 60, "topic": block.topic, "room": block.room,
                    "modality": self.problem.modality_of(block), "clinicians": ", ".join(staff.get(block_id, [])),
                })
        columns = ["patient", "block", "day", "start", "end", "hours", "topic", "room", "modality", "clinicians"]
        return pd.DataFrame(rows, columns=columns)

    def patients_frame(self) -> pd.DataFrame:
        """One row per patient: placed, hours, days, reasons."""
        blocks = {block.id: block for block in self.problem.blocks}
        rows = []
        for patient, week in zip(self.problem.patients, self.patients):
            days = sorted({blocks[b].day for b in week.blocks}, key=DAYS.index)
            rows.append({
                "patient": week.id, "population": patient.population, "placed": week.placed,
                "weekly_hours": week.weekly_hours, "blocks": len(week.blocks), "days": " ".join(days),
                "reasons": " ".join(week.reasons),
            })
        return pd.DataFrame(rows, columns=["patient", "population", "placed", "weekly_hours", "blocks", "days", "reasons"])

    def blocks_frame(self) -> pd.DataFrame:
        """One row per candidate block: open or not, size against limits, staff."""
        rosters = {roster.id: roster for roster in self.rosters}
        rows = []
        for block in self.problem.blocks:
            roster = rosters.get(block.id, Roster(block.id, [], []))
            rows.append({
                "block": block.id, "day": block.day, "start": block.start, "end": block.end,
                "topic": block.topic, "room": block.room, "modality": self.problem.modality_of(block),
                "open": roster.is_open, "size": len(roster.patients), "min_size": block.min_size,
                "capacity": self.problem.capacity_of(block), "clinicians": ", ".join(roster.clinicians),
            })
        columns = ["block", "day", "start", "end", "topic", "room", "modality", "open", "size", "min_size",
                   "capacity", "clinicians"]
        return pd.DataFrame(rows, columns=columns)

    def clinicians_frame(self) -> pd.DataFrame:
        """One row per clinician: groups led and hours against their cap."""
        minutes = {clinician.id: 0 for clinician in self.problem.clinicians}
        groups = {clinician.id: 0 for clinician in self.problem.clinicians}
        blocks = {block.id: block for block in self.problem.blocks}
        for roster in self.open_blocks:
            for clinician_id in roster.clinicians:
                minutes[clinician_id] += blocks[roster.id].minutes
                groups[clinician_id] += 1
        rows = [{
            "clinician": c.id, "groups": groups[c.id], "hours": minutes[c.id] / 60,
            "max_weekly_hours": c.max_weekly_hours,
        } for c in self.problem.clinicians]
        return pd.DataFrame(rows, columns=["clinician", "groups", "hours", "max_weekly_hours"])

    def report(self) -> dict[str, pd.DataFrame]:
        """Full groups, groups not opened, clinician hours against caps, demand of those not placed."""
        from .report import program_report

        return program_report(self.problem, self.to_dict())

    # ---- text ----
    def summary(self) -> str:
        """A few lines a coordinator reads first: placed, proof, groups, time, who is not placed and why."""
        s = self.stats
        total = s["patients"]
        lines = [
            f"{self.problem.program.name}: placed {s['placed']} of {total} patients "
            f"(proven at most {s['placed_bound']}; status {self.status})",
            f"open groups: {s['open_blocks']} of {len(self.problem.blocks)} candidate blocks; "
            f"clinician hours: {s.get('clinician_hours', 0):g}; solved in {s['solve_seconds']:.2f} s",
        ]
        from .report import program_report, report_lines

        if s.get("schedule_from") == "first_come_first_served":
            lines.append("the solver found no schedule within the time limit: this is the first-come-first-served "
                         "week it started from (give it more time)")
        if "pins" in s:
            lines.append(f"pins held: {s['pins']['held']} of {s['pins']['total']}")
            lines += [f"  pin not kept: {text}" for text in s["pins"]["broken"]]
        if "previous" in s:
            before = s["previous"]
            lines.append(f"re-planned: {len(before['kept'])} of {before['previously_placed']} previously placed kept, "
                         f"{len(before['moved'])} moved")

        lines += report_lines(program_report(self.problem, self.to_dict()))
        unplaced = [week for week in self.patients if not week.placed]
        if unplaced:
            lines.append("not placed:")
            for week in unplaced:
                lines.append(f"  {week.id}: {' '.join(week.reasons)}")
        return "\n".join(lines)



def output_files(schedule: Schedule, now=None) -> dict[str, bytes]:
    """Every file a run writes under --out: schedule.json and the calendars."""
    from .calendars import build_calendars

    document = schedule.to_dict()
    files = {"schedule.json": schedule.to_json().encode("utf-8")}
    files.update(build_calendars(schedule.problem, document, now=now))
    return files
