"""The benchmark baselines: first come, first served (a coordinator by hand) and the same model in HiGHS.

Every baseline schedule goes through the independent validator. HiGHS solves the
same model as iop_sched, so where both prove optimality they agree on every tier's
value; first come, first served never beats the optimum and loses to it when
admission order takes a seat a later patient needed.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from programs import acceptance_path, block, build, clinician, patient, program_dict, solve_checked, window

from iop_sched import load_problem
from iop_sched.validate import validate_schedule

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.baselines import first_come_first_served, highs_mip  # noqa: E402

HIGHS_TIME_LIMIT = 20.0


def valid(problem, document: dict) -> dict:
    violations = validate_schedule(problem, document)
    assert violations == [], [str(v) for v in violations]
    return document


def placed_ids(document: dict) -> set[str]:
    return {entry["id"] for entry in document["patients"] if entry["placed"]}


def without_timing(document: dict) -> dict:
    stats = {k: v for k, v in document["stats"].items() if k not in ("solve_seconds", "build_seconds", "tiers")}
    return {**document, "stats": stats}


# ------------------------------------------------------------------ programs built in code

def seat_taken_program() -> dict:
    """Two one-seat evening groups. The earlier admission could take either; the later one only Monday.

    The later patient is listed first, so only the admission date puts the flexible one first.
    First come, first served gives Monday to the first patient and strands the second; the
    optimum gives the first patient Tuesday and places both.
    """
    return program_dict(
        blocks=[block("mon-ev", "mon", "18:00", "21:00", room="r1", max_size=1),
                block("tue-ev", "tue", "18:00", "21:00", room="r1", max_size=1)],
        patients=[patient("late", admitted="2027-03-08", busy=[window("tue", "17:00", "22:00", reason="work")]),
                  patient("early", admitted="2027-03-01")],
    )


def small_group_program() -> dict:
    """One group that needs three patients; three can reach it, but two need more hours than it gives.

    The coordinator opens it for the first patient, nobody else can join, it is cancelled at the end.
    """
    return program_dict(
        blocks=[block("mon-ev", "mon", "18:00", "21:00", room="r1", min_size=3)],
        patients=[patient("alone"), patient("needs-six-a", min_weekly_hours=6),
                  patient("needs-six-b", min_weekly_hours=6)],
    )


def staffed_week_program() -> dict:
    """A real week: 6 h on 2 days, a required topic, 2 patients per clinician, capped clinician hours,
    a telehealth group in a virtual room, two sites, a primary clinician and preferred times."""
    evenings = "mon tue wed thu fri"
    return program_dict(
        rules={"min_weekly_hours": 6, "max_weekly_hours": 9, "min_days_per_week": 2, "max_hours_per_day": 3,
               "max_patients_per_clinician": 2, "required_topics": {"relapse": 1}},
        rooms=[{"id": "oak", "site": "north", "capacity": 4}, {"id": "elm", "site": "south", "capacity": 3},
               {"id": "zoom", "virtual": True}],
        blocks=[
            block("mon-oak", "mon", "18:00", "21:00", room="oak", topic="relapse", min_size=2),
            block("tue-oak", "tue", "18:00", "21:00", room="oak", topic="process", min_size=2),
            block("wed-oak", "wed", "18:00", "21:00", room="oak", topic="relapse", min_size=2),
            block("mon-elm", "mon", "18:00", "21:00", room="elm", topic="process"),
            block("thu-elm", "thu", "09:00", "12:00", room="elm", topic="relapse", credentials=["LADC"]),
            block("thu-zoom", "thu", "19:00", "22:00", room="zoom", topic="process"),
            block("fri-zoom", "fri", "19:00", "21:00", room="zoom", topic="relapse"),
        ],
        clinicians=[
            clinician("ana", credentials=["LADC"], max_weekly_hours=6, sites=["north"]),
            clinician("bo", credentials=["LPC"], available=[window(evenings, "17:00", "22:00")], max_weekly_hours=9),
            clinician("cy", credentials=["LADC"], available=[window(evenings, "08:00", "13:00")], sites=["south"]),
        ],
        patients=[
            patient("p1", sites=["north"], primary_clinician="ana"),
            patient("p2", sites=["north"], prefer=[window("mon wed", "17:00", "22:00")]),
            patient("p3", sites=["north", "south"], telehealth=True),
            patient("p4", sites=["south"], telehealth=True, busy=[window("thu", "08:00", "17:00", reason="work")]),
            patient("p5", sites=["north"], busy=[window("tue wed", "17:00", "23:00", reason="childcare")]),
            patient("p6", telehealth=True, sites=[]),
            patient("p7", sites=["north"], admitted="2027-03-02"),
            patient("p8", sites=["north"], telehealth=True, travel_minutes=30),
        ],
    )


def random_program(seed: int) -> dict:
    """A seeded two-site clinic: morning/evening groups, day workers and night workers, a topic rule."""
    rnd = random.Random(seed)
    days = ["mon", "tue", "wed", "thu", "fri", "sat"]
    slots = [("09:00", "12:00"), ("13:00", "15:00"), ("18:00", "21:00")]
    rooms = [{"id": f"{site}-{r}", "site": site, "capacity": rnd.choice([4, 6])} for site in ("n", "s") for r in (0, 1)]
    blocks = []
    for room in rooms:
        for day in days:
            for k, (start, end) in enumerate(slots):
                if rnd.random() < 0.35:
                    blocks.append(block(f"{room['id']}-{day}-{k}", day, start, end, room=room["id"],
                                        topic=rnd.choice(["relapse", "process"]), min_size=rnd.choice([1, 2, 3])))
    blocks.append(block("tele-sun", "sun", "18:00", "21:00", modality="telehealth", topic="relapse"))
    clinicians = [clinician(f"c{i}", credentials=["LADC"], sites=[rnd.choice(["n", "s"])],
                            available=[window(" ".join(days), rnd.choice(["08:00", "12:00"]), rnd.choice(["16:00", "22:00"]))],
                            max_weekly_hours=rnd.choice([6, 9, 12])) for i in range(4)]
    patients = []
    for i in range(16):
        busy = []
        if rnd.random() < 0.5:
            busy.append(window("mon tue wed thu fri", "08:00", rnd.choice(["15:00", "17:00"]), reason="work"))
        elif rnd.random() < 0.5:
            busy.append(window("mon tue wed thu fri", "17:00", "23:00", reason="work"))
        patients.append(patient(f"p{i}", busy=busy, sites=rnd.sample(["n", "s"], rnd.choice([1, 2])),
                                telehealth=rnd.random() < 0.3, travel_minutes=rnd.choice([0, 15, 30]),
                                admitted=f"2027-02-{rnd.randint(10, 28)}"))
    return program_dict(
        rules={"min_weekly_hours": 6, "max_weekly_hours": 12, "min_days_per_week": 2, "max_hours_per_day": 3,
               "max_patients_per_clinician": 4, "required_topics": {"relapse": 1}},
        rooms=rooms, blocks=blocks, clinicians=clinicians, patients=patients)


SMALL_PROGRAMS = {"seat_taken": seat_taken_program, "small_group": small_group_program,
                  "staffed_week": staffed_week_program,
                  **{f"random_{seed}": (lambda seed=seed: random_program(seed)) for seed in (1, 2, 3)}}


# ------------------------------------------------------------------ riverside, solved once

@pytest.fixture(scope="module")
def riverside():
    problem = load_problem(acceptance_path())
    optimum = solve_checked(problem)
    return problem, optimum


@pytest.fixture(scope="module")
def riverside_highs(riverside):
    pytest.importorskip("highspy")
    problem, _ = riverside
    return valid(problem, highs_mip(problem, HIGHS_TIME_LIMIT))


# ------------------------------------------------------------------ first come, first served

def test_fcfs_riverside_is_valid_and_never_beats_the_optimum(riverside):
    problem, optimum = riverside
    document = valid(problem, first_come_first_served(problem))
    stats = document["stats"]
    assert document["format"] == "iop-sched-schedule/1"
    assert document["status"] == "feasible"
    assert stats["placed"] <= optimum.stats["placed"] == 36
    assert stats["placed_bound"] == len(problem.patients)  # no proof
    assert stats["solve_seconds"] < 5
    assert [entry["id"] for entry in document["patients"]] == [p.id for p in problem.patients]
    assert [entry["id"] for entry in document["blocks"]] == [b.id for b in problem.blocks]
    for entry in document["patients"]:
        assert bool(entry["reasons"]) != entry["placed"]


def test_fcfs_is_deterministic(riverside):
    problem, _ = riverside
    assert without_timing(first_come_first_served(problem)) == without_timing(first_come_first_served(problem))


def test_fcfs_loses_when_the_first_patient_takes_the_seat_a_later_one_needed():
    problem = build(seat_taken_program())
    greedy = valid(problem, first_come_first_served(problem))
    optimum = solve_checked(problem)
    assert optimum.stats["placed"] == 2
    assert greedy["stats"]["placed"] == 1 < optimum.stats["placed"]
    assert placed_ids(greedy) == {"early"}
    assert next(b for b in greedy["blocks"] if b["id"] == "mon-ev")["patients"] == ["early"]
    late = next(entry for entry in greedy["patients"] if entry["id"] == "late")
    assert late["why"][0]["code"] == "fcfs_turn"
    assert "2 of 2 by admission date" in late["reasons"][0]


def test_fcfs_follows_admission_dates_not_list_order():
    data = seat_taken_program()
    data["patients"][0]["admitted"] = "2027-02-01"  # the constrained patient now comes first
    problem = build(data)
    greedy = valid(problem, first_come_first_served(problem))
    assert greedy["stats"]["placed"] == 2


def test_fcfs_cancels_a_group_below_min_size_and_says_so():
    problem = build(small_group_program())
    document = valid(problem, first_come_first_served(problem))
    assert document["stats"]["placed"] == 0
    assert document["stats"]["open_blocks"] == 0
    assert document["stats"]["cancelled_blocks"] == 1
    alone = next(entry for entry in document["patients"] if entry["id"] == "alone")
    assert alone["why"][0]["code"] == "fcfs_cancelled"
    assert "mon-ev" in alone["reasons"][0] and "cancelled" in alone["reasons"][0]


def test_fcfs_with_a_tiny_search_budget_is_still_valid(riverside):
    problem, _ = riverside
    document = valid(problem, first_come_first_served(problem, max_nodes=2))
    assert document["stats"]["placed"] <= 36


def test_fcfs_without_explanations_still_gives_every_unplaced_patient_a_reason():
    problem = build(small_group_program())
    document = valid(problem, first_come_first_served(problem, explain=False))
    assert all(entry["reasons"] for entry in document["patients"] if not entry["placed"])


# ------------------------------------------------------------------ HiGHS, the same model

def test_highs_riverside_matches_the_proven_optimum(riverside, riverside_highs):
    problem, optimum = riverside
    stats = riverside_highs["stats"]
    assert riverside_highs["status"] == "optimal"
    assert stats["placed"] == optimum.stats["placed"] == 36
    assert stats["placed_bound"] == 36
    assert [t["tier"] for t in stats["tiers"]] == [1, 2, 3]
    assert all(t["status"] == "optimal" for t in stats["tiers"])
    assert stats["parameters"]["mip_rel_gap"] == 0.0
    assert stats["solve_seconds"] < HIGHS_TIME_LIMIT


def test_highs_and_cp_sat_agree_on_every_tier_of_riverside(riverside, riverside_highs):
    """Same model: once both prove each tier, the tier values are equal (catches a drifted constraint or weight)."""
    _, optimum = riverside
    ours = [(t["tier"], t["value"]) for t in optimum.stats["tiers"] if t["status"] == "optimal"]
    theirs = [(t["tier"], t["value"]) for t in riverside_highs["stats"]["tiers"]]
    assert len(ours) == 3
    assert theirs == ours
    assert riverside_highs["stats"]["open_blocks"] == optimum.stats["open_blocks"]
    assert riverside_highs["stats"]["clinician_hours"] == pytest.approx(optimum.stats["clinician_hours"])


def test_highs_without_link_rows_reaches_the_same_optimum(riverside):
    pytest.importorskip("highspy")
    problem, _ = riverside
    document = valid(problem, highs_mip(problem, HIGHS_TIME_LIMIT, link_rows=False))
    assert document["status"] == "optimal"
    assert document["stats"]["placed"] == 36
    assert document["stats"]["parameters"]["link_rows"] is False


def test_highs_tier_one_only_is_not_called_optimal(riverside):
    pytest.importorskip("highspy")
    problem, _ = riverside
    document = valid(problem, highs_mip(problem, HIGHS_TIME_LIMIT, tiers=1))
    assert document["stats"]["placed"] == document["stats"]["placed_bound"] == 36
    assert [t["tier"] for t in document["stats"]["tiers"]] == [1]
    assert document["status"] == "feasible"


@pytest.mark.parametrize("name", sorted(SMALL_PROGRAMS))
def test_small_programs_both_baselines_valid_and_highs_matches_cp_sat(name):
    pytest.importorskip("highspy")
    problem = build(SMALL_PROGRAMS[name]())
    optimum = solve_checked(problem)
    mip = valid(problem, highs_mip(problem, HIGHS_TIME_LIMIT))
    greedy = valid(problem, first_come_first_served(problem))
    assert mip["status"] == optimum.status == "optimal"
    assert mip["stats"]["placed"] == mip["stats"]["placed_bound"] == optimum.stats["placed"]
    assert [t["value"] for t in mip["stats"]["tiers"]] == [t["value"] for t in optimum.stats["tiers"]]
    assert greedy["stats"]["placed"] <= optimum.stats["placed"]


def test_staffed_week_places_someone_and_uses_the_ratio():
    """Guard that the feature-rich program is not trivially empty, so the comparison above means something."""
    pytest.importorskip("highspy")
    problem = build(staffed_week_program())
    document = valid(problem, highs_mip(problem, HIGHS_TIME_LIMIT))
    assert document["stats"]["placed"] >= 4
    assert any(len(b["patients"]) > 2 and len(b["clinicians"]) >= 2 for b in document["blocks"])


def test_highs_rejects_a_non_positive_time_limit(riverside):
    pytest.importorskip("highspy")
    problem, _ = riverside
    with pytest.raises(ValueError):
        highs_mip(problem, 0)
