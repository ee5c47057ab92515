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

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from ortools.sat.python import cp_model

from benchmarks.generate import generate
from iop_sched import problem_from_data
from iop_sched.constraints.availability import compute_eligibility
from iop_sched import tier_runner
from iop_sched import week_hull
from iop_sched.constraints import costs
from iop_sched.model import FAMILIES, TIER_COSTS, TIER_PLACED, TIER_WISHES, build_model
from iop_sched.tier_runner import (TierRunner, hint_empty_schedule,
                                   hint_first_come_first_served)
from iop_sched.week_alone import week_alone_model
from iop_sched.lp_relaxation import (LinearRelaxation, RelaxationSolver, merge_interchangeable, model_relaxation,
                                    safe_lower_bound)
from iop_sched.week_hull import (BoundsBeside, PlacedRelaxation, costs_lower_bound, identical_weeks, placed_relaxation,
                                 placed_upper_bound, week_graph, wishes_support)

from programs import block, build, clinician, patient, program_dict, solve_checked
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


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_a_guided_tier_one_is_valid_and_places_the_proven_optimum(data):
    """Tier 1 guided on any program (the guide's windows opened to every size): the schedule passes the validator
    and places the optimum, whether the copy asked for the LP's bound finds one or the fallback and the whole
    search take over."""
    import importlib

    solve_module = importlib.import_module("iop_sched.solve")
    problem = problem_from_data(data)
    guided: list[int] = []
    original = TierRunner._search_lp_support
    with pytest.MonkeyPatch.context() as patch:
        for window in ("PLACED_BOUND_PAIRS", "PLACED_GUIDED_PAIRS"):
            patch.setattr(solve_module, window, range(0, 1_000_000))
        patch.setattr(TierRunner, "_search_lp_support", lambda self, *args: guided.append(1) or original(self, *args))
        schedule = solve_checked(problem, time_limit=10, tiers=[TIER_PLACED], decompose=False)
    assert guided == [1]
    assert schedule.stats["placed"] == most_placed(problem)


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


def lp_values_merged_and_not(problem, tier: int, placed_at_least: int, whole_weeks: bool) -> tuple[float, float]:
    """`tier`'s LP value with identical patients merged, and with every patient on their own."""
    import iop_sched.week_hull as week_hull

    merged = week_hull._tier_lower_bound(problem, FAMILIES, tier, placed_at_least, 20, None, whole_weeks)
    original = week_hull._merge_identical_weeks
    try:
        week_hull._merge_identical_weeks = lambda problem, schedule_model, relaxation, with_topics: (relaxation, None)
        alone = week_hull._tier_lower_bound(problem, FAMILIES, tier, placed_at_least, 20, None, whole_weeks)
    finally:
        week_hull._merge_identical_weeks = original
    assert merged is not None and alone is not None
    return merged, alone


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_identical_patients_merged_give_the_lps_the_same_value_and_bounds_that_hold(data):
    problem = problem_from_data(with_twins(data, 3))
    merged, alone = lp_values_merged_and_not(problem, TIER_PLACED, 0, whole_weeks=True)
    assert math.isclose(merged, alone, abs_tol=1e-4)
    most = most_placed(problem)
    assert placed_upper_bound(problem, FAMILIES, 20) >= most
    merged, alone = lp_values_merged_and_not(problem, TIER_COSTS, most, whole_weeks=False)
    assert math.isclose(merged, alone, rel_tol=1e-6, abs_tol=1e-3)


def test_identical_patients_are_merged_in_both_lps_with_their_days():
    """large program 0: 570 patients reach a group, in 311 classes of the same groups, hours and topics."""
    import iop_sched.week_hull as week_hull

    problem = problem_from_data(generate("large", 0))
    counts: list[int] = []
    original = week_hull._merge_identical_weeks

    def counting(problem, schedule_model, relaxation, with_topics):
        merged, copies = original(problem, schedule_model, relaxation, with_topics)
        counts.append(sum(1 for count in copies if count > 0))
        return merged, copies

    week_hull._merge_identical_weeks = counting
    try:
        cancelled = RelaxationSolver()
        cancelled.cancel()  # built, not solved
        week_hull._tier_lower_bound(problem, FAMILIES, TIER_PLACED, 0, 60, cancelled, whole_weeks=True)
        week_hull._tier_lower_bound(problem, FAMILIES, TIER_COSTS, 400, 60, cancelled, whole_weeks=False)
    finally:
        week_hull._merge_identical_weeks = original
    assert problem.program.rules.min_days_per_week > 0  # so the costs LP holds each patient's days
    assert counts == [len(problem.patients) - 570 + 311] * 2


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


def test_states_with_the_same_rest_of_the_week_are_one_node():
    """Monday's 2 h or 2.5 h each need Tuesday's 3 h to make the 5-h week: after Monday one node, not two (the
    minutes differ, the rest of the week does not), so Tuesday's group is one arc."""
    problem = build(program_dict(blocks=[block("a", "mon", "09:00", "11:00", room="r1"),
                                         block("b", "mon", "09:00", "11:30", room="r2"),
                                         block("c", "tue", "09:00", "12:00", room="r1")],
                                 patients=[patient("p1")], rules={"min_weekly_hours": 5},
                                 rooms=[{"id": "r1", "site": "north", "capacity": 10},
                                        {"id": "r2", "site": "north", "capacity": 10}]))
    graph = week_graph(problem, 0, [0, 1, 2])
    assert path_weeks(graph) == {frozenset({0, 2}), frozenset({1, 2})}
    assert len({arc.tail for arc in graph.arcs if arc.tail[0] == 1}) == 1
    assert len(graph.arcs) == 3


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_no_two_nodes_of_a_layer_have_the_same_rest_of_the_week(data):
    """The graph is as small as its weeks allow: two nodes of a layer never leave by the same choices to the same
    nodes (they would be one node, and the LP would have their arcs twice)."""
    problem = problem_from_data(data)
    eligibility = compute_eligibility(problem)
    for p in range(len(problem.patients)):
        blocks = eligibility.blocks_of_patient[p]
        graph = week_graph(problem, p, blocks) if blocks else None
        if graph is None:
            continue
        leaving: dict = {}
        for arc in graph.arcs:
            leaving.setdefault(arc.tail, set()).add((arc.blocks, arc.head))
        rests = [(node[0], frozenset(moves)) for node, moves in leaving.items()]
        assert len(rests) == len(set(rests))


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


def test_a_patient_with_no_valid_week_fills_no_group_in_the_lp():
    """Seated at no cost, a patient whom no week fits would make up a group's minimum size for another (the LP placed
    p1 then), and an optimal vertex would use their pairs whole, which the guide then holds in its search."""
    data = program_dict(blocks=[block("a", "mon", "09:00", "12:00", room="r1", min_size=2)],
                        patients=[patient("p1"), patient("p2", min_weekly_hours=5)], rules={"min_weekly_hours": 3})
    problem = build(data)
    assert placed_upper_bound(problem, FAMILIES, 10) == 0  # p1 alone cannot open the group
    built = week_hull.build_placed_relaxation(problem, FAMILIES, 10)
    p2 = [p for p, patient_ in enumerate(problem.patients) if patient_.id == "p2"][0]
    columns = [var.index for (p, b), var in built.schedule_model.variables.attend.items() if p == p2]
    assert columns and all(built.relaxation.column_upper[column] == 0 for column in columns)
    assert solve_checked(data, time_limit=10).stats["placed"] == 0


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


def test_a_model_that_cannot_be_written_for_its_lp_is_an_error_naming_the_file(monkeypatch, tmp_path):
    """The LP reads the model from a temporary file (`plain_proto`); where none can be written the LP's
    thread records the error (`BoundsBeside.errors`) and the schedule goes on without that bound."""
    import contextlib

    from iop_sched import lp_relaxation

    model = cp_model.CpModel()
    x = model.new_bool_var("x")
    model.minimize(-x)
    assert lp_relaxation.plain_proto(model).variables[0].domain == [0, 1]
    missing = tmp_path / "gone"
    monkeypatch.setattr(lp_relaxation.tempfile, "TemporaryDirectory",
                        lambda **options: contextlib.nullcontext(str(missing)))
    with pytest.raises(OSError, match="gone"):
        model_relaxation(model)


def test_the_bound_from_duals_holds_whatever_the_duals():
    """min x + y with x + y >= 1 is 1: the dual 1 proves it; any other dual proves less, never more."""
    relaxation = LinearRelaxation([0.0, 0.0], [1.0, 1.0], {0: 1.0, 1: 1.0}, [([0, 1], [1.0, 1.0], 1.0, math.inf)])
    assert math.isclose(safe_lower_bound(relaxation, [1.0]), 1.0, abs_tol=1e-6)
    for dual in (0.0, 0.3, 2.0, -1.0, 5.0):
        assert safe_lower_bound(relaxation, [dual]) <= 1.0 + 1e-9


@st.composite
def small_lps(draw) -> LinearRelaxation:
    """An LP of a few columns with finite bounds and rows of either kind (some with an infinite side,
    some columns repeated in a row)."""
    columns = draw(st.integers(1, 5))
    lower = [float(draw(st.integers(-2, 1))) for _ in range(columns)]
    upper = [low + draw(st.integers(0, 3)) for low in lower]
    cost = {c: float(draw(st.integers(-3, 3))) for c in range(columns)}
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        index = draw(st.lists(st.integers(0, columns - 1), min_size=1, max_size=4))
        value = [float(draw(st.sampled_from([-2, -1, 1, 2]))) for _ in index]
        low = draw(st.sampled_from([-math.inf, -1.0, 0.0, 1.0]))
        rows.append((index, value, low, draw(st.sampled_from([math.inf, 2.0, max(low, 0.0)]))))
    return LinearRelaxation(lower, upper, cost, rows)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(small_lps(), st.data())
def test_no_duals_give_a_bound_above_the_lps_optimum_and_the_solvers_meet_it(relaxation, data):
    import highspy

    from iop_sched.lp_relaxation import _highs_model, _new_highs

    highs = _new_highs()
    highs.passModel(_highs_model(relaxation))
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return  # infeasible: any bound holds
    optimum = highs.getInfo().objective_function_value
    solved = RelaxationSolver().solve(relaxation, 10)
    assert solved is not None and optimum - 1e-5 * (1 + abs(optimum)) <= solved <= optimum + 1e-7
    duals = data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, -1.0, 3.0, math.nan, math.inf]),
                               min_size=len(relaxation.rows), max_size=len(relaxation.rows)))
    assert safe_lower_bound(relaxation, duals) <= optimum + 1e-7


def run_tiers(monkeypatch, placed: Optional[int] = None, costs: Optional[int] = None,
              lp_until: Optional[float] = 0.0, tier_one: Optional[dict] = None, size: str = "medium",
              with_costs: bool = False) -> TierRunner:
    """Tiers 1 and 2 (and 3 `with_costs`) of a generated program, each stopped at its first schedule (so
    no tier is proven by the search), beside stand-ins for the LPs that return `placed` and `costs`.
    `lp_until` is the LPs' deadline in seconds from now (None: no LP). The runner records when the LPs
    started (`lp_started_after`: tiers ended by then), what each stand-in was asked (`lp_calls`) and the
    "lp_bound" events (`lp_events`)."""
    problem = problem_from_data(generate(size, 0))
    schedule_model = build_model(problem)
    hint_empty_schedule(schedule_model)
    hint_first_come_first_served(problem, schedule_model, FAMILIES)
    started_after: list[int] = []
    calls: list[tuple] = []

    class Recording(BoundsBeside):
        def __init__(self, computations, **more):
            started_after.append(len(runner.outcomes))
            super().__init__(computations, **more)

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
    events: list[dict] = []
    runner.solve_tier(TIER_PLACED, 30.0, events.append)
    runner.solve_tier(TIER_WISHES, 30.0, events.append)
    if with_costs:
        runner.solve_tier(TIER_COSTS, 30.0, events.append)
    for beside in runner.lp_bounds.values():
        beside.wait(10.0)  # the stand-ins end at once; wait for the threads
    runner.collect_lp_bounds(events.append)
    runner.lp_events = [(e["tier"], e["event"], e["value"], e["bound"]) for e in events if e["event"] == "lp_bound"]
    runner.event_tiers = [(e["tier"], e["event"]) for e in events]
    runner.lp_started_after = started_after
    runner.lp_calls = calls
    return runner


def test_tier_one_is_proven_when_the_number_placed_meets_the_lp_bound(monkeypatch):
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    assert first.status == "feasible"  # the search alone stopped at its first schedule, unproven
    runner = run_tiers(monkeypatch, placed=first.value)
    assert runner.lp_started_after == [0]  # started with tier 1's search
    tier_one = runner.outcomes[0]
    assert (tier_one.status, tier_one.value, tier_one.bound) == ("optimal", first.value, first.value)
    assert runner.lp_events == [(TIER_PLACED, "lp_bound", first.value, first.value)]  # a live display sees it


def test_an_lp_bound_above_the_schedule_is_reported_and_proves_nothing(monkeypatch):
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    tier_one = run_tiers(monkeypatch, placed=first.value + 3).outcomes[0]
    assert tier_one.status == "feasible" and tier_one.bound == min(first.bound, first.value + 3)


def test_a_tier_one_the_search_proved_cancels_its_lp_and_keeps_its_proof(monkeypatch):
    cancelled = threading.Event()

    def until_cancelled(problem, families, seconds, solver):
        while not solver.cancelled and not cancelled.wait(0.01):
            pass
        cancelled.set()
        return 0  # a bound that would be wrong, had it been taken

    monkeypatch.setattr(tier_runner, "placed_upper_bound", until_cancelled)
    problem = problem_from_data(generate("small", 0))
    schedule_model = build_model(problem)
    proving = {"num_workers": 2, "random_seed": 0}  # a small program: proven by presolve at once
    runner = TierRunner(schedule_model, {TIER_PLACED: proving}, time.monotonic(), lp_bounds_until=time.monotonic() + 60)
    runner.solve_tier(TIER_PLACED, 30.0)
    assert cancelled.wait(5)  # cancelled as tier 1 ended, not at the deadline
    runner.collect_lp_bounds()
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[0].bound == runner.outcomes[0].value


def test_the_search_stops_once_its_count_meets_the_bound_from_beside_it(monkeypatch):
    """Tier 1 searched by LNS alone never proves itself; the LP's bound at its first count ends it."""
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    lns = {"num_workers": 1, "use_lns_only": True, "random_seed": 0}
    runner = run_tiers(monkeypatch, placed=first.value, tier_one=lns)
    tier_one = runner.outcomes[0]
    assert (tier_one.status, tier_one.value, tier_one.bound) == ("optimal", first.value, first.value)
    assert tier_one.seconds < 15  # of its 30: stopped, not run out
    assert runner.lp_events == [(TIER_PLACED, "lp_bound", first.value, first.value)]
    # reported as tier 1 ends, before the next tier's search
    assert runner.event_tiers.index((TIER_PLACED, "lp_bound")) < runner.event_tiers.index((TIER_WISHES, "solution"))


class FakeSearch:
    def __init__(self) -> None:
        self.stops = 0

    def stop_search(self) -> None:
        self.stops += 1


def test_the_search_stops_at_the_bound_whichever_comes_first_and_only_while_it_runs():
    for first_told, then in ((lambda stop: stop.on_value(5), lambda stop: stop.on_bound(TIER_PLACED, 5)),
                             (lambda stop: stop.on_bound(TIER_PLACED, 5), lambda stop: stop.on_value(5))):
        search = FakeSearch()
        stop = tier_runner.StopAtBound(search)
        first_told(stop)
        assert search.stops == 0
        then(stop)
        assert search.stops == 1
    search = FakeSearch()
    stop = tier_runner.StopAtBound(search)
    stop.on_value(4)
    stop.on_bound(TIER_COSTS, 4)  # another tier's bound
    stop.on_bound(TIER_PLACED, 5)
    stop.on_value(6)  # above the bound: the LP is wrong, the search goes on
    assert search.stops == 0
    stop.close()
    stop.on_value(5)
    assert search.stops == 0  # the search had ended


def test_a_search_attached_after_the_bound_and_its_count_came_is_stopped_at_once():
    """Tier 1's LP may start before tier 1's search exists (`PlacedLP`): what it heard meanwhile still counts."""
    stop = tier_runner.StopAtBound()
    stop.on_bound(TIER_PLACED, 5)
    stop.on_value(5)  # nothing to stop yet
    search = FakeSearch()
    stop.attach(search)
    assert search.stops == 1
    stop = tier_runner.StopAtBound()
    stop.on_bound(TIER_PLACED, 5)
    search = FakeSearch()
    stop.attach(search)
    assert search.stops == 0  # no count yet
    stop.on_value(5)
    assert search.stops == 1


def test_tier_ones_guiding_lp_is_built_before_the_model_and_solved_beside_its_build(monkeypatch):
    import importlib

    from programs import solve_checked

    solve_module = importlib.import_module("iop_sched.solve")
    calls: list[str] = []
    build_lp, solve_lp, build_whole = (tier_runner.build_placed_relaxation, tier_runner.solve_placed_relaxation,
                                       solve_module.build_model)
    interruptibles: list[bool] = []
    beside = tier_runner.BoundsBeside

    def recording_beside(computations, on_bound=None, interruptible=True):
        interruptibles.append(interruptible)
        return beside(computations, on_bound, interruptible)

    monkeypatch.setattr(tier_runner, "build_placed_relaxation", lambda *a, **k: calls.append("LP built") or build_lp(*a, **k))
    monkeypatch.setattr(tier_runner, "solve_placed_relaxation", lambda *a: calls.append("LP solved") or solve_lp(*a))
    monkeypatch.setattr(solve_module, "build_model", lambda *a: calls.append("model built") or build_whole(*a))
    monkeypatch.setattr(tier_runner, "BoundsBeside", recording_beside)
    problem = problem_from_data(generate("small", 0))
    solve_checked(problem, time_limit=10, tiers=[TIER_PLACED])
    assert calls == ["model built"]  # a small program: no LP
    for window in ("PLACED_BOUND_PAIRS", "PLACED_GUIDED_PAIRS"):
        monkeypatch.setattr(solve_module, window, range(1, 100_000))
    calls.clear()
    schedule = solve_checked(problem, time_limit=10, tiers=[TIER_PLACED])
    assert calls.index("LP built") < calls.index("model built") and "LP solved" in calls
    assert interruptibles == [False]  # HiGHS's solve runs beside the model's build: see RelaxationSolver
    assert schedule.stats["placed"] == schedule.stats["placed_bound"]
    calls.clear()
    solve_checked(problem, time_limit=10, tiers=[TIER_WISHES, TIER_PLACED])  # tier 1 second: its LP starts with it
    assert calls.index("model built") < calls.index("LP built")
    assert interruptibles[1:] == [True]  # nothing but CP-SAT runs beside it there: it may be cancelled


def test_a_guiding_lp_that_fails_to_build_gives_no_bound_and_keeps_its_error(monkeypatch):
    def failing(*args, **kwargs):
        raise MemoryError("no room for the LP")

    monkeypatch.setattr(tier_runner, "build_placed_relaxation", failing)
    problem = problem_from_data(generate("small", 0))
    lp = tier_runner.PlacedLP(problem, FAMILIES, time.monotonic() + 10, guided=True)
    assert lp.bounds.finish(10.0) == {} and lp.guide is None
    assert isinstance(lp.bounds.errors[TIER_PLACED], MemoryError)


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
    lp_tiers: list[frozenset] = []
    original = TierRunner._start_placed_lp

    guided: list[frozenset] = []

    def recording(self, solver):
        deadlines.append(self.lp_bounds_until)
        lp_tiers.append(self.lp_tiers)
        guided.append(self.guided_tiers)
        return original(self, solver)

    monkeypatch.setattr(TierRunner, "_start_placed_lp", recording)
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert deadlines and all(d is None for d in deadlines)      # a few pairs: below the window
    monkeypatch.setattr(solve_module, "PLACED_BOUND_PAIRS", range(1, 100))
    deadlines.clear()
    lp_tiers.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert deadlines and all(d is not None for d in deadlines)  # in the window: the whole solve's deadline
    assert set(lp_tiers) == {frozenset({TIER_PLACED})}           # below the costs LP's window (medium programs)
    monkeypatch.setattr(solve_module, "COSTS_BOUND_PAIRS", range(1, 100))
    lp_tiers.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert set(lp_tiers) == {frozenset({TIER_PLACED, TIER_COSTS})}
    assert not any(guided)                                      # below the guides' windows
    monkeypatch.setattr(solve_module, "PLACED_GUIDED_PAIRS", range(1, 100))
    guided.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert guided and all(tiers == {TIER_PLACED} for tiers in guided)
    monkeypatch.setattr(solve_module, "WISHES_GUIDED_PAIRS", range(1, 100))
    guided.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert guided and all(tiers == {TIER_PLACED, TIER_WISHES} for tiers in guided)
    # an LP not expected within tier 1's wait (`guide_can_wait`): no guide to wait for, its bound still beside
    monkeypatch.setattr(solve_module, "guide_can_wait", lambda pairs, tier_seconds: False)
    guided.clear()
    deadlines.clear()
    solve_checked(two_sites(), time_limit=10, decompose=False)
    assert guided and all(tiers == {TIER_WISHES} for tiers in guided)
    assert deadlines and all(d is not None for d in deadlines)
    deadlines.clear()
    solve_checked(two_sites(), time_limit=10)                   # two independent parts: no LP
    assert deadlines and all(d is None for d in deadlines)


@pytest.mark.parametrize("pairs, tier_seconds, waits", [
    (15_161, 42.0, True),    # large program 1 in a 60-s solve: its LP ends at ~5.5 s
    (15_161, 7.0, False),    # ... in a 10-s one
    (47_806, 72.0, True),    # network program 0 in a 120-s solve: ~32 s
    (47_806, 36.0, False),   # ... in a 60-s one
    (52_699, 54.0, False),   # network program 1 in a 90-s solve: ~39 s, past its 32-s wait
])
def test_tier_one_waits_for_its_guide_only_where_its_lp_can_be_expected_in_time(pairs, tier_seconds, waits):
    assert tier_runner.guide_can_wait(pairs, tier_seconds) is waits


def test_an_lp_that_fails_gives_no_bound_and_keeps_its_error():
    def failing(solver):
        raise MemoryError("no room for the LP")

    beside = BoundsBeside([(TIER_PLACED, failing), (TIER_COSTS, lambda solver: 3)])
    assert beside.finish(10.0) == {TIER_COSTS: 3}  # the next LP still runs
    assert isinstance(beside.errors[TIER_PLACED], MemoryError)
    told: list[tuple[int, int]] = []

    def failing_hook(tier, bound):
        told.append((tier, bound))
        raise RuntimeError("the hook failed")

    beside = BoundsBeside([(TIER_COSTS, lambda solver: 3)], on_bound=failing_hook)
    assert beside.finish(10.0) == {TIER_COSTS: 3} and told == [(TIER_COSTS, 3)]  # the bound stays
    assert isinstance(beside.errors[TIER_COSTS], RuntimeError)


def test_an_lp_bound_below_the_schedule_in_hand_is_ignored_and_kept_as_an_error(monkeypatch):
    first = run_tiers(monkeypatch, lp_until=None).outcomes[0]
    runner = run_tiers(monkeypatch, placed=first.value - 5)
    tier_one = runner.outcomes[0]
    assert (tier_one.status, tier_one.bound) == ("feasible", first.bound)  # not "optimal" at a wrong bound
    assert isinstance(runner.lp_errors[TIER_PLACED], ValueError)


def test_the_time_the_lps_need_grows_faster_than_the_pairs():
    assert tier_runner.lp_seconds_needed(15_000) == tier_runner.LP_SECONDS_AT_15000_PAIRS[TIER_PLACED]
    assert 40 < tier_runner.lp_seconds_needed(47_806) < 60  # network program 0: 27 s alone (placed)
    assert 30 < tier_runner.lp_seconds_needed(47_806, TIER_COSTS) < 48  # 21 s alone (costs), 48 s left in 120
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
    assert isinstance(runner.lp_errors[TIER_COSTS], ValueError)


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


def test_a_patient_past_the_graphs_limit_is_not_placed_for_nothing(monkeypatch):
    """Past its limit a patient keeps the model's rows of a week: 5 h needed, 4 h reachable, so never placed; and
    placed, never in two groups at once."""
    data = two_hour_groups_one_seat_on_tuesday()
    data["program"]["rules"]["min_weekly_hours"] = 5
    monkeypatch.setattr(week_hull, "MAX_ARCS_PER_PATIENT", 1)
    assert placed_upper_bound(build(data), FAMILIES, 10) == 0
    overlapping = program_dict(blocks=[block("a", "mon", "09:00", "11:00", room="r1"),
                                       block("b", "mon", "10:00", "12:00", room="r2")],
                               rooms=[{"id": "r1", "site": "north", "capacity": 10},
                                      {"id": "r2", "site": "north", "capacity": 10}],
                               clinicians=[clinician("c1"), clinician("c2")], patients=[patient("p1")],
                               rules={"min_weekly_hours": 3})
    assert placed_upper_bound(build(overlapping), FAMILIES, 10) == 0  # a and b together would make 4 h
    monkeypatch.setattr(week_hull, "_add_week_rows", lambda *args: None)
    assert placed_upper_bound(build(data), FAMILIES, 10) == 2
    assert placed_upper_bound(build(overlapping), FAMILIES, 10) == 1


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
    for beside in runner.lp_bounds.values():
        beside.wait(10.0)
    assert calls == ["placed"]
    before = (runner.outcomes[0].status, runner.outcomes[0].bound)
    runner.lp_bounds[TIER_COSTS] = BoundsBeside([(TIER_COSTS, lambda solver: runner.outcomes[0].value)])  # as if it had run
    runner.lp_bounds[TIER_COSTS].wait(10.0)
    runner.collect_lp_bounds()
    assert (runner.outcomes[0].status, runner.outcomes[0].bound) == before


def test_only_the_lps_the_runner_is_given_run(monkeypatch):
    """Medium programs get the LP on patients placed and not the one on the costs tier (`solve.COSTS_BOUND_PAIRS`)."""
    problem = problem_from_data(generate("small", 0))
    schedule_model = build_model(problem)
    hint_first_come_first_served(problem, schedule_model, FAMILIES)
    first = {"num_workers": 1, "use_lns_only": True, "random_seed": 0, "stop_after_first_solution": True}
    for lp_tiers, expected in (((TIER_PLACED,), ["placed"]), ((TIER_PLACED, TIER_COSTS), ["placed", "costs"])):
        calls: list[str] = []
        monkeypatch.setattr(tier_runner, "placed_upper_bound", lambda *args: calls.append("placed"))
        monkeypatch.setattr(tier_runner, "costs_lower_bound", lambda *args: calls.append("costs"))
        runner = TierRunner(schedule_model, {TIER_PLACED: first, TIER_WISHES: first, TIER_COSTS: first},
                            time.monotonic(), lp_bounds_until=time.monotonic() + 60, lp_tiers=lp_tiers)
        for tier in (TIER_PLACED, TIER_WISHES, TIER_COSTS):
            runner.solve_tier(tier, 30.0)
        for beside in runner.lp_bounds.values():
            beside.wait(10.0)
        assert calls == expected


def test_on_programs_past_the_side_by_side_size_the_costs_lp_waits_for_the_placed_one(monkeypatch):
    monkeypatch.setattr(tier_runner, "SIDE_BY_SIDE_PAIRS", 0)
    searched = run_tiers(monkeypatch, lp_until=None, with_costs=True).outcomes
    runner = run_tiers(monkeypatch, placed=searched[0].value, costs=searched[2].value - 10, with_costs=True)
    assert runner.lp_calls == [("placed",), ("costs", runner.outcomes[0].value)]  # in this order
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[2].bound == max(searched[2].bound,
                                                                                       searched[2].value - 10)
    release = threading.Event()
    monkeypatch.setattr(tier_runner, "placed_upper_bound",
                        lambda problem, families, seconds, solver: None if release.wait(10) else None)
    problem = problem_from_data(generate("medium", 0))
    schedule_model = build_model(problem)
    first = {"num_workers": 1, "use_lns_only": True, "random_seed": 0, "stop_after_first_solution": True}
    waiting = TierRunner(schedule_model, {TIER_PLACED: first, TIER_WISHES: first, TIER_COSTS: first},
                         time.monotonic(), lp_bounds_until=time.monotonic() + 60)
    for tier in (TIER_PLACED, TIER_WISHES, TIER_COSTS):
        waiting.solve_tier(tier, 30.0)
    assert list(waiting.lp_bounds) == [TIER_PLACED]  # the placed LP never ended: no costs LP beside it
    release.set()
    waiting.collect_lp_bounds()


def test_the_placed_relaxation_gives_the_bound_and_the_pairs_a_vertex_uses():
    """The vertex's support is a part of the eligible pairs (the guide's search is smaller than the model); the
    pairs used whole are among them; identical patients merged in the LP share their class's pairs."""
    problem = problem_from_data(generate("medium", 0))
    guide = placed_relaxation(problem, FAMILIES, 30)
    assert guide is not None and guide.bound == placed_upper_bound(problem, FAMILIES, 30)
    eligible = set(build_model(problem).variables.attend)
    assert guide.settled and guide.settled <= guide.support and len(guide.support) < len(eligible) / 2
    assert guide.support <= eligible
    import iop_sched.week_hull as week_hull

    built = week_hull.build_placed_relaxation(problem, FAMILIES, 30)
    lp_model, copies = built.schedule_model, built.copies
    blocks_of_patient = lp_model.eligibility.blocks_of_patient
    merged = [members for members in identical_weeks(problem, blocks_of_patient, True) if copies[members[0]] > 1]
    assert merged
    for members in merged:
        used = {frozenset(b for b in blocks_of_patient[p] if (p, b) in guide.support) for p in members}
        assert len(used) == 1
        assert not any(p in members for p, b in guide.settled)  # their column is the class's: none is whole
    cancelled = RelaxationSolver()
    cancelled.cancel()
    assert placed_relaxation(problem, FAMILIES, 30, cancelled) is None


class CountingSolver(cp_model.CpSolver):
    """Records which model each solve was of (the whole model or a copy of the guide's)."""

    models: list = []
    placed: list = []  # the number each solve placed (None: no schedule)
    linearization: list = []  # the linearization level each solve ran at
    seeds: list = []  # the solver seed each solve ran with
    asks_out_of_time = 0  # this many copies asking for a count end at once without a schedule, as at a time limit
    placed_vars: list = []  # the model's `placed` Booleans (how a copy asking for a count is told)
    time_limits: list = []  # the seconds each solve was given

    @classmethod
    def reset(cls) -> None:
        cls.models, cls.placed, cls.linearization, cls.seeds, cls.time_limits = [], [], [], [], []
        cls.asks_out_of_time, cls.placed_vars = 0, []

    def solve(self, model, *args, **kwargs):
        CountingSolver.models.append(model)
        CountingSolver.linearization.append(self.parameters.linearization_level)
        CountingSolver.seeds.append(self.parameters.random_seed)
        CountingSolver.time_limits.append(self.parameters.max_time_in_seconds)
        if CountingSolver.asks_out_of_time and count_asked_for(model, CountingSolver.placed_vars) is not None:
            CountingSolver.asks_out_of_time -= 1
            CountingSolver.placed.append(None)
            return cp_model.UNKNOWN
        code = super().solve(model, *args, **kwargs)
        found = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        CountingSolver.placed.append(-round(self.objective_value) if found else None)
        return code


def count_asked_for(model: cp_model.CpModel, placed: list) -> Optional[int]:
    """The number placed a model holds at least (a row over exactly the `placed` Booleans), None without one."""
    indices = sorted(var.index for var in placed)
    for constraint in model.proto.constraints:
        linear = constraint.linear
        if sorted(linear.vars) == indices and set(linear.coeffs) == {1} and len(linear.domain) == 2:
            return linear.domain[0]
    return None


def guided_tier_one(monkeypatch, guide_for, lp_seconds: float = 0.0, tier_parameters: Optional[dict] = None,
                    asks_out_of_time: int = 0) -> tuple[TierRunner, list, list]:
    """Tier 1 of small program 0 guided, the LP standing in as `guide_for(optimum, optimal week)` (and the first
    `asks_out_of_time` copies asking for a count ending without a schedule); which models CP-SAT was asked to solve,
    in order, each as (the whole model?, the number placed it holds at least or None), and the progress events."""
    problem = problem_from_data(generate("small", 0))
    parameters = {TIER_PLACED: tier_parameters or {"num_workers": 2, "random_seed": 0}}
    plain = TierRunner(build_model(problem), parameters, time.monotonic())
    plain.solve_tier(TIER_PLACED, 20.0)
    assert plain.outcomes[0].status == "optimal"
    guide = guide_for(plain.outcomes[0].value, plain.best_week())
    monkeypatch.setattr(tier_runner, "build_placed_relaxation", lambda *args, **kwargs: "built")
    monkeypatch.setattr(tier_runner, "solve_placed_relaxation", lambda *args: time.sleep(lp_seconds) or guide)
    monkeypatch.setattr(tier_runner.cp_model, "CpSolver", CountingSolver)
    CountingSolver.reset()
    schedule_model = build_model(problem)
    CountingSolver.placed_vars = schedule_model.variables.placed
    CountingSolver.asks_out_of_time = asks_out_of_time
    hint_empty_schedule(schedule_model)
    runner = TierRunner(schedule_model, parameters, time.monotonic(), lp_bounds_until=time.monotonic() + 60,
                        lp_tiers=(TIER_PLACED,), guided_tiers=(TIER_PLACED,))
    events: list[dict] = []
    runner.solve_tier(TIER_PLACED, 20.0, events.append)
    runner.collect_lp_bounds()
    assert runner.outcomes[0].value == plain.outcomes[0].value  # a guide never costs a patient
    week = runner.best_week()
    assert len(week.placed) == runner.outcomes[0].value
    placed = schedule_model.variables.placed
    return runner, [(model is schedule_model.model, count_asked_for(model, placed))
                    for model in CountingSolver.models], events


def test_a_guide_whose_support_meets_its_bound_proves_tier_one_without_the_whole_search(monkeypatch):
    runner, whole, events = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(week.attend), frozenset(week.attend)))  # every pair used whole: held at 1
    optimum = runner.outcomes[0].value
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[0].bound == optimum
    assert whole == [(False, optimum)]  # the guide's copy asked for the bound only: no copy that maximises, no whole
    assert runner.best_week().attend  # the schedule is the guide's, complete
    # its progress reports the LP's bound, which holds for the whole program, not the copy's own
    assert events and all(event["bound"] == runner.outcomes[0].value for event in events)


def test_while_tier_one_waits_for_its_guide_progress_hears_the_schedule_in_hand(monkeypatch):
    monkeypatch.setattr(tier_runner, "WAITING_REPORT_SECONDS", 0.05)
    runner, whole, events = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(week.attend), frozenset(week.attend)), lp_seconds=0.5)
    waiting = [event for event in events if event["event"] == "waiting"]
    assert len(waiting) >= 3 and all(event["value"] == 0 and event["bound"] is None for event in waiting)  # the hint
    assert [event["elapsed"] for event in waiting] == sorted(event["elapsed"] for event in waiting)
    assert events.index(waiting[-1]) < min(events.index(event) for event in events if event["event"] == "solution")
    monkeypatch.setattr(tier_runner, "WAITING_REPORT_SECONDS", 1.0)
    _, _, quick = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(week.attend), frozenset(week.attend)))
    assert not any(event["event"] == "waiting" for event in quick)  # an LP ready at once: nothing to wait for


def test_a_guide_that_falls_short_of_its_bound_leaves_tier_one_to_the_whole_search(monkeypatch):
    runner, whole, events = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(), frozenset()))                        # no pair at all: nobody placed there
    optimum = runner.outcomes[0].value
    # the copy asked for the bound (none there), then the copy that maximises the count, then the whole model
    assert whole == [(False, optimum), (False, None), (True, None)] and runner.outcomes[0].status == "optimal"
    assert events[0]["value"] == 0 and all(event["bound"] >= optimum for event in events)  # no bound of the copy's


@pytest.mark.parametrize("large", [False, True])
def test_on_large_programs_the_guides_copies_search_at_linearization_level_one(monkeypatch, large):
    """The copies look for a schedule (the LP's bound proves it), so from `GUIDE_LINEARIZATION_PAIRS` on they drop
    CP-SAT's fuller LP; the whole model's search keeps the tier's level, and smaller programs' copies keep it too."""
    monkeypatch.setattr(tier_runner, "GUIDE_LINEARIZATION_PAIRS", 0 if large else 10**9)
    runner, whole, _ = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(), frozenset()), tier_parameters={"num_workers": 2, "random_seed": 0, "linearization_level": 2})
    assert [model_is_whole for model_is_whole, _ in whole] == [False, False, True]
    assert CountingSolver.linearization == ([1, 1, 2] if large else [2, 2, 2])


@pytest.mark.parametrize("large", [False, True])
def test_on_large_programs_an_ask_out_of_time_is_asked_again_with_another_seed(monkeypatch, large):
    """Whether the copy's search finds the bound's schedule in time turns on its seed: on large programs
    (`GUIDE_RETRY_PAIRS`) the same ask comes once more with the next seed; elsewhere the copy that maximises
    follows."""
    monkeypatch.setattr(tier_runner, "GUIDE_RETRY_PAIRS", range(0, 10**9) if large else range(0))
    runner, whole, _ = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(week.attend), frozenset()), asks_out_of_time=1)
    optimum = runner.outcomes[0].value
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[0].bound == optimum
    if large:
        assert whole == [(False, optimum), (False, optimum)]  # asked twice; found at the second: no other search
        assert CountingSolver.seeds == [0, 1]
    else:
        assert whole == [(False, optimum), (False, None)]  # then the copy that maximises found the optimum
        assert CountingSolver.seeds == [0, 0]


@pytest.mark.parametrize("network", [False, True])
def test_on_networks_the_guides_copy_is_not_asked_for_the_bound_and_maximises_for_longer(monkeypatch, network):
    """On networks (`GUIDE_MAXIMISE_ONLY_PAIRS`) no ask has found its bound, and the copy's count climbs faster than
    the whole model's: the copy that maximises searches at once, for `GUIDE_MAXIMISE_ONLY_SHARE` of the tier. It stops
    at the bound, which proves tier 1 as an ask would."""
    monkeypatch.setattr(tier_runner, "GUIDE_MAXIMISE_ONLY_PAIRS", 0 if network else 10**9)
    runner, whole, _ = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum, frozenset(week.attend), frozenset()))
    optimum = runner.outcomes[0].value
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[0].bound == optimum
    if network:
        assert whole == [(False, None)]  # the copy that maximises met the bound: no ask, no whole search
        share = tier_runner.GUIDE_MAXIMISE_ONLY_SHARE
    else:
        assert whole == [(False, optimum)]
        share = tier_runner.GUIDE_SEARCH_SHARE
    assert share * 20.0 - 1.0 < CountingSolver.time_limits[0] <= share * 20.0  # of the tier's 20 s


def test_a_guide_holding_pairs_no_schedule_can_use_is_searched_again_with_none_held(monkeypatch):
    eligible = list(build_model(problem_from_data(generate("small", 0))).variables.attend)
    busiest = max({p for p, _ in eligible}, key=lambda p: sum(1 for q, _ in eligible if q == p))
    every_group = frozenset((p, b) for p, b in eligible if p == busiest)  # held all at once: overlaps, too many hours

    def guide_for(optimum, week):
        return PlacedRelaxation(optimum, frozenset(week.attend) | every_group, every_group)

    runner, whole, events = guided_tier_one(monkeypatch, guide_for)
    optimum = runner.outcomes[0].value
    # asked for the bound, then maximised, with the pairs held (both infeasible), then with none: no whole search
    assert whole == [(False, optimum), (False, None), (False, None)]
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[0].bound == runner.outcomes[0].value


def test_a_guide_whose_bound_no_schedule_reaches_searches_its_copy_for_the_most_it_can_place(monkeypatch):
    """An LP bound above the optimum (a relaxation's): no schedule of the copy places it, so the copy that maximises
    the count gives the whole search its start, and that search proves the optimum by itself."""
    runner, whole, events = guided_tier_one(monkeypatch, lambda optimum, week: PlacedRelaxation(
        optimum + 1, frozenset(week.attend), frozenset()))
    optimum = runner.outcomes[0].value
    assert whole == [(False, optimum + 1), (False, None), (True, None)]
    assert runner.outcomes[0].status == "optimal" and runner.outcomes[0].bound == optimum
    assert CountingSolver.placed[1] == optimum  # the copy that maximises found it: the whole search started there


def test_the_wishes_support_is_among_the_eligible_pairs_and_needs_the_wishes_rules():
    from iop_sched.constraints import wishes

    problem = problem_from_data(generate("small", 0))
    eligible = set(build_model(problem).variables.attend)
    support = wishes_support(problem, FAMILIES, 20, 30)
    assert support and support <= eligible and len(support) < len(eligible)
    assert wishes_support(problem, tuple(f for f in FAMILIES if f is not wishes.add), 20, 30) is None


def wishes_after_first_schedules(monkeypatch, support_for) -> tuple[TierRunner, list, list]:
    """Tiers 1 and 2 of small program 0 guided and no LP on patients placed, each search stopped at its
    first schedule; the wishes LP standing in as `support_for(placed_at_least)`. Returns the runner, which models
    CP-SAT solved ("whole" or "copy") and the wishes value of each copy's search."""
    problem = problem_from_data(generate("small", 0))
    schedule_model = build_model(problem)
    hint_empty_schedule(schedule_model)
    hint_first_come_first_served(problem, schedule_model, FAMILIES)
    monkeypatch.setattr(tier_runner, "wishes_support", lambda problem, families, placed, seconds: support_for(placed))
    monkeypatch.setattr(tier_runner.cp_model, "CpSolver", CountingSolver)
    CountingSolver.reset()
    copies: list[int] = []
    original = TierRunner._search_copy

    def recording(self, searcher, tier, allowed, held, seconds, callback=None):
        CountingSolver.models.append("copy")
        code = original(self, searcher, tier, allowed, held, seconds, callback)
        if tier == TIER_WISHES and code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            copies.append(int(searcher.value(self.schedule_model.tier_expression(TIER_WISHES))))
        return code

    monkeypatch.setattr(TierRunner, "_search_copy", recording)
    first = {"num_workers": 1, "random_seed": 0, "stop_after_first_solution": True}
    runner = TierRunner(schedule_model, {TIER_PLACED: first, TIER_WISHES: first}, time.monotonic(),
                        guided_tiers=(TIER_PLACED, TIER_WISHES))
    runner.solve_tier(TIER_PLACED, 20.0)
    runner.solve_tier(TIER_WISHES, 20.0)
    # the whole model's searches and the copies' (the floor's and the moves' own small models left out)
    searched = ["copy" if model == "copy" else "whole" for model in CountingSolver.models
                if model == "copy" or model is schedule_model.model]
    return runner, searched, copies


def test_the_wishes_tier_starts_from_its_lps_pairs_when_that_costs_less(monkeypatch):
    asked: list[int] = []

    def real_support(placed):
        asked.append(placed)
        return wishes_support(problem_from_data(generate("small", 0)), FAMILIES, placed, 30)

    runner, whole, copies = wishes_after_first_schedules(monkeypatch, real_support)
    assert asked == [runner.outcomes[0].value]          # the LP holds the number tier 1 placed
    assert whole == ["whole", "copy", "whole"] and copies  # tier 1, the copy, then the whole model from it
    assert runner.outcomes[1].value <= copies[0]         # its first schedule is the copy's (or better)


def test_the_wishes_tier_without_a_support_searches_only_the_whole_model(monkeypatch):
    runner, whole, copies = wishes_after_first_schedules(monkeypatch, lambda placed: None)
    assert whole == ["whole", "whole"] and not copies
    assert runner.outcomes[1].value is not None


@pytest.mark.parametrize("lp_beside", [False, True])
def test_tier_one_takes_the_parameters_for_a_search_without_an_lp_only_when_none_runs_beside_it(monkeypatch, lp_beside):
    """On networks in a run too short for the LP on patients placed nothing proves tier 1's count, and its search takes
    `placed_without_lp` on top of its parameters (`solve.UNBOUNDED_NETWORK_PLACED`); with the LP beside it, not."""
    given: list[dict] = []
    apply_parameters = tier_runner.apply_parameters

    def recording(solver, parameters):
        given.append(dict(parameters))
        apply_parameters(solver, parameters)

    monkeypatch.setattr(tier_runner, "apply_parameters", recording)
    monkeypatch.setattr(tier_runner, "placed_upper_bound", lambda problem, families, seconds, solver: None)
    schedule_model = build_model(problem_from_data(generate("small", 0)))
    hint_empty_schedule(schedule_model)
    own = {"num_workers": 2, "random_seed": 0}
    unbounded = {"use_lns_only": True}
    runner = TierRunner(schedule_model, {TIER_PLACED: own}, time.monotonic(), placed_without_lp=unbounded,
                        lp_bounds_until=time.monotonic() + 60 if lp_beside else None)
    runner.solve_tier(TIER_PLACED, 10.0)
    runner.collect_lp_bounds()
    assert own in given and runner.outcomes[0].value is not None
    assert (unbounded in given) == runner.placed_without_lp_used == (not lp_beside)
