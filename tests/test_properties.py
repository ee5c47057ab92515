"""Random small programs: whatever the solver returns passes the independent validator, or is honestly not found.

hypothesis runs derandomized with a fixed number of examples so the suite is deterministic.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iop_sched import problem_from_data, solve
from iop_sched.reasons import placeable_alone
from iop_sched.constraints.availability import compute_eligibility
from iop_sched.constraints.wishes import (OUTSIDE_PROGRAM_WEIGHT, WISH_WEIGHT, blocks_outside_preference,
                                          cheapest_week_alone, track_of)
from iop_sched.validate import validate_schedule

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CREDENTIALS = ["LADC", "LPC"]
TOPICS = ["process", "relapse"]


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def windows(draw, with_reason: bool = False, max_count: int = 2):
    result = []
    for _ in range(draw(st.integers(0, max_count))):
        start = draw(st.integers(0, 47)) * 30
        length = draw(st.integers(1, 30)) * 30
        window = {"days": draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True)),
                  "start": clock(start), "end": clock((start + length) % 1440)}
        if window["start"] == window["end"]:
            continue
        if with_reason:
            window["reason"] = draw(st.sampled_from(["work", "school", "childcare", "other"]))
        result.append(window)
    return result


@st.composite
def programs(draw):
    rooms = [{"id": "r1", "site": "north", "capacity": draw(st.integers(1, 4))},
             {"id": "r2", "site": "south"}, {"id": "v", "virtual": True}]
    blocks = []
    for index in range(draw(st.integers(1, 6))):
        start = draw(st.integers(12, 40)) * 30
        length = draw(st.integers(2, 8)) * 30
        block = {"id": f"b{index}", "day": draw(st.sampled_from(DAYS[:4])), "start": clock(start),
                 "end": clock(start + length), "room": draw(st.sampled_from(["r1", "r2", "v", None])),
                 "min_size": draw(st.integers(1, 2)), "max_size": draw(st.integers(2, 4)),
                 "clinicians": draw(st.integers(0, 2)), "topic": draw(st.sampled_from(TOPICS))}
        if block["room"] is None:
            del block["room"]
        if draw(st.booleans()):
            block["credentials"] = draw(st.lists(st.sampled_from(CREDENTIALS), min_size=1, max_size=2, unique=True))
        if draw(st.integers(0, 4)) == 0:
            block["audience"] = ["women"]
        blocks.append(block)
    clinicians = []
    for index in range(draw(st.integers(0, 3))):
        available = draw(windows(max_count=3)) or [{"days": DAYS, "start": "00:00", "end": "24:00"}]
        clinician = {"id": f"c{index}", "credentials": draw(st.lists(st.sampled_from(CREDENTIALS), max_size=2, unique=True)),
                     "available": available}
        if draw(st.booleans()):
            clinician["max_weekly_hours"] = draw(st.integers(2, 12))
        if draw(st.booleans()):
            clinician["sites"] = [draw(st.sampled_from(["north", "south"]))]
        clinicians.append(clinician)
    patients = []
    for index in range(draw(st.integers(1, 5))):
        patient = {"id": f"P{index}", "busy": draw(windows(with_reason=True)),
                   "travel_minutes": draw(st.sampled_from([0, 15, 30, 45])), "telehealth": draw(st.booleans())}
        if draw(st.booleans()):
            patient["tags"] = ["women"]
        if draw(st.integers(0, 3)) == 0:
            patient["sites"] = [draw(st.sampled_from(["north", "south"]))]
        if draw(st.integers(0, 3)) == 0:
            patient["prefer"] = draw(windows())
        if clinicians and draw(st.booleans()):
            patient["primary_clinician"] = draw(st.sampled_from([c["id"] for c in clinicians]))
        patients.append(patient)
    rules = {"min_weekly_hours": draw(st.sampled_from([1, 2, 3, 4.5])),
             "max_weekly_hours": draw(st.sampled_from([6, 19])),
             "min_days_per_week": draw(st.integers(0, 2))}
    if draw(st.booleans()):
        rules["max_hours_per_day"] = draw(st.sampled_from([2, 3.5]))
    if draw(st.booleans()):
        rules["max_patients_per_clinician"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 3)) == 0:
        rules["required_topics"] = {"relapse": 1}
    return {"format": "iop-sched/1",
            "program": {"name": "Random", "timezone": "America/Chicago", "start": "2027-03-01", "weeks": 2,
                        "rules": rules},
            "rooms": rooms, "blocks": blocks, "clinicians": clinicians, "patients": patients}


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_every_result_passes_the_validator_or_is_honestly_not_found(data):
    problem = problem_from_data(data)
    schedule = solve(problem, time_limit=10, workers=2, seed=1)
    document = schedule.to_dict()
    if schedule.status == "unknown":
        assert schedule.placed == 0
        return
    assert validate_schedule(problem, document) == []
    stats = document["stats"]
    assert stats["placed"] <= stats["placed_bound"] <= stats["patients"]
    eligibility = compute_eligibility(problem)
    alone = sum(placeable_alone(problem, patient, eligibility.blocks_of_patient[p]) is not False
                for p, patient in enumerate(problem.patients))
    assert stats["placed"] <= alone  # nobody is placed who could not be placed with the program to themselves
    if schedule.status == "optimal":
        assert stats["placed"] == stats["placed_bound"]
    wishes_tier = next(t for t in stats["tiers"] if t["tier"] == 2)
    assert wishes_tier["bound"] is None or wishes_tier["bound"] <= wishes_tier["value"]
    assert_no_placed_patient_is_charged_below_their_floor(problem, document)


def assert_no_placed_patient_is_charged_below_their_floor(problem, document) -> None:
    """The wishes floor must hold for every valid schedule, patient by patient, or it would cut schedules off."""
    eligibility = compute_eligibility(problem)
    block_index = {block.id: b for b, block in enumerate(problem.blocks)}
    leaders = {row["id"]: set(row["clinicians"]) for row in document["blocks"]}
    for p, patient in enumerate(problem.patients):
        row = document["patients"][p]
        if not row["placed"]:
            continue
        week = [block_index[block_id] for block_id in row["blocks"]]
        charge = sum(problem.blocks[b].minutes for b in week)
        charge += WISH_WEIGHT * len(blocks_outside_preference(problem, patient, week))
        if patient.primary_clinician is not None:
            charge += WISH_WEIGHT * sum(patient.primary_clinician not in leaders[problem.blocks[b].id] for b in week)
        charge += WISH_WEIGHT * len({track_of(problem, problem.blocks[b]) for b in week})
        charge += OUTSIDE_PROGRAM_WEIGHT * problem.has_no_date_in_program(patient)
        clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
        primary = clinician_index.get(patient.primary_clinician)
        staffable = set(eligibility.blocks_of_clinician[primary]) if primary is not None else set()
        floor = cheapest_week_alone(problem, patient, eligibility.blocks_of_patient[p], lambda b: b in staffable, 5.0)
        assert floor is not None and charge >= floor, (patient.id, charge, floor)
