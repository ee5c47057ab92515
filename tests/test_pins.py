"""Pins: kept whenever they can be; a pin that cannot hold is reported with its reason."""

from __future__ import annotations

import importlib

import pytest

from iop_sched import ProblemError, problem_from_data
from programs import block, clinician, patient, program_dict, solve_checked, three_evenings, week, window


def test_patient_pin_holds_against_the_cheaper_choice():
    blocks = [block("a", "mon", "09:00", "12:00", room="r1"), block("b", "tue", "09:00", "12:00", room="r1")]
    data = program_dict(blocks=blocks, patients=[patient("P1"), patient("P2", pinned_blocks=["b"])],
                        rules={"min_weekly_hours": 3})
    schedule = solve_checked(data)
    assert week(schedule, "P2").blocks == ["b"]
    assert schedule.stats["pins"] == {"total": 1, "held": 1, "broken": []}


def test_clinician_pin_holds():
    data = program_dict(blocks=three_evenings(), patients=[patient("P1")],
                        clinicians=[clinician("c1"), clinician("c2")], rules={"min_weekly_hours": 9})
    data["blocks"][1]["pinned_clinicians"] = ["c2"]
    schedule = solve_checked(data)
    assert next(r for r in schedule.rosters if r.id == "wed-ev").clinicians == ["c2"]


def test_pin_that_cannot_hold_is_reported_not_dropped_in_silence():
    data = program_dict(blocks=three_evenings(), rules={"min_weekly_hours": 3},
                        patients=[patient("P1", pinned_blocks=["mon-ev"],
                                          busy=[window("mon", "17:00", "22:00", reason="work")])])
    schedule = solve_checked(data)
    assert week(schedule, "P1").placed
    pins = schedule.stats["pins"]
    assert pins["held"] == 0 and "collides with work" in pins["broken"][0]
    assert "pin not kept" in schedule.summary()


def test_pins_must_name_existing_ids():
    data = program_dict(blocks=three_evenings(), patients=[patient("P1", pinned_blocks=["nope"])])
    with pytest.raises(ProblemError) as caught:
        problem_from_data(data)
    assert caught.value.faults == ["patients[0].pinned_blocks[0]: no block has id 'nope'"]


def test_placed_bound_under_pins_is_reported_as_conditional():
    # Tier 1 is solved with P1's pin held, so its bound (1) is proven only under that condition:
    # it is reported apart, and placed_bound keeps what holds unconditionally (every patient).
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=1)]
    data = program_dict(blocks=blocks, patients=[patient("P1", pinned_blocks=["only"]), patient("P2")],
                        rules={"min_weekly_hours": 3})
    schedule = solve_checked(data)
    assert week(schedule, "P1").placed and not week(schedule, "P2").placed
    assert schedule.stats["placed_bound_holding_pins"] == 1
    assert schedule.stats["placed_bound"] == 2


def test_placed_bound_under_pins_is_the_lps_which_needs_no_pin_held(monkeypatch):
    # A pin (P1 on Monday) costs P2, who can come only on Monday, a place; P3 can come on no day. Held, one is
    # placed (proven under the pin); the LP on patients placed sees no pin, and bounds the program at 2 of 3.
    solve_module = importlib.import_module("iop_sched.solve")
    monkeypatch.setattr(solve_module, "PLACED_BOUND_PAIRS", range(1, 100))  # the LP on a program this small
    blocks = [block("mon", "mon", "18:00", "21:00", room="r1", max_size=1),
              block("tue", "tue", "18:00", "21:00", room="r1", max_size=1)]
    patients = [patient("P1", pinned_blocks=["mon"]), patient("P2", busy=[window("tue", "17:00", "22:00")]),
                patient("P3", busy=[window("mon", "17:00", "22:00"), window("tue", "17:00", "22:00")])]
    schedule = solve_checked(program_dict(blocks=blocks, patients=patients, rules={"min_weekly_hours": 3}))
    assert week(schedule, "P1").blocks == ["mon"] and not week(schedule, "P2").placed
    assert schedule.stats["placed_bound_holding_pins"] == 1
    assert schedule.stats["placed_bound"] == 2
