"""The week hull: every valid week is a path of the patient's graph, and the LP bound never cuts a schedule off."""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from ortools.sat.python import cp_model

from benchmarks.generate import generate
from iop_sched import problem_from_data
from iop_sched.constraints.availability import compute_eligibility
from iop_sched.model import FAMILIES, TIER_PLACED, build_model
from iop_sched.tier_runner import (TierOutcome, TierRunner, hint_empty_schedule,
                                   hint_first_come_first_served)
from iop_sched.week_alone import week_alone_model
from iop_sched.week_hull import (LinearRelaxation, PlacedBoundBeside, RelaxationSolver, model_relaxation,
                                 placed_upper_bound, safe_lower_bound, week_graph)

from programs import block, build, patient, program_dict
from test_properties import programs


def valid_weeks(problem, p, blocks) -> set[frozenset[int]]:
    """Every week the one-patient model allows, enumerated by CP-SAT (independent of the graph)."""
    model, attend = week_alone_model(problem, problem.patients[p], blocks)
    weeks: set[frozenset[int]] = set()

    class Collect(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            weeks.add(frozenset(b for b, var in attend.items() if self.boolean_value(var)))

    solver = cp_model.CpSolver()
    solver.parameters.enumerate_all_solutions = True
    solver.parameters.num_workers = 1
    solver.solve(model, Collect())
    return weeks


def path_weeks(graph) -> set[frozenset[int]]:
    """The weeks of every path from the source to the last layer."""
    leaving: dict = {}
    for arc in graph.arcs:
        leaving.setdefault(arc.tail, []).append(arc)
    last = max((arc.head[0] for arc in graph.arcs), default=0)
    weeks: set[frozenset[int]] = set()

    def walk(node, chosen: frozenset[int]) -> None:
        if node[0] == last:
            weeks.add(chosen)
            return
        for arc in leaving.get(node, []):
            walk(arc.head, chosen | set(arc.blocks))

    walk(graph.source, frozenset())
    return weeks


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_a_patients_paths_are_exactly_their_valid_weeks_under_the_weekly_maximum(data):
    problem = problem_from_data(data)
    eligibility = compute_eligibility(problem)
    for p, patient_obj in enumerate(problem.patients):
        blocks = eligibility.blocks_of_patient[p]
        valid = valid_weeks(problem, p, blocks) if blocks else set()
        graph = week_graph(problem, p, blocks) if blocks else None
        paths = set() if graph is None else path_weeks(graph)
        assert valid <= paths  # the graph keeps every valid week: the LP is a relaxation
        # and forgets only the weekly maximum (these programs have no group past midnight)
        maximum = problem.max_minutes_for(patient_obj)
        assert {week for week in paths if sum(problem.blocks[b].minutes for b in week) <= maximum} == valid


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_the_bound_is_never_below_the_number_placed_proven_optimal(data):
    problem = problem_from_data(data)
    schedule_model = build_model(problem)
    schedule_model.model.maximize(cp_model.LinearExpr.sum(schedule_model.variables.placed))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 20
    assert solver.solve(schedule_model.model) == cp_model.OPTIMAL
    bound = placed_upper_bound(problem, FAMILIES, 20)
    assert bound is not None and bound >= round(solver.objective_value)


def two_hour_groups_one_seat_on_tuesday() -> dict:
    """Two patients need 3 h a week: only Monday and Tuesday together (4 h) make a week; Tuesday seats one."""
    return program_dict(blocks=[block("a", "mon", "09:00", "11:00", room="r1"),
                                block("b", "tue", "09:00", "11:00", room="r1", max_size=1, min_size=1)],
                        patients=[patient("p1"), patient("p2")], rules={"min_weekly_hours": 3})


def test_half_a_seat_does_not_make_up_a_week():
    """The model's own LP places both (2 h + half of Tuesday's 2 h each); with whole weeks only one fits."""
    problem = build(two_hour_groups_one_seat_on_tuesday())
    plain = build_model(problem)
    plain.model.minimize(-cp_model.LinearExpr.sum(plain.variables.placed))
    relaxation = model_relaxation(plain.model)
    assert -RelaxationSolver().solve(relaxation, 10) >= 2 - 1e-6
    assert placed_upper_bound(problem, FAMILIES, 10) == 1


def test_a_patient_with_no_valid_week_counts_for_nothing():
    data = two_hour_groups_one_seat_on_tuesday()
    data["program"]["rules"]["min_weekly_hours"] = 5  # Monday and Tuesday hold 4 h
    assert placed_upper_bound(build(data), FAMILIES, 10) == 0


def test_clauses_implications_and_negated_literals_keep_their_meaning_in_the_lp():
    model = cp_model.CpModel()
    x, y, z = (model.new_bool_var(name) for name in "xyz")
    model.add_implication(x, y)          # y >= x
    model.add_bool_or([~y, z])           # z >= y
    model.add_at_most_one([x, ~z, y])    # with x = y = z = 1: 1 + 0 + 1 > 1, so not all of them
    model.minimize(-x - y - z)
    relaxation = model_relaxation(model)
    value = RelaxationSolver().solve(relaxation, 10)
    # x + y <= 1 with x <= y <= z: the best is y = z = 1, x = 0 (or x = y = 1/2, z = 1): -2
    assert math.isclose(value, -2.0, abs_tol=1e-6)


def test_the_bound_from_duals_holds_whatever_the_duals():
    """min x + y with x + y >= 1 is 1: the dual 1 proves it; any other dual proves less, never more."""
    relaxation = LinearRelaxation([0.0, 0.0], [1.0, 1.0], {0: 1.0, 1: 1.0}, [([0, 1], [1.0, 1.0], 1.0, math.inf)])
    assert math.isclose(safe_lower_bound(relaxation, [1.0]), 1.0, abs_tol=1e-6)
    for dual in (0.0, 0.3, 2.0, -1.0, 5.0):
        assert safe_lower_bound(relaxation, [dual]) <= 1.0 + 1e-9


def tier_one_with_lns_only(bound: Optional[int], seconds: float, monkeypatch,
                           first_only: bool = False) -> tuple[TierOutcome, int]:
    """Tier 1 of a generated medium program searched by LNS alone (which proves nothing) from the
    first-come-first-served week, beside a stand-in for the LP that returns `bound` (None: no LP);
    also how many that week places. `first_only` stops the search at its first schedule, so that
    no time limit decides what the test sees."""
    problem = problem_from_data(generate("medium", 0))
    schedule_model = build_model(problem)
    hint_empty_schedule(schedule_model)
    first_come = len(hint_first_come_first_served(problem, schedule_model, FAMILIES).placed)
    monkeypatch.setattr(PlacedBoundBeside, "for_program",
                        classmethod(lambda cls, problem, families, seconds: cls(lambda solver: bound)))
    parameters = {TIER_PLACED: {"num_workers": 1, "use_lns_only": True, "random_seed": 0,
                                "stop_after_first_solution": first_only}}
    runner = TierRunner(schedule_model, parameters, time.monotonic(), bound_placed=bound is not None)
    runner.solve_tier(TIER_PLACED, seconds)
    return runner.outcomes[-1], first_come


def test_a_schedule_meeting_the_bound_ends_the_search_and_is_proven(monkeypatch):
    _, first_come = tier_one_with_lns_only(None, 30.0, monkeypatch, first_only=True)
    outcome, _ = tier_one_with_lns_only(first_come, 30.0, monkeypatch)
    assert outcome.status == "optimal" and outcome.value >= first_come
    assert outcome.seconds < 30.0  # stopped by the schedule that met the bound, not by the time limit
    without, _ = tier_one_with_lns_only(None, 30.0, monkeypatch, first_only=True)
    assert without.status == "feasible"  # LNS alone proves nothing


def test_a_bound_above_the_schedule_is_reported_and_proves_nothing(monkeypatch):
    outcome, _ = tier_one_with_lns_only(10_000, 30.0, monkeypatch, first_only=True)
    assert outcome.status == "feasible" and outcome.value < outcome.bound <= 10_000


def test_a_bound_arriving_after_the_schedule_stops_the_search():
    release, stopped = threading.Event(), threading.Event()
    beside = PlacedBoundBeside(lambda solver: 1 if release.wait(10) else None)
    assert not beside.met(1, stopped.set)  # no bound yet: the search goes on
    release.set()
    assert stopped.wait(10)  # the LP's thread ended the search
    assert beside.finish() == 1


def test_a_search_that_ends_first_does_not_wait_for_the_lp():
    release = threading.Event()
    beside = PlacedBoundBeside(lambda solver: 1 if release.wait(10) and not solver.cancelled else None)
    assert beside.finish(0.0) is None  # not ready: the search goes on to its next tier without it
    release.set()


def test_a_schedule_below_the_bound_does_not_stop_the_search():
    stopped = threading.Event()
    beside = PlacedBoundBeside(lambda solver: 2)
    assert beside.finish(10.0) == 2
    assert not beside.met(1, stopped.set) and not stopped.is_set()
    assert beside.met(2, stopped.set)


def test_a_relaxation_cancelled_before_it_is_solved_proves_nothing():
    relaxation = LinearRelaxation([0.0], [1.0], {0: 1.0}, [([0], [1.0], 0.5, math.inf)])  # min x, x >= 1/2
    solver = RelaxationSolver()
    solver.cancel()
    assert solver.solve(relaxation, 10) is None
    assert math.isclose(RelaxationSolver().solve(relaxation, 10), 0.5, abs_tol=1e-6)


def test_without_the_weeks_rule_there_is_no_bound_and_without_topics_none_is_required():
    from iop_sched.constraints import patient_week, topics

    data = two_hour_groups_one_seat_on_tuesday()
    data["program"]["rules"]["required_topics"] = {"relapse": 1}  # no group is on it: nobody can be placed
    problem = build(data)
    assert placed_upper_bound(problem, FAMILIES, 10) == 0
    assert placed_upper_bound(problem, tuple(f for f in FAMILIES if f is not topics.add), 10) == 1
    assert placed_upper_bound(problem, tuple(f for f in FAMILIES if f is not patient_week.add), 10) is None


def test_the_bound_runs_beside_tier_one_only_on_programs_of_its_size(monkeypatch):
    """Whole program and independent parts alike: the LP is asked for when the eligible pairs are in the window."""
    import importlib

    from programs import solve_checked
    from test_decompose import two_sites

    solve_module = importlib.import_module("iop_sched.solve")
    asked: list[int] = []

    def recording(cls, problem, families, seconds):
        asked.append(len(problem.patients))
        return cls(lambda solver: placed_upper_bound(problem, families, seconds, solver))

    monkeypatch.setattr(PlacedBoundBeside, "for_program", classmethod(recording))
    solve_checked(two_sites(), time_limit=10)
    assert asked == []                                    # a few pairs: below the window
    monkeypatch.setattr(solve_module, "PLACED_BOUND_PAIRS", range(1, 100))
    schedule = solve_checked(two_sites(), time_limit=10)  # two independent parts: one LP each
    assert sorted(asked) == [2, 3] and schedule.stats["placed"] == 4
    asked.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert asked == [5]
