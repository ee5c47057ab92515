"""The solve's contract: tiers in order, honest statistics, progress reports, parameter checks."""

from __future__ import annotations

import pytest

from benchmarks.generate import generate
from iop_sched import problem_from_data, solve
from iop_sched.greedy import first_come_first_served
from programs import build, patient, program_dict, solve_checked, three_evenings


def small() -> dict:
    return program_dict(blocks=three_evenings(min_size=2), patients=[patient(f"P{i}") for i in range(4)])


def test_statistics_report_every_tier_and_the_parameters():
    schedule = solve_checked(small(), seed=3)
    stats = schedule.stats
    assert [t["tier"] for t in stats["tiers"]] == [1, 2, 3]
    assert stats["tiers"][0]["value"] == stats["placed"] == 4 == stats["placed_bound"]
    assert schedule.status == "optimal" and all(t["status"] == "optimal" for t in stats["tiers"])
    tier_one = stats["parameters"]["tiers"]["1"]
    assert tier_one["random_seed"] == 3 and tier_one["linearization_level"] == 2 and tier_one["num_workers"] == 2
    assert solve(build(small()), workers=5, time_limit=20).stats["parameters"]["tiers"]["3"]["num_workers"] == 5
    assert stats["open_blocks"] == len(schedule.open_blocks)


def test_progress_reports_solutions_and_bounds_per_tier():
    updates: list[dict] = []
    schedule = solve_checked(small(), progress=updates.append)
    assert {u["tier"] for u in updates} == {1, 2, 3}
    placed_solutions = [u["value"] for u in updates if u["tier"] == 1 and u["event"] == "solution"]
    assert placed_solutions[-1] == schedule.placed
    assert all(u["elapsed"] >= 0 for u in updates)


@pytest.mark.parametrize("options", [{"time_limit": 0}, {"workers": 0}])
def test_bad_solver_options_are_refused(options):
    with pytest.raises(ValueError):
        solve(build(small()), **options)


def test_empty_program_is_solved():
    schedule = solve_checked(program_dict(blocks=[], patients=[]))
    assert schedule.placed == 0 and schedule.status == "optimal"


def test_summary_and_frames_agree_with_the_schedule():
    schedule = solve_checked(small())
    assert "placed 4 of 4" in schedule.summary()
    assert len(schedule.assignments()) == sum(len(w.blocks) for w in schedule.patients)
    assert schedule.patients_frame()["placed"].sum() == 4
    frame = schedule.blocks_frame()
    assert frame["open"].sum() == len(schedule.open_blocks)
    assert schedule.clinicians_frame()["hours"].sum() == pytest.approx(schedule.stats["clinician_hours"])


def test_no_schedule_in_time_returns_the_first_come_first_served_week():
    # stop_after_presolve: CP-SAT returns no schedule at all, deterministically (as a too short time
    # limit does on a large program). The warm start is a valid week and is returned, marked as such.
    data = generate("small", 0)
    problem = problem_from_data(data)
    fcfs = first_come_first_served(problem, explain=False)
    schedule = solve_checked(data, extra_parameters={"stop_after_presolve": True})
    assert schedule.stats["schedule_from"] == "first_come_first_served" and schedule.status == "feasible"
    assert schedule.placed == fcfs["stats"]["placed"] > 0
    assert "first-come-first-served week" in schedule.summary()
    without_warm_start = solve_checked(data, extra_parameters={"stop_after_presolve": True}, warm_start=False)
    assert without_warm_start.status == "unknown" and without_warm_start.placed == 0


def test_parameters_are_chosen_per_size_and_reported():
    from iop_sched.solve import LARGE_PROGRAM_PAIRS, TIER_PLACED, TIER_WISHES, tier_parameters

    small_program = tier_parameters(TIER_PLACED, None, 0, False, None, eligible_pairs=100)
    network = tier_parameters(TIER_PLACED, None, 0, False, None, eligible_pairs=LARGE_PROGRAM_PAIRS)
    assert "max_presolve_iterations" not in small_program and network["max_presolve_iterations"] == 1
    assert tier_parameters(TIER_WISHES, None, 0, False, None, LARGE_PROGRAM_PAIRS)["max_presolve_iterations"] == 1
    assert "max_presolve_iterations" not in tier_parameters(TIER_PLACED, None, 0, False, None, LARGE_PROGRAM_PAIRS - 1)
    assert "max_presolve_iterations" not in tier_parameters(TIER_PLACED, 4, 0, False, None, LARGE_PROGRAM_PAIRS)
    overridden = tier_parameters(TIER_PLACED, None, 0, False, {"max_presolve_iterations": 3}, LARGE_PROGRAM_PAIRS)
    assert overridden["max_presolve_iterations"] == 3
    stats = solve_checked(small()).stats
    assert "max_presolve_iterations" not in stats["parameters"]["tiers"]["1"]


def test_large_programs_search_the_lower_tiers_with_lns_on_both_workers():
    from iop_sched.solve import LOWER_TIERS_LNS_PAIRS, TIER_COSTS, TIER_PLACED, TIER_WISHES, tier_parameters

    for tier in (TIER_WISHES, TIER_COSTS):
        large = tier_parameters(tier, None, 0, False, None, LOWER_TIERS_LNS_PAIRS)
        assert large["use_lns_only"] is True and large["max_presolve_iterations"] == 1  # presolve took their seconds
        medium = tier_parameters(tier, None, 0, False, None, LOWER_TIERS_LNS_PAIRS - 1)
        assert "use_lns_only" not in medium and "max_presolve_iterations" not in medium
        assert "use_lns_only" not in tier_parameters(tier, 2, 0, False, None, LOWER_TIERS_LNS_PAIRS)  # caller's workers
    assert "use_lns_only" not in tier_parameters(TIER_PLACED, None, 0, False, None, LOWER_TIERS_LNS_PAIRS)  # tier 1 needs its bound



def test_write_from_the_api_leaves_the_problem_a_re_plan_starts_from(tmp_path):
    from iop_sched import load_problem

    from iop_sched.schema import Window

    problem = build(small())
    problem.patients[0].prefer.append(Window(days=["mon"], start="17:00", end="22:00"))  # a default list, edited
    solve_checked(problem).write(tmp_path / "out")
    assert load_problem(tmp_path / "out" / "problem.json") == problem


def test_a_ratio_beyond_any_integer_the_solver_holds_is_a_ratio_that_never_binds():
    data = small()
    data["program"]["rules"]["max_patients_per_clinician"] = 10**20
    assert solve_checked(data).placed == 4


def test_tier_one_takes_a_larger_share_below_networks():
    from iop_sched.solve import LARGE_PROGRAM_PAIRS, PLACED_SHARE, TIER_BUDGET_SHARE, tier_share
    from iop_sched.constraints.base import TIER_PLACED, TIER_WISHES

    assert tier_share(TIER_PLACED, LARGE_PROGRAM_PAIRS - 1) == PLACED_SHARE
    assert tier_share(TIER_PLACED, LARGE_PROGRAM_PAIRS) == TIER_BUDGET_SHARE[TIER_PLACED]
    assert PLACED_SHARE != TIER_BUDGET_SHARE[TIER_PLACED]
    assert tier_share(TIER_WISHES, 10) == tier_share(TIER_WISHES, LARGE_PROGRAM_PAIRS) == TIER_BUDGET_SHARE[TIER_WISHES]


def test_on_networks_tier_one_searches_by_lns_alone_where_no_lp_bounds_it_unless_the_caller_chose():
    from iop_sched.solve import LARGE_PROGRAM_PAIRS, UNBOUNDED_NETWORK_PLACED, unbounded_placed_parameters

    assert UNBOUNDED_NETWORK_PLACED["use_lns_only"] is True
    assert unbounded_placed_parameters(None, LARGE_PROGRAM_PAIRS, None) == UNBOUNDED_NETWORK_PLACED
    assert unbounded_placed_parameters(None, LARGE_PROGRAM_PAIRS - 1, None) == {}  # large programs keep the full worker
    assert unbounded_placed_parameters(2, LARGE_PROGRAM_PAIRS, None) == {}  # the caller's own portfolio
    assert unbounded_placed_parameters(None, LARGE_PROGRAM_PAIRS, {"use_lns_only": False}) == {}  # the caller's say


def test_on_networks_tier_one_leaves_more_only_when_the_costs_lp_can_use_it():
    """A network's tier 1 leaves the costs tier's LP its seconds; in a budget too short for that LP (the CLI's 30 s)
    nothing would use them, and tier 1 takes the share it has on smaller programs."""
    from iop_sched.solve import (COSTS_BOUND_PAIRS, LARGE_PROGRAM_PAIRS, PLACED_SHARE, TIER_BUDGET_SHARE,
                                 costs_lp_fits, tier_share)
    from iop_sched.constraints.base import TIER_COSTS, TIER_PLACED, TIER_WISHES
    from iop_sched.tier_runner import lp_seconds_needed

    network = LARGE_PROGRAM_PAIRS + 17_000  # network program 0's size
    needed = lp_seconds_needed(network, TIER_COSTS)
    enough = needed / (1 - TIER_BUDGET_SHARE[TIER_PLACED])
    assert costs_lp_fits(network, enough) and not costs_lp_fits(network, 0.99 * enough)
    assert enough <= 120.0 and tier_share(TIER_PLACED, network, 120.0) == TIER_BUDGET_SHARE[TIER_PLACED]
    assert tier_share(TIER_PLACED, network, 30.0) == PLACED_SHARE
    assert tier_share(TIER_PLACED, network, 0.0) == PLACED_SHARE  # no LP at all (independent parts)
    assert tier_share(TIER_PLACED, COSTS_BOUND_PAIRS.stop) == PLACED_SHARE  # no costs LP at that size
    assert tier_share(TIER_WISHES, network, 30.0) == TIER_BUDGET_SHARE[TIER_WISHES]


def test_each_tier_is_given_its_share_of_the_time_left(monkeypatch):
    from iop_sched import tier_runner
    from iop_sched.solve import PLACED_SHARE, solve_model, tier_share

    given: dict[int, float] = {}
    solve_tier = tier_runner.TierRunner.solve_tier

    def recording(self, tier, seconds, progress=None):
        given[tier] = seconds
        solve_tier(self, tier, seconds, progress)

    monkeypatch.setattr(tier_runner.TierRunner, "solve_tier", recording)
    limit = 40.0
    solve_model(build(small()), time_limit=limit, decompose=False)
    # tier 1 proves this program at once: what it was given is the share, not what it used
    assert limit * PLACED_SHARE * 0.95 < given[1] <= limit * PLACED_SHARE
    assert given[2] <= limit * tier_share(2, 10) < given[3]  # the last tier has all that is left


def test_a_hinted_week_is_completed_only_when_it_keeps_every_rule():
    """CP-SAT starts from a hint only when it is complete: `complete_hint` adds a week's days, tracks and load to it.
    A week that breaks a rule is left as it was hinted."""
    from iop_sched.model import FAMILIES, build_model
    from iop_sched.tier_runner import complete_hint, hint_first_come_first_served

    problem = problem_from_data(generate("small", 0))
    schedule_model = build_model(problem)
    model, attend = schedule_model.model, schedule_model.variables.attend
    week = hint_first_come_first_served(problem, schedule_model, FAMILIES)
    assert len(model.proto.solution_hint.vars) < len(model.proto.variables)  # the week's own variables only
    assert complete_hint(model, {"num_workers": 2, "random_seed": 0}, 10.0) is not None
    hint = dict(zip(model.proto.solution_hint.vars, model.proto.solution_hint.values))
    assert len(hint) == len(model.proto.variables)  # every variable, auxiliary ones too
    assert {key for key, var in attend.items() if hint[var.index]} == set(week.attend)  # the same week

    model.clear_hints()
    for var in attend.values():  # every patient in every group they can reach: overlaps, too many hours
        model.add_hint(var, 1)
    before = list(model.proto.solution_hint.vars), list(model.proto.solution_hint.values)
    assert complete_hint(model, {"num_workers": 2, "random_seed": 0}, 10.0) is None
    assert (list(model.proto.solution_hint.vars), list(model.proto.solution_hint.values)) == before


def test_the_first_tier_starts_from_the_first_come_first_served_week_completed(monkeypatch):
    from iop_sched import tier_runner
    from iop_sched.solve import solve_model

    complete: list[bool] = []  # per tier: whether the model's hint held every variable when the tier started
    solve_tier = tier_runner.TierRunner.solve_tier

    def recording(self, tier, seconds, progress=None):
        proto = self.schedule_model.model.proto
        complete.append(len(set(proto.solution_hint.vars)) == len(proto.variables))
        solve_tier(self, tier, seconds, progress)

    monkeypatch.setattr(tier_runner.TierRunner, "solve_tier", recording)
    problem = problem_from_data(generate("small", 0))
    solve_model(problem, time_limit=20, tiers=[1], decompose=False)
    assert complete == [True]
    complete.clear()
    solve_model(problem, time_limit=20, tiers=[1], decompose=False, warm_start=False)
    assert complete == [False]  # no week to start from: the empty schedule is hinted, not completed
