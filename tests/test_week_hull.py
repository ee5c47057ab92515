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
from iop_sched import tier_runner
from iop_sched.constraints import costs
from iop_sched.model import FAMILIES, TIER_COSTS, TIER_PLACED, TIER_WISHES, build_model
from iop_sched.tier_runner import (TierRunner, hint_empty_schedule,
                                   hint_first_come_first_served)
from iop_sched.week_alone import week_alone_model
from iop_sched.lp_relaxation import (LinearRelaxation, RelaxationSolver, merge_interchangeable, model_relaxation,
                                    safe_lower_bound)
from iop_sched.week_hull import BoundsBeside, costs_lower_bound, identical_weeks, placed_upper_bound, week_graph

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
    bound = placed_upper_bound(problem, FAMILIES, 20)
    assert bound is not None and bound >= most_placed(problem)


def most_placed(problem) -> int:
    """The number placed, proven optimal by CP-SAT on the whole model."""
    schedule_model = build_model(problem)
    schedule_model.model.maximize(cp_model.LinearExpr.sum(schedule_model.variables.placed))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 20
    assert solver.solve(schedule_model.model) == cp_model.OPTIMAL
    return round(solver.objective_value)


def with_twins(data: dict, copies: int) -> dict:
    """The program with each patient repeated `copies` times (new ids): classes of identical patients."""
    data = dict(data)
    data["patients"] = [dict(patient_data, id=f"{patient_data['id']}-{k}")
                        for patient_data in data["patients"] for k in range(copies)]
    return data


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_identical_patients_merged_give_the_lp_the_same_value_and_a_bound_that_holds(data):
    import iop_sched.week_hull as week_hull

    problem = problem_from_data(with_twins(data, 3))
    merged = week_hull._tier_lower_bound(problem, FAMILIES, TIER_PLACED, 0, 20, None, whole_weeks=True)
    original = week_hull._merge_identical_weeks
    try:
        week_hull._merge_identical_weeks = lambda problem, schedule_model, relaxation, with_topics: (relaxation, None)
        whole = week_hull._tier_lower_bound(problem, FAMILIES, TIER_PLACED, 0, 20, None, whole_weeks=True)
    finally:
        week_hull._merge_identical_weeks = original
    assert merged is not None and whole is not None
    assert math.isclose(merged, whole, abs_tol=1e-4)
    assert placed_upper_bound(problem, FAMILIES, 20) >= most_placed(problem)


def test_identical_weeks_are_the_same_groups_hours_and_topics():
    data = program_dict(blocks=[block("a", "mon", "09:00", "12:00"), block("b", "tue", "09:00", "12:00", topic="family")],
                        patients=[patient("p1"), patient("p2", prefer=[{"days": ["mon"], "start": "08:00", "end": "12:00"}]),
                                  patient("p3", required_topics={"family": 1}), patient("p4"),
                                  patient("p5", busy=[{"days": ["tue"], "start": "08:00", "end": "13:00"}])],
                        rules={"min_weekly_hours": 3})
    problem = build(data)
    eligibility = compute_eligibility(problem)
    assert identical_weeks(problem, eligibility.blocks_of_patient, with_topics=True) == [[0, 1, 3]]
    assert identical_weeks(problem, eligibility.blocks_of_patient, with_topics=False) == [[0, 1, 2, 3]]


def two_copies_lp(*rows: tuple[list[int], list[float], float, float]) -> LinearRelaxation:
    """max x0 + x1 (two copies of one slot, each in [0, 1]) under `rows`."""
    return LinearRelaxation([0.0, 0.0], [1.0, 1.0], {0: -1.0, 1: -1.0}, list(rows))


def test_copies_the_lp_treats_alike_are_merged_into_one_column_for_their_sum():
    relaxation = two_copies_lp(([0, 1], [1.0, 1.0], -math.inf, 1.5), ([0], [1.0], -math.inf, 0.9),
                               ([1], [1.0], -math.inf, 0.9))
    merged, which = merge_interchangeable(relaxation, [[[0], [1]]])
    assert which == [0]
    assert merged.column_upper == [2.0, 0.0] and merged.cost == {0: -1.0}
    assert sorted(merged.rows) == sorted([([0], [1.0], -math.inf, 1.5), ([0], [0.5], -math.inf, 0.9)])
    assert math.isclose(RelaxationSolver().solve(merged, 10), RelaxationSolver().solve(relaxation, 10), abs_tol=1e-6)


def test_copies_the_lp_tells_apart_are_not_merged():
    """Each LP below has its optimum at -1 with the copies unlike: merged, it would claim 0 or -0.5."""
    one_copy_capped = two_copies_lp(([0], [1.0], -math.inf, 0.0))
    unlike_bounds = LinearRelaxation([0.0, 0.0], [0.0, 1.0], {0: -1.0, 1: -1.0}, [])
    unlike_costs = LinearRelaxation([0.0, 0.0], [1.0, 1.0], {0: 0.0, 1: -1.0}, [])
    unlike_in_a_sum = two_copies_lp(([0, 1], [1.0, 0.0], -math.inf, 0.0))
    for relaxation in (one_copy_capped, unlike_bounds, unlike_costs, unlike_in_a_sum):
        merged, which = merge_interchangeable(relaxation, [[[0], [1]]])
        assert which == []
        assert math.isclose(RelaxationSolver().solve(merged, 10), -1.0, abs_tol=1e-6)
    three = LinearRelaxation([0.0] * 3, [1.0] * 3, {0: -1.0, 1: -1.0, 2: -1.0}, [([0, 1], [1.0, 1.0], -math.inf, 0.0)])
    assert merge_interchangeable(three, [[[0], [1], [2]]])[1] == []  # a row on two of three copies
    assert merge_interchangeable(three, [[[0], [1]], [[1], [2]]])[1] == []  # a column in two orbits


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


def run_tiers(monkeypatch, placed: Optional[int] = None, costs: Optional[int] = None,
              lp_until: Optional[float] = 0.0, tier_one: Optional[dict] = None, size: str = "medium",
              with_costs: bool = False) -> TierRunner:
    """Tiers 1 and 2 (and 3 `with_costs`) of a generated program, each stopped at its first schedule (so
    no tier is proven by the search), beside stand-ins for the LPs that return `placed` and `costs`.
    `lp_until` is the LPs' deadline in seconds from now (None: no LP). The runner records when the LPs
    started (`lp_started_after`: tiers ended by then) and what each stand-in was asked (`lp_calls`)."""
    problem = problem_from_data(generate(size, 0))
    schedule_model = build_model(problem)
    hint_empty_schedule(schedule_model)
    hint_first_come_first_served(problem, schedule_model, FAMILIES)
    started_after: list[int] = []
    calls: list[tuple] = []

    class Recording(BoundsBeside):
        def __init__(self, computations, *more):
            started_after.append(len(runner.outcomes))
            super().__init__(computations, *more)

    def placed_stand_in(problem, families, seconds, solver):
        calls.append(("placed",))
        return placed

    def costs_stand_in(problem, families, placed_at_least, seconds, solver):
        calls.append(("costs", placed_at_least))
        return costs

    monkeypatch.setattr(tier_runner, "BoundsBeside", Recording)
    monkeypatch.setattr(tier_runner, "placed_upper_bound", placed_stand_in)
    monkeypatch.setattr(tier_runner, "costs_lower_bound", costs_stand_in)
    first = {"num_workers": 1, "use_lns_only": True, "random_seed": 0, "stop_after_first_solution": True}
    parameters = {TIER_PLACED: tier_one or first, TIER_WISHES: first}
    if with_costs:
        parameters[TIER_COSTS] = first
    runner = TierRunner(schedule_model, parameters, time.monotonic(),
                        lp_bounds_until=None if lp_until is None else time.monotonic() + 30 + lp_until)
    runner.solve_tier(TIER_PLACED, 30.0)
    assert runner.lp_bounds is None  # never beside tier 1's search: its cores are tier 1's
    runner.solve_tier(TIER_WISHES, 30.0)
    if with_costs:
        runner.solve_tier(TIER_COSTS, 30.0)
    if runner.lp_bounds is not None:
        runner.lp_bounds.finish(10.0)  # the stand-ins end at once; wait for the thread
    events: list[dict] = []
    runner.collect_lp_bounds(events.append)
    runner.lp_events = [(e["tier"], e["event"], e["value"], e["bound"]) for e in events]
    runner.lp_started_after = started_after
    runner.lp_calls = calls
    return runner


def test_tier_one_is_proven_when_the_number_placed_meets_the_lp_bound(monkeypatch):
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    assert first.status == "feasible"  # the search alone stopped at its first schedule, unproven
    runner = run_tiers(monkeypatch, placed=first.value)
    assert runner.lp_started_after == [1]  # started with the wishes tier's search, after tier 1
    tier_one = runner.outcomes[0]
    assert (tier_one.status, tier_one.value, tier_one.bound) == ("optimal", first.value, first.value)
    assert runner.lp_events == [(TIER_PLACED, "lp_bound", first.value, first.value)]  # a live display sees it


def test_an_lp_bound_above_the_schedule_is_reported_and_proves_nothing(monkeypatch):
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    tier_one = run_tiers(monkeypatch, placed=first.value + 3).outcomes[0]
    assert tier_one.status == "feasible" and tier_one.bound == min(first.bound, first.value + 3)


def test_no_lp_on_patients_placed_after_a_tier_one_the_search_proved(monkeypatch):
    proving = {"num_workers": 2, "random_seed": 0}  # a small program: proven by presolve at once
    runner = run_tiers(monkeypatch, placed=0, tier_one=proving, size="small")  # a stand-in that would be wrong
    assert runner.outcomes[0].status == "optimal" and runner.lp_started_after == []
    assert runner.outcomes[0].bound == runner.outcomes[0].value


def test_an_lp_that_has_not_ended_leaves_tier_one_as_the_search_left_it(monkeypatch):
    release = threading.Event()
    problem = problem_from_data(generate("medium", 0))
    monkeypatch.setattr(tier_runner, "placed_upper_bound",
                        lambda problem, families, seconds, solver: 1 if release.wait(10) else None)
    schedule_model = build_model(problem)
    hint_first_come_first_served(problem, schedule_model, FAMILIES)
    first = {"num_workers": 1, "use_lns_only": True, "random_seed": 0, "stop_after_first_solution": True}
    runner = TierRunner(schedule_model, {TIER_PLACED: first, TIER_WISHES: first}, time.monotonic(),
                        lp_bounds_until=time.monotonic() + 60)
    runner.solve_tier(TIER_PLACED, 30.0)
    before = (runner.outcomes[0].status, runner.outcomes[0].bound)
    runner.solve_tier(TIER_WISHES, 30.0)
    runner.collect_lp_bounds()  # the LP is still waiting: nothing changes
    release.set()
    assert (runner.outcomes[0].status, runner.outcomes[0].bound) == before


def test_a_solve_that_ends_first_does_not_wait_for_the_lp():
    release = threading.Event()
    beside = BoundsBeside([(TIER_PLACED, lambda solver: 1 if release.wait(10) and not solver.cancelled else None)])
    assert beside.finish(0.0) == {}  # not ready: the solve returns without it
    release.set()


def test_a_bound_that_ended_is_kept_while_the_next_lp_still_runs():
    release = threading.Event()
    beside = BoundsBeside([(TIER_PLACED, lambda solver: 7),
                           (TIER_COSTS, lambda solver: 1 if release.wait(10) else None)])
    time.sleep(0.2)
    assert beside.finish(0.0) == {TIER_PLACED: 7}
    release.set()


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


def test_the_lp_is_given_a_deadline_only_on_programs_of_its_size_and_not_on_independent_parts(monkeypatch):
    import importlib

    from programs import solve_checked
    from test_decompose import two_sites

    solve_module = importlib.import_module("iop_sched.solve")
    deadlines: list[Optional[float]] = []
    original = TierRunner._start_lp_bounds

    def recording(self):
        deadlines.append(self.lp_bounds_until)
        original(self)

    monkeypatch.setattr(TierRunner, "_start_lp_bounds", recording)
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert deadlines and all(d is None for d in deadlines)      # a few pairs: below the window
    monkeypatch.setattr(solve_module, "PLACED_BOUND_PAIRS", range(1, 100))
    deadlines.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert deadlines and all(d is not None for d in deadlines)  # in the window: the whole solve's deadline
    deadlines.clear()
    solve_checked(two_sites(), time_limit=10)                   # two independent parts: no LP
    assert deadlines and all(d is None for d in deadlines)


def test_an_lp_that_fails_gives_no_bound_and_keeps_its_error():
    def failing(solver):
        raise MemoryError("no room for the LP")

    beside = BoundsBeside([(TIER_PLACED, failing), (TIER_COSTS, lambda solver: 3)])
    assert beside.finish(10.0) == {TIER_COSTS: 3}  # the next LP still runs
    assert isinstance(beside.errors[TIER_PLACED], MemoryError)


def test_an_lp_bound_below_the_schedule_in_hand_is_ignored_and_kept_as_an_error(monkeypatch):
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    runner = run_tiers(monkeypatch, placed=first.value - 5)
    tier_one = runner.outcomes[0]
    assert (tier_one.status, tier_one.bound) == ("feasible", first.bound)  # not "optimal" at a wrong bound
    assert isinstance(runner.lp_bounds.errors[TIER_PLACED], ValueError)


def test_the_time_the_lps_need_grows_faster_than_the_pairs():
    assert tier_runner.lp_seconds_needed(15_000) == tier_runner.LP_SECONDS_AT_15000_PAIRS
    assert 80 < tier_runner.lp_seconds_needed(47_806) < 120  # network program 0: 56 s + 37 s alone
    assert tier_runner.lp_seconds_needed(2_358) < 2  # medium program 0: ~0.7 s each alone


def test_no_lp_when_too_little_time_is_left_for_it(monkeypatch):
    runner = run_tiers(monkeypatch, placed=1, lp_until=-29.7, with_costs=True)  # 0.3 s left at most: too little
    assert runner.lp_started_after == [] and runner.outcomes[0].status == "feasible"


def test_the_costs_lp_is_asked_for_the_number_tier_one_placed_and_raises_the_costs_bound(monkeypatch):
    searched = run_tiers(monkeypatch, lp_until=None, with_costs=True).outcomes[2]
    assert searched.status == "feasible"
    runner = run_tiers(monkeypatch, costs=searched.value - 10, with_costs=True)
    assert sorted(runner.lp_calls) == [("costs", runner.outcomes[0].value), ("placed",)]  # side by side
    tier_three = runner.outcomes[2]
    assert (tier_three.status, tier_three.bound) == ("feasible", max(searched.bound, searched.value - 10))
    proven = run_tiers(monkeypatch, costs=searched.value, with_costs=True).outcomes[2]
    assert (proven.status, proven.bound) == ("optimal", searched.value)


def test_a_costs_bound_above_the_schedule_in_hand_is_ignored_and_kept_as_an_error(monkeypatch):
    searched = run_tiers(monkeypatch, lp_until=None, with_costs=True).outcomes[2]
    runner = run_tiers(monkeypatch, costs=searched.value + 1, with_costs=True)
    assert (runner.outcomes[2].status, runner.outcomes[2].bound) == ("feasible", searched.bound)
    assert runner.lp_events == []  # nothing reported from a bound that was ignored
    assert isinstance(runner.lp_bounds.errors[TIER_COSTS], ValueError)


def test_no_costs_lp_when_the_costs_tier_is_not_solved(monkeypatch):
    runner = run_tiers(monkeypatch, placed=10_000)
    assert runner.lp_calls == [("placed",)]


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_the_costs_bound_is_never_above_the_cheapest_schedule_placing_as_many(data):
    problem = problem_from_data(data)
    schedule_model = build_model(problem)
    placed = cp_model.LinearExpr.sum(schedule_model.variables.placed)
    schedule_model.model.maximize(placed)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 20
    assert solver.solve(schedule_model.model) == cp_model.OPTIMAL
    most = round(solver.objective_value)
    schedule_model.model.add(placed >= most)
    schedule_model.model.minimize(schedule_model.tier_expression(TIER_COSTS))
    assert solver.solve(schedule_model.model) == cp_model.OPTIMAL
    bound = costs_lower_bound(problem, FAMILIES, most, 20)
    assert bound is not None and bound <= round(solver.objective_value)


def test_seating_the_patients_needs_their_groups_open_and_staffed():
    """Every week holds Tuesday's one seat, so placing one patient opens that group and has it led for
    its 2 h (180 + 120), with part of Monday's too; the bound stays within the cheapest such schedule."""
    problem = build(two_hour_groups_one_seat_on_tuesday())
    schedule_model = build_model(problem)
    schedule_model.model.add(cp_model.LinearExpr.sum(schedule_model.variables.placed) >= 1)
    schedule_model.model.minimize(schedule_model.tier_expression(TIER_COSTS))
    solver = cp_model.CpSolver()
    assert solver.solve(schedule_model.model) == cp_model.OPTIMAL
    bound = costs_lower_bound(problem, FAMILIES, 1, 10)
    assert bound is not None and 180 + 120 < bound <= round(solver.objective_value)
    assert costs_lower_bound(problem, FAMILIES, 0, 10) == 0
    assert costs_lower_bound(problem, tuple(f for f in FAMILIES if f is not costs.add), 1, 10) is None


def test_a_graph_past_its_limit_leaves_the_patient_to_the_models_rows(monkeypatch):
    import iop_sched.week_hull as week_hull

    problem = build(two_hour_groups_one_seat_on_tuesday())
    monkeypatch.setattr(week_hull, "MAX_ARCS_PER_PATIENT", 1)
    try:
        week_graph(problem, 0, [0, 1])
        raise AssertionError("the graph should be too large")
    except week_hull.GraphTooLarge:
        pass
    assert placed_upper_bound(problem, FAMILIES, 10) == 2  # weaker without the weeks, never wrong


def test_a_cancelled_lp_stops_building_and_gives_no_bound():
    problem = build(two_hour_groups_one_seat_on_tuesday())
    solver = RelaxationSolver()
    solver.cancel()
    assert placed_upper_bound(problem, FAMILIES, 10, solver) is None


EXIT_WHILE_INSIDE_HIGHS = """
import sys, threading, os
sys.path[:0] = [{repo!r}]
from benchmarks.generate import generate
from iop_sched import problem_from_data
from iop_sched import lp_relaxation
from iop_sched.model import FAMILIES
from iop_sched.week_hull import BoundsBeside, placed_upper_bound

inside = threading.Event()
new_highs = lp_relaxation._new_highs
def marked():
    inside.set()  # the LP is handed to HiGHS right after this
    return new_highs()
lp_relaxation._new_highs = marked
problem = problem_from_data(generate("large", 0))
BoundsBeside([(1, lambda solver: placed_upper_bound(problem, FAMILIES, 120, solver))])
assert inside.wait(60)
threading.Event().wait(0.5)  # inside HiGHS's interior-point iterations (~5 s on this program)
print("exiting", flush=True)
"""


def test_the_interpreter_exits_cleanly_while_an_lp_runs_inside_highs():
    """A daemon thread killed inside HiGHS aborted the whole process (status 134) after the schedule was
    written; the exit now cancels the LP and waits for it."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", EXIT_WHILE_INSIDE_HIGHS.format(repo=str(REPO))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("exiting") and "terminate" not in done.stderr


def test_a_costs_tier_solved_before_tier_one_gets_no_lp_bound(monkeypatch):
    """In a caller's order with the costs tier first, that tier was not held to the number placed."""
    problem = problem_from_data(generate("medium", 0))
    schedule_model = build_model(problem)
    hint_first_come_first_served(problem, schedule_model, FAMILIES)
    calls: list[str] = []
    monkeypatch.setattr(tier_runner, "placed_upper_bound", lambda *args: calls.append("placed"))
    monkeypatch.setattr(tier_runner, "costs_lower_bound", lambda *args: calls.append("costs"))
    first = {"num_workers": 1, "use_lns_only": True, "random_seed": 0, "stop_after_first_solution": True}
    runner = TierRunner(schedule_model, {TIER_COSTS: first, TIER_PLACED: first, TIER_WISHES: first}, time.monotonic(),
                        lp_bounds_until=time.monotonic() + 60)
    for tier in (TIER_COSTS, TIER_PLACED, TIER_WISHES):
        runner.solve_tier(tier, 30.0)
    runner.lp_bounds.finish(10.0)
    assert calls == ["placed"]
    before = (runner.outcomes[0].status, runner.outcomes[0].bound)
    runner.lp_bounds = BoundsBeside([(TIER_COSTS, lambda solver: runner.outcomes[0].value)])  # as if it had run
    runner.lp_bounds.finish(10.0)
    runner.collect_lp_bounds()
    assert (runner.outcomes[0].status, runner.outcomes[0].bound) == before


def test_one_after_the_other_the_first_ends_before_the_second_starts():
    first_done = threading.Event()
    seen: list[bool] = []

    def first(solver):
        time.sleep(0.1)
        first_done.set()
        return 5

    def second(solver):
        seen.append(first_done.is_set())
        return 9

    beside = BoundsBeside([(TIER_PLACED, first), (TIER_COSTS, second)], side_by_side=False)
    assert beside.finish(10.0) == {TIER_PLACED: 5, TIER_COSTS: 9} and seen == [True]


def test_on_programs_past_the_side_by_side_size_the_placed_lp_runs_first(monkeypatch):
    monkeypatch.setattr(tier_runner, "SIDE_BY_SIDE_PAIRS", 0)
    searched = run_tiers(monkeypatch, lp_until=None, with_costs=True).outcomes
    runner = run_tiers(monkeypatch, placed=searched[0].value, costs=searched[2].value - 10, with_costs=True)
    assert runner.lp_calls == [("placed",), ("costs", runner.outcomes[0].value)]  # in this order
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[2].bound == max(searched[2].bound,
                                                                                       searched[2].value - 10)
