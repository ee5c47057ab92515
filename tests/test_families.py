"""Each constraint family is what enforces its rule: drop it and the validator catches the broken rule.

This guards against a rule that only holds by accident (enforced twice, or by the data).
"""

from __future__ import annotations

import pytest

from iop_sched.constraints import costs, group_size, patient_week, rooms, staffing, symmetry, topics, wishes
from iop_sched.model import FAMILIES
from iop_sched.validate import validate_schedule
from programs import block, build, clinician, patient, program_dict, solve_checked, three_evenings


def without(family):
    return tuple(f for f in FAMILIES if f is not family)


CASES = {
    "group_size": (group_size.add, "block.min_size",
                   program_dict(blocks=three_evenings(min_size=2), patients=[patient("P1")])),
    "staffing": (staffing.add, "block.staffing",
                 program_dict(blocks=three_evenings(clinicians=2), patients=[patient("P1")])),
    "rooms": (rooms.add, "room.double_booked",
              program_dict(blocks=[block("a", "mon", "18:00", "21:00", room="r1", audience=["x"]),
                                   block("b", "mon", "20:00", "22:00", room="r1", audience=["y"])],
                           patients=[patient("P1", tags=["x"]), patient("P2", tags=["y"])],
                           clinicians=[clinician("c1"), clinician("c2")])),
    "topics": (topics.add, "patient.required_topic",
               program_dict(blocks=three_evenings(topic="skills"), patients=[patient("P1")],
                            rules={"required_topics": {"relapse": 1}})),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_dropping_a_family_breaks_exactly_its_rule(name):
    family, rule, data = CASES[name]
    problem = build(data)
    honoured = solve_checked(problem)  # with every family: valid (checked inside)
    broken = solve_checked(problem, families=without(family))
    assert broken.placed > honoured.placed or broken.open_blocks != honoured.open_blocks
    assert rule in {v.rule for v in validate_schedule(problem, broken.to_dict())}


def test_every_family_is_listed_once():
    modules = [patient_week, topics, group_size, staffing, rooms, symmetry, wishes, costs]
    assert sorted(f.__module__ for f in FAMILIES) == sorted(m.__name__ for m in modules)
