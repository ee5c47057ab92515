"""Clinicians' weeks whole in the LP on patients placed: the graph is exactly their valid weeks, and each
part of `iop_sched.clinician_hull` closes a gap the model's rows leave (the bound never cuts a schedule
off: tests/test_week_hull.py's properties run with it)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from iop_sched import week_hull  # noqa: E402
from iop_sched.clinician_hull import clinician_week_arcs  # noqa: E402
from iop_sched.model import FAMILIES  # noqa: E402
from iop_sched.week_hull import placed_upper_bound  # noqa: E402

from programs import block, build, clinician, patient, program_dict, solve_checked  # noqa: E402
from test_week_hull import most_placed  # noqa: E402


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def path_weeks(arcs, positions: int) -> set[frozenset[int]]:
    """The blocks staffed along every path from (0, 0) to the end of the blocks."""
    leaving: dict = {}
    for tail, head, b in arcs:
        leaving.setdefault(tail, []).append((head, b))
    weeks: set[frozenset[int]] = set()

    def walk(node, chosen: frozenset[int]) -> None:
        if node[0] == positions:
            weeks.add(chosen)
            return
        for head, b in leaving.get(node, []):
            walk(head, chosen if b is None else chosen | {b})

    walk((0, 0), frozenset())
    return weeks


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["mon", "tue"]), st.integers(16, 40), st.integers(1, 6)), min_size=1, max_size=7),
       st.integers(1, 12))
def test_a_clinicians_paths_are_exactly_the_weeks_that_fit_their_hours_without_overlaps(shapes, cap_halves):
    blocks = [block(f"b{i}", day, clock(start * 30), clock(start * 30 + length * 30))
              for i, (day, start, length) in enumerate(shapes)]
    problem = build(program_dict(blocks=blocks, patients=[patient("P1")]))
    cap = cap_halves * 30
    indices = list(range(len(blocks)))
    valid = set()
    for size in range(len(indices) + 1):
        for chosen in itertools.combinations(indices, size):
            intervals = [problem.blocks[b].interval for b in chosen]
            fits = sum(problem.blocks[b].minutes for b in chosen) <= cap
            apart = all(a[1] <= b[0] or b[1] <= a[0] for a, b in itertools.combinations(intervals, 2))
            if fits and apart:
                valid.add(frozenset(chosen))
    assert path_weeks(clinician_week_arcs(problem, indices, cap), len(indices)) == valid


def evenings_for_one_capped_clinician() -> dict:
    """Three 3-h evenings, one clinician with 5 h a week, thirty patients who each need one of them."""
    blocks = [block(f"{day}-ev", day, "18:00", "21:00", room="r1") for day in ("mon", "wed", "fri")]
    return program_dict(blocks=blocks, patients=[patient(f"P{i}") for i in range(30)],
                         clinicians=[clinician("c1", max_weekly_hours=5)])


def two_groups_at_once_for_three_clinicians() -> dict:
    """Two groups at the same time, 14 seats each, 12 patients per clinician, three clinicians, 28 patients."""
    blocks = [block("mon-a", "mon", "18:00", "21:00", room="r1"), block("mon-b", "mon", "18:00", "21:00", room="r2")]
    rooms = [{"id": "r1", "site": "north", "capacity": 14}, {"id": "r2", "site": "north", "capacity": 14}]
    return program_dict(blocks=blocks, rooms=rooms, patients=[patient(f"P{i}") for i in range(28)],
                        clinicians=[clinician(f"c{i}") for i in range(3)], rules={"max_patients_per_clinician": 12})


@pytest.mark.parametrize("data, optimum, with_fractions", [
    (evenings_for_one_capped_clinician(), 10, 16),     # 5 h staff one 3-h group whole, not 1.67 of them
    (two_groups_at_once_for_three_clinicians(), 26, 28),  # the third clinician is one group's second, not half of each
])
def test_the_bound_is_the_optimum_with_clinicians_whole_and_above_it_without(data, optimum, with_fractions,
                                                                              monkeypatch):
    problem = build(data)
    assert solve_checked(problem).placed == optimum
    assert placed_upper_bound(problem, FAMILIES, 20) == optimum
    monkeypatch.setattr(week_hull, "CLINICIAN_HULL_PAIRS", 0)  # as on large programs: the model's rows only
    assert placed_upper_bound(problem, FAMILIES, 20) == with_fractions


@st.composite
def staffing_programs(draw) -> dict:
    """Programs where clinicians' hours and the ratio decide who is placed: overlapping groups on two days, a
    few clinicians with weekly caps, a ratio below the groups' seats, patients who need one or two groups."""
    blocks = []
    for index in range(draw(st.integers(2, 6))):
        length = draw(st.sampled_from([60, 90, 120, 180]))
        start = draw(st.integers(16, (24 * 60 - 1 - length) // 60)) * 60  # a block ends by 23:59 (the format's rule)
        blocks.append(block(f"b{index}", draw(st.sampled_from(["mon", "tue"])), clock(start), clock(start + length),
                            max_size=draw(st.integers(2, 6)), clinicians=draw(st.integers(0, 2))))
    clinicians = [clinician(f"c{index}", max_weekly_hours=draw(st.sampled_from([1, 1.5, 2, 2.5, 3, 4, 5])))
                  for index in range(draw(st.integers(1, 3)))]
    rules = {"min_weekly_hours": draw(st.sampled_from([1, 2])), "max_patients_per_clinician": draw(st.integers(1, 4))}
    return program_dict(blocks=blocks, clinicians=clinicians, rules=rules,
                        rooms=[{"id": "r1", "site": "north", "capacity": 20}],
                        patients=[patient(f"P{i}") for i in range(draw(st.integers(1, 10)))])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(staffing_programs())
def test_with_clinicians_whole_the_bound_is_never_below_the_number_placed_proven_optimal(data):
    problem = build(data)
    assert placed_upper_bound(problem, FAMILIES, 20) >= most_placed(problem)
