"""The independent schedule checker: every rule honoured once and broken once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Optional

import pytest

from iop_sched.loading import load_problem, problem_from_data
from iop_sched.schema import Problem
from iop_sched.validate import Violation, describe, overlaps, uncovered, validate_schedule

ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ------------------------------------------------------------------ builders

def base_problem() -> dict:
    def block(block_id, day, start, end, room=None, **extra):
        entry = {"id": block_id, "day": day, "start": start, "end": end}
        if room is not None:
            entry["room"] = room
        entry.update(extra)
        return entry

    return {
        "format": "iop-sched/1",
        "program": {
            "name": "Test IOP",
            "timezone": "America/Chicago",
            "start": "2027-03-01",
            "rules": {"min_weekly_hours": 3, "max_weekly_hours": 19},
        },
        "rooms": [
            {"id": "oak", "site": "riverside", "capacity": 3},
            {"id": "elm", "site": "riverside"},
            {"id": "north", "site": "northside"},
            {"id": "zoom", "virtual": True},
        ],
        "blocks": [
            block("mon-ev", "mon", "18:00", "21:00", "oak", topic="relapse_prevention"),
            block("mon-late", "mon", "19:00", "20:00", "elm"),
            block("mon-early", "mon", "06:00", "08:00", "oak"),
            block("mon-seven", "mon", "07:00", "08:00", "elm"),
            block("tue-ev", "tue", "18:00", "21:00", "oak", topic="skills"),
            block("wed-ev", "wed", "18:00", "21:00", "elm"),
            block("mon-north", "mon", "10:00", "12:00", "north"),
            block("mon-nosite", "mon", "13:00", "15:00"),
            block("mon-tele", "mon", "18:00", "21:00", "zoom"),
            block("mon-tele2", "mon", "19:00", "21:00", "zoom"),
            block("oak-tele", "thu", "18:00", "21:00", "oak", modality="telehealth"),
            block("teen", "tue", "16:00", "18:00", "elm", audience=["adolescent"]),
            block("spanish", "wed", "10:00", "12:00", "elm", audience=["spanish"]),
        ],
        "clinicians": [
            {"id": "C1", "credentials": ["LADC"], "available": [{"days": ALL_WEEK, "start": "00:00", "end": "24:00"}]},
            {"id": "C2", "credentials": ["LPC"], "available": [{"days": ALL_WEEK, "start": "00:00", "end": "24:00"}]},
            {"id": "C3", "available": [{"days": ALL_WEEK, "start": "00:00", "end": "24:00"}]},
        ],
        "patients": [
            {"id": "P1"},
            {"id": "P2"},
            {"id": "P3"},
            {"id": "P4"},
        ],
    }


def make(change: Optional[Callable[[dict], None]] = None) -> Problem:
    data = base_problem()
    if change is not None:
        change(data)
    return problem_from_data(data)


def block_of(data: dict, block_id: str) -> dict:
    return next(b for b in data["blocks"] if b["id"] == block_id)


def patient_of(data: dict, patient_id: str) -> dict:
    return next(p for p in data["patients"] if p["id"] == patient_id)


def clinician_of(data: dict, clinician_id: str) -> dict:
    return next(c for c in data["clinicians"] if c["id"] == clinician_id)


def schedule_for(problem: Problem, groups: dict[str, tuple[list[str], list[str]]]) -> dict:
    """A consistently shaped schedule: blocks as given, patients derived from the rosters."""
    durations = {b.id: b.minutes for b in problem.blocks}
    attends: dict[str, list[str]] = {p.id: [] for p in problem.patients}
    for block_id, (patients, _clinicians) in groups.items():
        for patient_id in patients:
            attends.setdefault(patient_id, []).append(block_id)
    patients = []
    for patient in problem.patients:
        blocks = attends[patient.id]
        patients.append({
            "id": patient.id,
            "placed": bool(blocks),
            "blocks": blocks,
            "weekly_hours": sum(durations[b] for b in blocks) / 60,
            "reasons": [] if blocks else ["No group fits the patient's week."],
        })
    placed = sum(1 for p in patients if p["placed"])
    return {
        "format": "iop-sched-schedule/1",
        "status": "feasible",
        "blocks": [{"id": b, "patients": list(ps), "clinicians": list(cs)} for b, (ps, cs) in groups.items()],
        "patients": patients,
        "stats": {"patients": len(problem.patients), "placed": placed, "placed_bound": placed,
                  "open_blocks": sum(1 for ps, _ in groups.values() if ps), "solve_seconds": 0.1},
    }


def codes(problem: Problem, schedule: dict) -> set[str]:
    found = validate_schedule(problem, schedule)
    for violation in found:
        assert isinstance(violation, Violation)
        assert violation.rule and violation.place and violation.message
    return {v.rule for v in found}


def messages(problem: Problem, schedule: dict, rule: str) -> list[str]:
    return [v.message for v in validate_schedule(problem, schedule) if v.rule == rule]


# ------------------------------------------------------------------ interval arithmetic

def test_overlap_is_half_open_and_wraps_the_week():
    assert overlaps((0, 60), (30, 90))
    assert not overlaps((0, 60), (60, 120))
    # Sunday 22:00-Monday 06:30 against Monday 06:00-08:00
    sunday_night = (6 * 1440 + 22 * 60, 6 * 1440 + 24 * 60 + 6 * 60 + 30)
    assert overlaps(sunday_night, (6 * 60, 8 * 60))
    assert not overlaps(sunday_night, (6 * 60 + 30, 8 * 60))
    # a Monday block widened before minute 0 reaches Sunday evening
    assert overlaps((-30, 120), (6 * 1440 + 23 * 60 + 45, 7 * 1440))
    assert not overlaps((-30, 120), (6 * 1440 + 20 * 60, 6 * 1440 + 23 * 60 + 30))


def test_uncovered_uses_the_union_of_windows():
    assert uncovered((100, 200), [(50, 150), (150, 250)]) == []
    assert uncovered((100, 200), [(50, 140), (150, 250)]) == [(140, 150)]
    assert uncovered((0, 60), [(6 * 1440 + 20 * 60, 6 * 1440 + 26 * 60)]) == []
    assert uncovered((0, 180), [(6 * 1440 + 20 * 60, 6 * 1440 + 26 * 60)]) == [(120, 180)]


def test_describe_names_day_and_times():
    assert describe((18 * 60, 21 * 60)) == "Mon 18:00-21:00"
    assert describe((6 * 1440 + 22 * 60, 7 * 1440 + 6 * 60 + 30)) == "Sun 22:00-Mon 06:30"
    assert describe((-30, 60)) == "Sun 23:30-Mon 01:00"


# ------------------------------------------------------------------ a valid schedule

def test_valid_schedule_has_no_violations():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1", "P2"], ["C1"]), "tue-ev": (["P3"], ["C2"])})
    assert validate_schedule(problem, schedule) == []


def test_closed_block_may_be_listed_with_empty_lists():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": ([], [])})
    assert validate_schedule(problem, schedule) == []


# ------------------------------------------------------------------ document shape

def test_format_tag():
    problem = make()
    schedule = schedule_for(problem, {})
    assert "document.format" not in codes(problem, schedule)
    schedule["format"] = "iop-sched/1"
    assert "document.format" in codes(problem, schedule)


@pytest.mark.parametrize("status", ["optimal", "feasible", "infeasible", "unknown"])
def test_known_statuses(status):
    problem = make()
    schedule = schedule_for(problem, {})
    schedule["status"] = status
    assert "document.status" not in codes(problem, schedule)


def test_unknown_status():
    problem = make()
    schedule = schedule_for(problem, {})
    schedule["status"] = "done"
    assert "document.status" in codes(problem, schedule)


def test_not_an_object_and_missing_parts():
    problem = make()
    assert codes(problem, []) == {"document.shape"}  # type: ignore[arg-type]
    schedule = schedule_for(problem, {})
    del schedule["stats"]
    assert "document.shape" in codes(problem, schedule)
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    schedule["patients"][0]["placed"] = "yes"
    schedule["blocks"][0]["clinicians"] = "C1"
    assert "document.shape" in codes(problem, schedule)


def test_every_patient_listed_exactly_once():
    problem = make()
    schedule = schedule_for(problem, {})
    assert not {"document.missing_patient", "document.duplicate_patient"} & codes(problem, schedule)
    missing = copy.deepcopy(schedule)
    missing["patients"] = missing["patients"][1:]
    missing["stats"]["patients"] = 4
    assert "document.missing_patient" in codes(problem, missing)
    twice = copy.deepcopy(schedule)
    twice["patients"].append(copy.deepcopy(twice["patients"][0]))
    assert "document.duplicate_patient" in codes(problem, twice)


def test_unknown_ids():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert not {"document.unknown_patient", "document.unknown_block", "document.unknown_clinician"} & codes(
        problem, schedule)

    stranger = copy.deepcopy(schedule)
    stranger["patients"].append({"id": "X9", "placed": False, "blocks": [], "weekly_hours": 0, "reasons": ["?"]})
    assert "document.unknown_patient" in codes(problem, stranger)

    in_roster = copy.deepcopy(schedule)
    in_roster["blocks"][0]["patients"].append("X9")
    assert "document.unknown_patient" in codes(problem, in_roster)

    block = copy.deepcopy(schedule)
    block["blocks"].append({"id": "fri-ev", "patients": [], "clinicians": []})
    assert "document.unknown_block" in codes(problem, block)

    patient_block = copy.deepcopy(schedule)
    patient_block["patients"][0]["blocks"].append("fri-ev")
    assert "document.unknown_block" in codes(problem, patient_block)

    clinician = copy.deepcopy(schedule)
    clinician["blocks"][0]["clinicians"].append("C9")
    assert "document.unknown_clinician" in codes(problem, clinician)


def test_block_entries_unique():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "document.duplicate_block" not in codes(problem, schedule)
    schedule["blocks"].append({"id": "mon-ev", "patients": ["P1"], "clinicians": ["C1"]})
    assert "document.duplicate_block" in codes(problem, schedule)


def test_ids_not_repeated_inside_a_list():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "document.repeated_id" not in codes(problem, schedule)
    schedule["blocks"][0]["clinicians"] = ["C1", "C1"]
    assert "document.repeated_id" in codes(problem, schedule)


def test_rosters_and_patient_lists_agree():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1", "P2"], ["C1"])})
    assert "document.roster_mismatch" not in codes(problem, schedule)

    only_in_roster = copy.deepcopy(schedule)
    only_in_roster["patients"][1].update(blocks=[], weekly_hours=0)
    assert "document.roster_mismatch" in codes(problem, only_in_roster)

    only_in_patient = copy.deepcopy(schedule)
    only_in_patient["blocks"][0]["patients"] = ["P1"]
    assert "document.roster_mismatch" in codes(problem, only_in_patient)

    no_block_entry = copy.deepcopy(schedule)
    no_block_entry["patients"][0]["blocks"].append("tue-ev")
    no_block_entry["patients"][0]["weekly_hours"] = 6.0
    assert "document.roster_mismatch" in codes(problem, no_block_entry)


def test_weekly_hours_match_the_blocks():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P1"], ["C1"])})
    schedule["patients"][0]["weekly_hours"] = 6.0 + 1e-7
    assert "document.weekly_hours" not in codes(problem, schedule)
    schedule["patients"][0]["weekly_hours"] = 5.5
    assert "document.weekly_hours" in codes(problem, schedule)


def test_stats_are_consistent():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": ([], [])})
    schedule["stats"]["placed_bound"] = 4
    assert "document.stats" not in codes(problem, schedule)
    for key, wrong in (("patients", 3), ("placed", 2), ("open_blocks", 2), ("placed_bound", 0)):
        bad = copy.deepcopy(schedule)
        bad["stats"][key] = wrong
        assert "document.stats" in codes(problem, bad), key


# ------------------------------------------------------------------ placed and unplaced

def test_unplaced_patient_has_no_blocks():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "patient.unplaced_with_blocks" not in codes(problem, schedule)
    schedule["patients"][0].update(placed=False, reasons=["Too few hours."])
    schedule["stats"].update(placed=0, placed_bound=0)
    assert "patient.unplaced_with_blocks" in codes(problem, schedule)


def test_unplaced_patient_has_a_reason():
    problem = make()
    schedule = schedule_for(problem, {})
    assert "patient.no_reason" not in codes(problem, schedule)
    schedule["patients"][0]["reasons"] = []
    assert "patient.no_reason" in codes(problem, schedule)


def test_placed_patient_has_no_reasons():
    problem = make()
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "patient.placed_with_reasons" not in codes(problem, schedule)
    schedule["patients"][0]["reasons"] = ["leftover"]
    assert "patient.placed_with_reasons" in codes(problem, schedule)


def test_placed_patient_has_blocks():
    problem = make(lambda d: patient_of(d, "P1").update(min_weekly_hours=0))
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "patient.placed_without_blocks" not in codes(problem, schedule)
    schedule = schedule_for(problem, {})
    schedule["patients"][0].update(placed=True, reasons=[])
    schedule["stats"].update(placed=1, placed_bound=1)
    assert "patient.placed_without_blocks" in codes(problem, schedule)


# ------------------------------------------------------------------ patient eligibility

def test_audience_tags():
    def tags(d):
        patient_of(d, "P1").update(population="adolescent", min_weekly_hours=2)
        patient_of(d, "P2").update(tags=["spanish"], min_weekly_hours=2)
        d["patients"][2]["min_weekly_hours"] = 2
        for block_id in ("teen", "spanish"):
            block_of(d, block_id)["min_size"] = 1
    problem = make(tags)
    good = schedule_for(problem, {"teen": (["P1"], ["C1"]), "spanish": (["P2"], ["C1"])})
    assert "patient.audience" not in codes(problem, good)
    bad = schedule_for(problem, {"teen": (["P2"], ["C1"]), "spanish": (["P3"], ["C1"])})
    assert messages(problem, bad, "patient.audience") and len(messages(problem, bad, "patient.audience")) == 2


def test_telehealth_needs_consent():
    problem = make(lambda d: patient_of(d, "P1").update(telehealth=True))
    good = schedule_for(problem, {"mon-tele": (["P1"], ["C1"]), "oak-tele": (["P1"], ["C1"])})
    assert "patient.telehealth" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-tele": (["P2"], ["C1"])})
    assert "patient.telehealth" in codes(problem, bad)
    bad = schedule_for(problem, {"oak-tele": (["P2"], ["C1"])})  # telehealth by modality in a real room
    assert "patient.telehealth" in codes(problem, bad)


def _night_shift(d):
    patient_of(d, "P1").update(
        busy=[{"day": "sun", "start": "22:00", "end": "06:30", "reason": "work"}], min_weekly_hours=1)


def test_sunday_night_shift_blocks_monday_morning():
    problem = make(_night_shift)
    bad = schedule_for(problem, {"mon-early": (["P1"], ["C1"])})  # Mon 06:00-08:00
    found = messages(problem, bad, "patient.busy")
    assert found and "Sun 22:00-Mon 06:30" in found[0] and "mon-early" in found[0]
    good = schedule_for(problem, {"mon-seven": (["P1"], ["C1"])})  # Mon 07:00-08:00
    assert "patient.busy" not in codes(problem, good)


def test_travel_widening_wraps_into_sunday():
    def change(d):
        _night_shift(d)
        patient_of(d, "P1").update(travel_minutes=30)
    problem = make(change)
    good = schedule_for(problem, {"mon-seven": (["P1"], ["C1"])})  # 06:30 + 30 min = 07:00 exactly
    assert "patient.busy" not in codes(problem, good)
    patient_busy_end = make(lambda d: (change(d), patient_of(d, "P1")["busy"][0].update(end="06:31")))
    assert "patient.busy" in codes(patient_busy_end, schedule_for(patient_busy_end, {"mon-seven": (["P1"], ["C1"])}))


@pytest.mark.parametrize("work_end, broken", [("17:30", False), ("17:31", True)])
def test_travel_widening_before_block(work_end, broken):
    problem = make(lambda d: patient_of(d, "P1").update(
        travel_minutes=30, busy=[{"days": ["mon", "tue"], "start": "08:00", "end": work_end, "reason": "work"}]))
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})  # Mon 18:00-21:00
    assert ("patient.busy" in codes(problem, schedule)) is broken


@pytest.mark.parametrize("childcare_start, broken", [("21:30", False), ("21:29", True)])
def test_travel_widening_after_block(childcare_start, broken):
    problem = make(lambda d: patient_of(d, "P1").update(
        travel_minutes=30, busy=[{"day": "mon", "start": childcare_start, "end": "23:00", "reason": "childcare"}]))
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert ("patient.busy" in codes(problem, schedule)) is broken


@pytest.mark.parametrize("work_end, broken", [("18:00", False), ("18:01", True)])
def test_telehealth_is_not_widened_but_busy_still_counts(work_end, broken):
    problem = make(lambda d: patient_of(d, "P1").update(
        telehealth=True, travel_minutes=60, busy=[{"day": "mon", "start": "08:00", "end": work_end}]))
    schedule = schedule_for(problem, {"mon-tele": (["P1"], ["C1"])})
    assert ("patient.busy" in codes(problem, schedule)) is broken


def test_patient_sites():
    def change(d):
        patient_of(d, "P1").update(sites=["riverside"], telehealth=True, min_weekly_hours=1)
    problem = make(change)
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "wed-ev": (["P1"], ["C1"]),
                                  "oak-tele": (["P1"], ["C1"])})
    good["blocks"][1]["clinicians"] = ["C2"]
    assert "patient.site" not in codes(problem, good)
    # a patient with no site list goes anywhere
    assert "patient.site" not in codes(problem, schedule_for(problem, {"mon-north": (["P2"], ["C1"])}))
    assert "patient.site" in codes(problem, schedule_for(problem, {"mon-north": (["P1"], ["C1"])}))
    # a block with no room has no site: it fails a site list
    assert "patient.site" in codes(problem, schedule_for(problem, {"mon-nosite": (["P1"], ["C1"])}))


# ------------------------------------------------------------------ placement rules

def test_min_weekly_hours():
    problem = make(lambda d: d["program"]["rules"].update(min_weekly_hours={"adult": 6}))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P1"], ["C1"])})
    assert "patient.min_hours" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "patient.min_hours" in codes(problem, bad)


def test_max_weekly_hours():
    problem = make(lambda d: patient_of(d, "P1").update(max_weekly_hours=6))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P1"], ["C1"])})
    assert "patient.max_hours" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P1"], ["C1"]),
                                 "wed-ev": (["P1"], ["C1"])})
    assert "patient.max_hours" in codes(problem, bad)


def test_min_days_per_week():
    problem = make(lambda d: d["program"]["rules"].update(min_days_per_week=2))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P1"], ["C1"])})
    assert "patient.min_days" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-north": (["P1"], ["C1"]), "mon-ev": (["P1"], ["C1"])})
    assert "patient.min_days" in codes(problem, bad)


def test_max_hours_per_day():
    problem = make(lambda d: d["program"]["rules"].update(max_hours_per_day=4))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P1"], ["C1"])})
    assert "patient.max_hours_per_day" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-north": (["P1"], ["C1"]), "mon-ev": (["P1"], ["C1"])})  # 5 h on Monday
    assert "patient.max_hours_per_day" in codes(problem, bad)


def test_patient_blocks_do_not_overlap():
    problem = make()
    good = schedule_for(problem, {"mon-north": (["P1"], ["C1"]), "mon-ev": (["P1"], ["C1"])})
    assert "patient.overlap" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "mon-late": (["P1"], ["C2"])})
    assert "patient.overlap" in codes(problem, bad)


def test_required_topics():
    problem = make(lambda d: (d["program"]["rules"].update(required_topics={"relapse_prevention": 1}),
                              patient_of(d, "P2").update(required_topics={"relapse_prevention": 0})))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P2"], ["C1"])})
    assert "patient.required_topic" not in codes(problem, good)  # P2's own 0 drops the topic
    bad = schedule_for(problem, {"tue-ev": (["P1"], ["C1"])})
    assert "patient.required_topic" in codes(problem, bad)


def test_patient_override_adds_a_topic():
    problem = make(lambda d: patient_of(d, "P1").update(required_topics={"skills": 2}))
    bad = schedule_for(problem, {"tue-ev": (["P1"], ["C1"])})
    assert "patient.required_topic" in codes(problem, bad)


# ------------------------------------------------------------------ blocks

def test_min_size():
    problem = make(lambda d: block_of(d, "mon-ev").update(min_size=2))
    good = schedule_for(problem, {"mon-ev": (["P1", "P2"], ["C1"])})
    assert "block.min_size" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "block.min_size" in codes(problem, bad)


def test_room_capacity():
    problem = make()  # oak holds 3
    good = schedule_for(problem, {"mon-ev": (["P1", "P2", "P3"], ["C1"])})
    assert "block.capacity" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1", "P2", "P3", "P4"], ["C1"])})
    found = messages(problem, bad, "block.capacity")
    assert found and "room oak holds 3" in found[0]


def test_max_size():
    problem = make(lambda d: block_of(d, "wed-ev").update(max_size=2))
    good = schedule_for(problem, {"wed-ev": (["P1", "P2"], ["C1"])})
    assert "block.capacity" not in codes(problem, good)
    bad = schedule_for(problem, {"wed-ev": (["P1", "P2", "P3"], ["C1"])})
    assert "block.capacity" in codes(problem, bad)


def test_virtual_room_has_no_capacity():
    problem = make(lambda d: [p.update(telehealth=True) for p in d["patients"]])
    schedule = schedule_for(problem, {"mon-tele": (["P1", "P2", "P3", "P4"], ["C1"])})
    assert validate_schedule(problem, schedule) == []


def test_block_clinician_count():
    problem = make(lambda d: block_of(d, "mon-ev").update(clinicians=2))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1", "C2"])})
    assert "block.staffing" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "block.staffing" in codes(problem, bad)


def test_ratio_staffing():
    problem = make(lambda d: d["program"]["rules"].update(max_patients_per_clinician=2))
    good = schedule_for(problem, {"mon-ev": (["P1", "P2"], ["C1"]), "tue-ev": (["P3", "P4"], ["C1"])})
    assert "block.staffing" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1", "P2", "P3"], ["C1"])})
    found = messages(problem, bad, "block.staffing")
    assert found and "needs at least 2" in found[0]
    fixed = schedule_for(problem, {"mon-ev": (["P1", "P2", "P3"], ["C1", "C2"])})
    assert "block.staffing" not in codes(problem, fixed)


def test_repeated_clinician_counts_once():
    problem = make(lambda d: block_of(d, "mon-ev").update(clinicians=2))
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1", "C1"])})
    assert "block.staffing" in codes(problem, schedule)


def test_closed_block_has_no_clinicians():
    problem = make()
    good = schedule_for(problem, {"tue-ev": ([], [])})
    assert "block.closed_staffed" not in codes(problem, good)
    bad = schedule_for(problem, {"tue-ev": ([], ["C1"])})
    assert "block.closed_staffed" in codes(problem, bad)


def test_block_with_zero_clinicians_may_run_unstaffed():
    problem = make(lambda d: block_of(d, "mon-ev").update(clinicians=0))
    assert "block.staffing" not in codes(problem, schedule_for(problem, {"mon-ev": (["P1"], [])}))


# ------------------------------------------------------------------ clinicians

def test_clinician_credentials():
    problem = make(lambda d: block_of(d, "mon-ev").update(credentials=["LADC", "LCSW"]))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    assert "clinician.credentials" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C2"])})
    assert "clinician.credentials" in codes(problem, bad)
    no_credentials = schedule_for(problem, {"mon-ev": (["P1"], ["C3"])})
    assert "clinician.credentials" in codes(problem, no_credentials)


def test_availability_union_of_windows():
    def change(d):
        clinician_of(d, "C1")["available"] = [
            {"day": "mon", "start": "08:00", "end": "19:00"},
            {"days": ["mon", "tue"], "start": "19:00", "end": "22:00"},
        ]
    problem = make(change)
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})  # 18-19 from one window, 19-21 from the other
    assert "clinician.availability" not in codes(problem, good)
    bad = schedule_for(problem, {"tue-ev": (["P1"], ["C1"])})  # Tue 18:00-19:00 uncovered
    found = messages(problem, bad, "clinician.availability")
    assert found and "Tue 18:00-19:00" in found[0]


def test_availability_with_a_gap_between_windows():
    def change(d):
        clinician_of(d, "C1")["available"] = [
            {"day": "mon", "start": "08:00", "end": "19:00"},
            {"day": "mon", "start": "19:30", "end": "22:00"},
        ]
    problem = make(change)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    found = messages(problem, bad, "clinician.availability")
    assert found and "Mon 19:00-19:30" in found[0]


def test_availability_across_the_week_wrap():
    def change(d):
        clinician_of(d, "C1")["available"] = [{"day": "sun", "start": "20:00", "end": "08:00"}]
        clinician_of(d, "C2")["available"] = [{"day": "sun", "start": "20:00", "end": "07:00"}]
        patient_of(d, "P1")["min_weekly_hours"] = 1
    problem = make(change)
    good = schedule_for(problem, {"mon-early": (["P1"], ["C1"])})  # Mon 06:00-08:00, inside Sun 20:00-Mon 08:00
    assert "clinician.availability" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-early": (["P1"], ["C2"])})
    found = messages(problem, bad, "clinician.availability")
    assert found and "Mon 07:00-08:00" in found[0]


def test_clinician_never_in_two_places():
    problem = make(lambda d: [p.update(telehealth=True) for p in d["patients"]])
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "mon-late": (["P2"], ["C2"])})
    assert "clinician.overlap" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "mon-tele2": (["P2"], ["C1"])})
    assert "clinician.overlap" in codes(problem, bad)


def test_clinician_weekly_hours():
    problem = make(lambda d: clinician_of(d, "C1").update(max_weekly_hours=6))
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P2"], ["C1"])})
    assert "clinician.max_hours" not in codes(problem, good)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "tue-ev": (["P2"], ["C1"]),
                                 "wed-ev": (["P3"], ["C1"])})
    assert "clinician.max_hours" in codes(problem, bad)


def test_clinician_sites():
    def change(d):
        clinician_of(d, "C1")["sites"] = ["riverside"]
        patient_of(d, "P2")["telehealth"] = True
    problem = make(change)
    good = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "mon-tele2": ([], []),
                                  "oak-tele": (["P2"], ["C1"])})
    assert "clinician.site" not in codes(problem, good)
    telehealth_anywhere = make(lambda d: (change(d), clinician_of(d, "C1").update(sites=["northside"])))
    assert "clinician.site" not in codes(
        telehealth_anywhere, schedule_for(telehealth_anywhere, {"mon-tele": (["P2"], ["C1"])}))
    assert "clinician.site" in codes(problem, schedule_for(problem, {"mon-north": (["P1"], ["C1"])}))
    assert "clinician.site" in codes(problem, schedule_for(problem, {"mon-nosite": (["P1"], ["C1"])}))
    # no site list: any site
    assert "clinician.site" not in codes(problem, schedule_for(problem, {"mon-north": (["P1"], ["C2"])}))


# ------------------------------------------------------------------ rooms

def test_room_double_booking():
    def change(d):
        d["blocks"].append({"id": "oak-2", "day": "mon", "start": "20:00", "end": "22:00", "room": "oak"})
        d["blocks"].append({"id": "oak-3", "day": "mon", "start": "21:00", "end": "22:00", "room": "oak"})
    problem = make(change)
    bad = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "oak-2": (["P2"], ["C2"])})
    found = messages(problem, bad, "room.double_booked")
    assert found and "oak" in found[0]
    touching = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "oak-3": (["P2"], ["C2"])})
    assert "room.double_booked" not in codes(problem, touching)
    one_closed = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "oak-2": ([], [])})
    assert "room.double_booked" not in codes(problem, one_closed)
    other_room = schedule_for(problem, {"mon-ev": (["P1"], ["C1"]), "mon-late": (["P2"], ["C2"])})
    assert "room.double_booked" not in codes(problem, other_room)


def test_virtual_room_is_never_double_booked():
    problem = make(lambda d: [p.update(telehealth=True, min_weekly_hours=2) for p in d["patients"]])
    schedule = schedule_for(problem, {"mon-tele": (["P1"], ["C1"]), "mon-tele2": (["P2"], ["C2"])})
    assert validate_schedule(problem, schedule) == []


def test_block_without_room_has_no_room_rule():
    def change(d):
        d["blocks"].append({"id": "nosite-2", "day": "mon", "start": "13:00", "end": "15:00"})
        for p in d["patients"]:
            p["min_weekly_hours"] = 2
    problem = make(change)
    schedule = schedule_for(problem, {"mon-nosite": (["P1"], ["C1"]), "nosite-2": (["P2"], ["C2"])})
    assert validate_schedule(problem, schedule) == []


# ------------------------------------------------------------------ messages

def test_messages_name_people_and_times():
    problem = make(lambda d: patient_of(d, "P1").update(
        travel_minutes=30, busy=[{"days": ["mon"], "start": "08:00", "end": "17:31", "reason": "work"}]))
    schedule = schedule_for(problem, {"mon-ev": (["P1"], ["C1"])})
    [violation] = validate_schedule(problem, schedule)
    assert violation.rule == "patient.busy"
    assert violation.place == "patients[P1]"
    for text in ("P1", "mon-ev", "Mon 18:00-21:00", "30 minutes", "work", "Mon 08:00-17:31"):
        assert text in violation.message


# ------------------------------------------------------------------ acceptance example

def _riverside() -> Path:
    repo = Path(__file__).resolve().parent.parent
    for candidate in (repo / "examples" / "riverside.json", repo.parent / "shared" / "acceptance" / "riverside.json"):
        if candidate.exists():
            return candidate
    pytest.skip("riverside.json is not available")


def test_riverside_empty_schedule_is_valid():
    problem = load_problem(_riverside())
    schedule = schedule_for(problem, {})
    schedule["status"] = "unknown"
    assert validate_schedule(problem, schedule) == []
    schedule["patients"][0]["reasons"] = []
    assert codes(problem, schedule) == {"patient.no_reason"}
