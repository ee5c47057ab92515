"""The acceptance program end to end: solved by the real solver, every calendar read back by both readers."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from iop_sched import problem_from_data
from iop_sched.calendars import build_calendars
from iop_sched.weektime import DAYS
from programs import acceptance_path, solve_checked
from test_calendars import NOW, expected, read_with_icalendar, read_with_vobject

EXTRA_CLOSURE = date(2027, 4, 5)  # a Monday inside the weeks, after the March DST change


@pytest.fixture(scope="module")
def solved():
    data = json.loads(acceptance_path().read_text())
    data["program"]["closures"].append(EXTRA_CLOSURE.isoformat())
    problem = problem_from_data(data)
    schedule = solve_checked(problem)
    return problem, schedule, build_calendars(problem, schedule.to_dict(), now=NOW)


def test_riverside_places_the_proven_optimum(solved):
    _, schedule, _ = solved
    assert (schedule.placed, schedule.stats["placed_bound"], schedule.status) == (36, 36, "optimal")


def expected_for(problem, block_ids, patient=None):
    """Every session the calendar must show: each block weekly within the calendar's dates, none on a closure."""
    first, last = problem.calendar_dates_for(patient)
    closures = set(problem.program.closures)
    rows = []
    for block in (b for b in problem.blocks if b.id in block_ids):
        day = first + timedelta(days=(DAYS.index(block.day) - first.weekday()) % 7)
        dates = []
        while day <= last:
            if day not in closures:
                dates.append(day)
            day += timedelta(weeks=1)
        rows += expected(problem.program.timezone, dates, block.start, block.end)
    return sorted(rows)


def test_every_calendar_shows_every_session_at_local_time_in_both_readers(solved):
    problem, schedule, files = solved
    tz = problem.program.timezone
    open_blocks = [r.id for r in schedule.open_blocks]
    calendars = {"calendars/program.ics": expected_for(problem, open_blocks)}
    for week, patient in zip(schedule.patients, problem.patients):
        if week.placed:
            calendars[f"calendars/patients/{patient.id}.ics"] = expected_for(problem, week.blocks, patient)
    for clinician in problem.clinicians:
        led = [r.id for r in schedule.open_blocks if clinician.id in r.clinicians]
        if led:
            calendars[f"calendars/clinicians/{clinician.id}.ics"] = expected_for(problem, led)
    assert set(calendars) == set(files)
    for path, want in calendars.items():
        assert read_with_icalendar(files[path]) == want, path
        assert read_with_vobject(files[path], tz) == want, path
        starts = {row.start_local.date() for row in want}
        assert EXTRA_CLOSURE not in starts
        assert any(d < date(2027, 3, 14) for d in starts) or "patients" in path  # both sides of the DST change
        assert any(d > date(2027, 3, 14) for d in starts)
