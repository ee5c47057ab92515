"""Small programs built in code for the tests, and a solve that always goes through the validator."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Optional

import pytest

from iop_sched import problem_from_data, solve
from iop_sched.result import Schedule
from iop_sched.schema import Problem
from iop_sched.validate import validate_schedule

REPO = Path(__file__).resolve().parents[1]
TEST_TIME_LIMIT = 20.0  # seconds: far above what these tiny programs need, so never the reason a test passes or fails


def acceptance_path() -> Path:
    """The riverside program: the copy in examples/, else the shared acceptance folder."""
    for candidate in (REPO / "examples" / "riverside.json", REPO.parent / "shared" / "acceptance" / "riverside.json"):
        if candidate.exists():
            return candidate
    pytest.skip("riverside.json not found")


def window(days: str, start: str, end: str, **extra: Any) -> dict:
    return {"days": days.split(), "start": start, "end": end, **extra}


def block(block_id: str, day: str, start: str, end: str, **extra: Any) -> dict:
    return {"id": block_id, "day": day, "start": start, "end": end, **extra}


def patient(patient_id: str, **extra: Any) -> dict:
    return {"id": patient_id, **extra}


def clinician(clinician_id: str, available: Optional[list] = None, **extra: Any) -> dict:
    return {"id": clinician_id, "available": available or [window("mon tue wed thu fri sat sun", "00:00", "24:00")], **extra}


def program_dict(
    *,
    blocks: list[dict],
    patients: list[dict],
    clinicians: Optional[list[dict]] = None,
    rooms: Optional[list[dict]] = None,
    rules: Optional[dict] = None,
    **program: Any,
) -> dict:
    """A program with loose defaults (1 h minimum, no day rule) so each test states only the rule it is about."""
    return {
        "format": "iop-sched/1",
        "program": {"name": "Test IOP", "timezone": "America/Chicago", "start": "2027-03-01", "weeks": 2,
                    "rules": {"min_weekly_hours": 1, **(rules or {})}, **program},
        "rooms": rooms if rooms is not None else [{"id": "r1", "site": "north", "capacity": 10}],
        "blocks": blocks,
        "clinicians": clinicians if clinicians is not None else [clinician("c1")],
        "patients": patients,
    }


def three_evenings(**extra: Any) -> list[dict]:
    """Mon/Wed/Fri 18:00-21:00 in room r1."""
    return [block(f"{day}-ev", day, "18:00", "21:00", room="r1", **extra) for day in ("mon", "wed", "fri")]


def build(data: dict) -> Problem:
    return problem_from_data(copy.deepcopy(data))


def solve_checked(data_or_problem: Any, **options: Any) -> Schedule:
    """Solve and assert the independent validator accepts the result; every solve in the tests goes here."""
    problem = data_or_problem if isinstance(data_or_problem, Problem) else build(data_or_problem)
    options.setdefault("time_limit", TEST_TIME_LIMIT)
    if "families" in options:
        options.setdefault("workers", 2)
    schedule = solve(problem, **options)
    if "families" not in options:
        violations = validate_schedule(problem, schedule.to_dict())
        assert violations == [], violations
    return schedule


def roster(schedule: Schedule, block_id: str) -> list[str]:
    return next(r.patients for r in schedule.rosters if r.id == block_id)


def week(schedule: Schedule, patient_id: str):
    return next(w for w in schedule.patients if w.id == patient_id)
