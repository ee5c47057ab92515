"""The wishes tier's floor: each placed patient's cheapest week alone, summed over the fewest that must be placed."""

from __future__ import annotations

import time

from iop_sched.constraints import staffing
from iop_sched.constraints.wishes import cheapest_week_alone, least_charge
from iop_sched.floors import wishes_floor
from iop_sched.model import FAMILIES, build_model

from programs import block, build, clinician, patient, program_dict, solve_checked, window

WEEKDAY_EVENINGS = [block(f"{day}-ev", day, "18:00", "21:00", room="r1", clinicians=1) for day in ("mon", "tue", "wed", "fri")]


def evenings_program(**patient_fields) -> dict:
    """Four 3-hour evenings in one room at one time (one track); 9 h a week means three of them."""
    return program_dict(blocks=WEEKDAY_EVENINGS, rules={"min_weekly_hours": 9},
                        clinicians=[clinician("c1"), clinician("c2", [window("mon tue wed", "00:00", "24:00")])],
                        patients=[patient("P1", **patient_fields)])


def floor_of(data: dict, placed_at_least: int = 1, seconds: float = 5.0):
    return wishes_floor(build_model(build(data)), placed_at_least, time.monotonic() + seconds)


def test_a_week_in_one_track_costs_its_minutes_and_one_track():
    assert floor_of(evenings_program()) == 3 * 180 + 60


def test_a_wish_that_no_week_can_meet_is_charged_in_the_floor():
    # preferred Mon/Wed/Fri, primary clinician c2 only Mon-Wed: Fri misses the clinician, Tue the preference
    data = evenings_program(prefer=[window("mon wed fri", "17:00", "22:00")], primary_clinician="c2")
    assert floor_of(data) == 3 * 180 + 60 + 60


def test_the_floor_is_what_the_solver_proves_when_one_patient_is_placed():
    data = evenings_program(prefer=[window("mon wed fri", "17:00", "22:00")], primary_clinician="c2")
    tiers = solve_checked(data).to_dict()["stats"]["tiers"]
    assert tiers[1]["status"] == "optimal" and tiers[1]["value"] == floor_of(data)


def test_the_floor_counts_only_the_cheapest_patients_that_must_be_placed():
    data = program_dict(blocks=WEEKDAY_EVENINGS, rules={"min_weekly_hours": 3},
                        patients=[patient("short"), patient("long", prefer=[window("sat", "09:00", "12:00")])])
    assert floor_of(data, placed_at_least=1) == 180 + 60
    assert floor_of(data, placed_at_least=2) == (180 + 60) + (180 + 60 + 60)
    assert floor_of(data, placed_at_least=3) is None  # more than can be placed: no floor claimed


def test_without_a_rule_it_relies_on_there_is_no_floor():
    problem = build(evenings_program())
    families = tuple(f for f in FAMILIES if f is not staffing.add)
    assert wishes_floor(build_model(problem, families), 1, time.monotonic() + 5) is not None
    from iop_sched.constraints import patient_week
    families = tuple(f for f in FAMILIES if f is not patient_week.add)
    assert wishes_floor(build_model(problem, families), 1, time.monotonic() + 5) is None


def test_out_of_time_a_patient_counts_with_the_charge_that_needs_no_search():
    data = evenings_program(prefer=[window("sat", "09:00", "12:00")])
    problem = build(data)
    assert least_charge(problem, problem.patients[0]) == 540 + 60
    assert floor_of(data, seconds=-1) == 540 + 60          # deadline passed before the search
    assert floor_of(data) == 540 + 60 + 3 * 60              # searched: every block misses the preference


def test_a_patient_no_week_fits_has_no_floor():
    problem = build(evenings_program())  # two of the evenings give 6 h of the 9 needed
    assert cheapest_week_alone(problem, problem.patients[0], [0, 1], lambda b: True, 1.0) is None



def test_a_tier_the_search_leaves_unimproved_is_proven_when_its_value_meets_the_floor():
    from iop_sched.model import TIER_PLACED, TIER_WISHES
    from iop_sched.tier_runner import TierRunner

    # three evenings, nine hours: the one week there is costs its minutes and one track
    problem = build(program_dict(blocks=WEEKDAY_EVENINGS[:1] + WEEKDAY_EVENINGS[2:], rules={"min_weekly_hours": 9},
                                 patients=[patient("P1")]))
    schedule_model = build_model(problem)
    parameters = {"num_workers": 1, "random_seed": 0}
    # the wishes tier's search stops before it starts: only the floor can say the week is the best
    runner = TierRunner(schedule_model, {TIER_PLACED: parameters, TIER_WISHES: {**parameters, "stop_after_presolve": True}},
                        time.monotonic())
    runner.solve_tier(TIER_PLACED, 5.0)
    runner.solve_tier(TIER_WISHES, 5.0)
    assert runner.outcomes[-1].value == runner.outcomes[-1].bound == 3 * 180 + 60
    assert runner.outcomes[-1].status == "optimal"
