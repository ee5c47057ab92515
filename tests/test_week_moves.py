"""Moves to cheaper weeks before the wishes tier: a patient joins a better open group only where the rules allow."""

from __future__ import annotations

import time

from iop_sched.constraints import wishes
from iop_sched.constraints.availability import compute_eligibility
from iop_sched.model import FAMILIES, build_model
from iop_sched.tier_runner import TierRunner
from iop_sched.validate import validate_schedule
from iop_sched.week_moves import Moves, move_to_cheaper_weeks, seats_left

from programs import block, build, clinician, patient, program_dict, window

DAYS = ("mon", "wed", "fri")
MORNINGS = [block(f"{day}-am", day, "09:00", "12:00", room="r1") for day in DAYS]
EVENINGS = [block(f"{day}-pm", day, "18:00", "21:00", room="r2") for day in DAYS]
ROOMS = [{"id": "r1", "site": "north", "capacity": 10}, {"id": "r2", "site": "north", "capacity": 10}]
WANTS_EVENINGS = {"prefer": [window("mon tue wed thu fri", "17:00", "22:00")]}


def program(patients: list[dict], evening_fields: dict | None = None, rules: dict | None = None,
            clinicians: list[dict] | None = None) -> dict:
    evenings = [{**b, **(evening_fields or {})} for b in EVENINGS]
    return program_dict(blocks=[dict(b) for b in MORNINGS] + evenings, rooms=ROOMS, patients=patients,
                        clinicians=clinicians or [clinician("c1")], rules={"min_weekly_hours": 9, **(rules or {})})


def schedule_of(problem, where: dict[str, str], crews: dict[str, list[str]] | None = None):
    """(patient, block) and (clinician, block) pairs: each patient in the mornings or evenings; c1 staffs all."""
    block_index = {b.id: i for i, b in enumerate(problem.blocks)}
    attend = {(p, block_index[f"{day}-{where[patient.id]}"]) for p, patient in enumerate(problem.patients)
              if patient.id in where for day in DAYS}
    crews = crews or {"am": ["c1"], "pm": ["c1"]}
    clinician_index = {c.id: i for i, c in enumerate(problem.clinicians)}
    staff = {(clinician_index[c], block_index[f"{day}-{half}"]) for half, names in crews.items()
             for c in names for day in DAYS}
    return attend, staff


def moved(data: dict, where: dict[str, str], crews: dict[str, list[str]] | None = None) -> tuple[dict, Moves]:
    """Where each patient is after the moves ("am", "pm"), and the moves; the result checked by the validator."""
    problem = build(data)
    attend, staff = schedule_of(problem, where, crews)
    moves = move_to_cheaper_weeks(problem, compute_eligibility(problem), attend, staff, time.monotonic() + 10)
    assert validate_schedule(problem, document(problem, moves.attend, staff)) == []
    halves = {}
    for p, b in moves.attend:
        halves.setdefault(problem.patients[p].id, set()).add(problem.blocks[b].id.split("-")[1])
    return {pid: "/".join(sorted(h)) for pid, h in halves.items()}, moves


def document(problem, attend: set, staff: set) -> dict:
    """A schedule document of the pairs, for the independent validator."""
    blocks = []
    for b, block_ in enumerate(problem.blocks):
        members = [problem.patients[p].id for p, bb in sorted(attend) if bb == b]
        crew = [problem.clinicians[c].id for c, bb in sorted(staff) if bb == b] if members else []
        blocks.append({"id": block_.id, "patients": members, "clinicians": crew})
    weeks = []
    for p, patient_ in enumerate(problem.patients):
        mine = [problem.blocks[b] for pp, b in sorted(attend) if pp == p]
        weeks.append({"id": patient_.id, "placed": bool(mine), "blocks": [b.id for b in mine],
                      "weekly_hours": sum(b.minutes for b in mine) / 60, "reasons": [] if mine else ["not placed"]})
    placed = sum(1 for w in weeks if w["placed"])
    return {"format": "iop-sched-schedule/1", "status": "feasible", "blocks": blocks, "patients": weeks,
            "stats": {"patients": len(weeks), "placed": placed, "placed_bound": len(weeks),
                      "open_blocks": sum(1 for b in blocks if b["patients"]), "solve_seconds": 0.0}}


def test_a_patient_moves_into_the_open_group_they_prefer():
    data = program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")])
    where, moves = moved(data, {"A": "am", "B": "pm", "C": "am"})
    assert where == {"A": "pm", "B": "pm", "C": "am"}
    assert moves.moved == 1 and moves.saved == 3 * wishes.WISH_WEIGHT


def test_nobody_moves_into_a_full_group():
    data = program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")], evening_fields={"max_size": 1})
    where, moves = moved(data, {"A": "am", "B": "pm", "C": "am"})
    assert where["A"] == "am" and moves.moved == 0


def test_nobody_leaves_a_group_that_would_fall_below_its_minimum():
    # without C the mornings would shut when A leaves them (a group is open with at least one patient)
    data = program([patient("A", **WANTS_EVENINGS), patient("B")])
    where, _ = moved(data, {"A": "am", "B": "pm"})
    assert where["A"] == "am"
    data = program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C"), patient("D")],
                   evening_fields={"min_size": 1})
    for b in data["blocks"][:3]:
        b["min_size"] = 2
    where, _ = moved(data, {"A": "am", "B": "pm", "C": "am"})
    assert where["A"] == "am"  # mornings hold exactly their minimum of 2
    where, _ = moved(data, {"A": "am", "B": "pm", "C": "am", "D": "am"})
    assert where["A"] == "pm"


def test_nobody_moves_past_what_the_clinicians_on_a_group_may_lead():
    rules = {"max_patients_per_clinician": 1}
    clinicians = [clinician("c1"), clinician("c2")]
    data = program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")], rules=rules, clinicians=clinicians)
    where, _ = moved(data, {"A": "am", "B": "pm", "C": "am"}, crews={"am": ["c1", "c2"], "pm": ["c2"]})
    assert where["A"] == "am"  # the evenings' one clinician leads B already
    where, _ = moved(data, {"A": "am", "B": "pm", "C": "am"}, crews={"am": ["c1", "c2"], "pm": ["c1", "c2"]})
    assert where["A"] == "pm"


def test_a_patient_follows_their_primary_clinician():
    clinicians = [clinician("c1"), clinician("c2")]
    data = program([patient("A", primary_clinician="c2"), patient("B"), patient("C")], clinicians=clinicians)
    where, moves = moved(data, {"A": "am", "B": "pm", "C": "am"}, crews={"am": ["c1"], "pm": ["c2"]})
    assert where["A"] == "pm" and moves.saved == 3 * wishes.WISH_WEIGHT


def test_a_week_that_charges_the_same_is_not_a_move():
    data = program([patient("A"), patient("B"), patient("C")])
    where, moves = moved(data, {"A": "am", "B": "pm", "C": "am"})
    assert where == {"A": "am", "B": "pm", "C": "am"} and moves.moved == 0


def test_after_the_deadline_everyone_keeps_their_week():
    problem = build(program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")]))
    attend, staff = schedule_of(problem, {"A": "am", "B": "pm", "C": "am"})
    moves = move_to_cheaper_weeks(problem, compute_eligibility(problem), attend, staff, time.monotonic() - 1)
    assert moves.attend == attend and moves.moved == 0


def test_moves_only_start_a_wishes_tier():
    problem = build(program([patient("A")]))
    without_wishes = tuple(f for f in FAMILIES if f is not wishes.add)
    assert TierRunner(build_model(problem), {}, 0.0, move_patients=True).move_patients
    assert not TierRunner(build_model(problem, without_wishes), {}, 0.0, move_patients=True).move_patients
    assert not TierRunner(build_model(problem), {}, 0.0).move_patients


def test_a_patient_given_more_groups_than_they_need_drops_one():
    # tier 1 may give a week above the minimum: 9 h where 6 h would do
    data = program([patient("A"), patient("B")], rules={"min_weekly_hours": 6})
    data["blocks"] = data["blocks"][:3]  # the mornings only
    _, moves = moved(data, {"A": "am", "B": "am"}, crews={"am": ["c1"]})
    assert moves.moved == 2 and moves.saved == 2 * 180
    weeks: dict[int, list[int]] = {}
    for p, b in moves.attend:
        weeks.setdefault(p, []).append(b)
    assert sorted(len(w) for w in weeks.values()) == [2, 2]


def test_a_shut_group_has_no_seat():
    problem = build(program([patient("A")]))
    assert seats_left(problem, {}, {}, 0) == 0 and seats_left(problem, {0: 0}, {0: {0}}, 0) == 0
    assert seats_left(problem, {0: 1}, {0: {0}}, 0) == problem.capacity_of(problem.blocks[0]) - 1


def test_a_moved_schedule_the_solver_cannot_complete_is_dropped(monkeypatch):
    import iop_sched.week_moves as week_moves
    from iop_sched.solve import tier_parameters

    problem = build(program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")]))
    schedule_model = build_model(problem)
    parameters = {tier: tier_parameters(tier, None, 0, False, None) for tier in (1, 2)}
    runner = TierRunner(schedule_model, parameters, time.monotonic(), move_patients=True)
    runner.solve_tier(1, 5)
    before = runner.best
    everything = set(schedule_model.variables.attend)  # everyone in every group: overlaps, too many hours
    monkeypatch.setattr(week_moves, "move_to_cheaper_weeks", lambda *args: Moves(everything, moved=1, saved=1))
    runner._move_patients(schedule_model.tier_expression(2), time.monotonic() + 5, 5)
    assert runner.best is before


def test_no_moves_when_re_planning_or_holding_pins(monkeypatch):
    import iop_sched.week_moves as week_moves

    from programs import solve_checked

    calls = []
    real = week_moves.move_to_cheaper_weeks
    monkeypatch.setattr(week_moves, "move_to_cheaper_weeks", lambda *args: calls.append(1) or real(*args))
    data = program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")])
    first = solve_checked(data, time_limit=5)
    assert calls  # a plain solve starts its wishes tier from the moves
    calls.clear()
    solve_checked(data, time_limit=5, previous=first.to_dict())
    pinned = program([patient("A", pinned_blocks=["mon-am"]), patient("B"), patient("C")])
    solve_checked(pinned, time_limit=5)
    assert calls == []


def test_the_moves_may_take_half_of_the_wishes_tier(monkeypatch):
    """A pass of moves takes ~4 s on a network, and a second of moves takes off more than a second of CP-SAT's
    search (benchmarks/RESULTS.md, twenty-sixth session): the moves may run until 70 % of the tier has passed, and the
    completion and the search still have their shares after them."""
    import iop_sched.week_moves as week_moves
    from iop_sched.solve import tier_parameters
    from iop_sched.tier_runner import FLOOR_SHARE, MOVES_COMPLETION_SHARE

    windows = []
    real = week_moves.move_to_cheaper_weeks

    def recording(problem, eligibility, attend, staff, deadline):
        windows.append(deadline - time.monotonic())
        return real(problem, eligibility, attend, staff, deadline)

    monkeypatch.setattr(week_moves, "move_to_cheaper_weeks", recording)
    problem = build(program([patient("A", **WANTS_EVENINGS), patient("B"), patient("C")]))
    schedule_model = build_model(problem)
    parameters = {tier: tier_parameters(tier, None, 0, False, None) for tier in (1, 2)}
    runner = TierRunner(schedule_model, parameters, time.monotonic(), move_patients=True)
    runner.solve_tier(1, 5)
    runner.solve_tier(2, 10)
    assert len(windows) == 1 and 10 * (0.7 - FLOOR_SHARE) - 0.5 < windows[0] <= 10 * 0.7
    assert 0.7 + MOVES_COMPLETION_SHARE < 1
