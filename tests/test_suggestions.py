"""Suggestions: every patch, applied and solved again, places at least `placed_gain` more patients."""

from __future__ import annotations

import pytest

from benchmarks.generate import generate
from iop_sched import problem_from_data
from iop_sched.suggestions import apply_patch, suggest
from programs import block, clinician, patient, program_dict, solve_checked


def test_apply_patch_add_and_replace():
    document = {"patients": [{"id": "P1", "sites": ["a"]}], "blocks": [{"id": "b", "max_size": 4}]}
    patched = apply_patch(document, [
        {"op": "add", "path": "/patients/0/telehealth", "value": True},
        {"op": "add", "path": "/patients/0/sites/-", "value": "b"},
        {"op": "replace", "path": "/blocks/0/max_size", "value": 8},
    ])
    assert patched == {"patients": [{"id": "P1", "sites": ["a", "b"], "telehealth": True}],
                       "blocks": [{"id": "b", "max_size": 8}]}
    assert document["blocks"][0]["max_size"] == 4  # the original is untouched
    with pytest.raises(ValueError):
        apply_patch(document, [{"op": "remove", "path": "/blocks/0"}])


def test_consent_suggestion_places_the_patient():
    rooms = [{"id": "zoom", "virtual": True}]
    data = program_dict(blocks=[block("tele", "mon", "18:00", "21:00", room="zoom")], rooms=rooms,
                        patients=[patient("P1", telehealth=False)], rules={"min_weekly_hours": 3})
    schedule = solve_checked(data)
    suggestions = suggest(schedule.problem, schedule.to_dict(), data)
    assert [(s.kind, s.placed_gain, s.newly_placed) for s in suggestions] == [("telehealth", 1, ["P1"])]


def test_bigger_group_suggestion():
    rooms = [{"id": "r1", "capacity": 3}]
    data = program_dict(blocks=[block("mon", "mon", "18:00", "21:00", room="r1", max_size=1)], rooms=rooms,
                        patients=[patient("P1"), patient("P2")], clinicians=[clinician("c1")],
                        rules={"min_weekly_hours": 3})
    schedule = solve_checked(data)
    suggestions = suggest(schedule.problem, schedule.to_dict(), data)
    assert suggestions[0].kind == "group_size" and suggestions[0].placed_gain == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_suggestion_on_generated_programs_keeps_its_promise(seed):
    document = generate("small", seed)
    problem = problem_from_data(document)
    schedule = solve_checked(problem)
    for suggestion in suggest(problem, schedule.to_dict(), document, check_seconds=10):
        assert suggestion.placed_gain >= 1
        again = solve_checked(problem_from_data(apply_patch(document, suggestion.patch)))
        assert again.placed >= schedule.placed + suggestion.placed_gain
