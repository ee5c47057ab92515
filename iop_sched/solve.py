"""Solve the tiers in order: patients placed, then wishes, then costs.

Lexicographic by fixing: after each tier the best value found is added as a
constraint and the next tier is optimised with the previous solution as a hint,
so a lower tier can never buy anything with a placement (tier 1 is never traded).

Solver parameters are pinned per tier (`TIER_PORTFOLIO`, reported in
`Schedule.stats["parameters"]`, measured in benchmarks/RESULTS.md):
- CP-SAT's default portfolio with 2 workers (one per core here) drops the LP-based
  workers, and the bound on patients placed never leaves its initial value; with
  8 workers on 2 cores each worker gets a quarter of a core. Three workers with the
  full-problem subsolvers default_lp and quick_restart (CP-SAT gives the third worker
  to its LNS neighbourhoods, which find the improving schedules) and
  `linearization_level` 2 prove the number placed on medium programs 2-3x sooner
  than either. max_lp and core were measured too and did not help (see RESULTS.md);
  note that CP-SAT silently keeps only as many listed subsolvers as it has full
  workers, so the list names exactly the ones that run (checked in the solver log).
- Per size: on multi-site networks (`LARGE_PROGRAM_PAIRS` eligible pairs or more) tier 1
  presolves once instead of three rounds (`LARGE_PROGRAM_TIER1`): presolve alone took ~8 s.
- Passing `workers=N` replaces the pinned portfolios by CP-SAT's own portfolio of N
  workers; `extra_parameters` override any parameter in every tier.
- `random_seed` fixed (0) by default; `time_limit` is the whole budget over all tiers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from ortools.sat.python import cp_model

from .constraints import continuity, pins, symmetry
from .constraints.base import TIER_PINS
from .decompose import Part, independent_parts, part_problem
from .model import (FAMILIES, MAXIMISED_TIERS, REPLANNING_TIERS, TIER_CHANGES, TIER_COSTS, TIER_KEEP, TIER_PLACED,
                    TIER_WISHES, TIERS, ConstraintFamily, ScheduleModel, build_model)
from .schema import Problem

if TYPE_CHECKING:
    from .result import Schedule

DEFAULT_TIME_LIMIT = 30.0
DEFAULT_WORKERS: Optional[int] = None  # None: the pinned portfolios of TIER_PORTFOLIO
#: CP-SAT parameters per tier when the caller does not choose the workers.
_PORTFOLIO = {"num_workers": 3, "subsolvers": ["default_lp", "quick_restart"], "linearization_level": 2}
TIER_PORTFOLIO: dict[int, dict] = {TIER_PLACED: _PORTFOLIO, TIER_WISHES: _PORTFOLIO, TIER_COSTS: _PORTFOLIO}
TIER_PORTFOLIO[TIER_KEEP] = TIER_PORTFOLIO[TIER_PINS] = TIER_PORTFOLIO[TIER_PLACED]
TIER_PORTFOLIO[TIER_CHANGES] = TIER_PORTFOLIO[TIER_WISHES]
#: Per size: from this many eligible (patient, block) pairs on (multi-site networks: ~47,000-53,000 in
#: the benchmark's network programs, ~13,000-16,000 in large ones), CP-SAT's presolve takes ~8 s of tier 1,
#: and one presolve round instead of three placed more (network, 3 seeds: 1249/1261/1280 against
#: 1236-1244/1242-1248/1277-1280) with peak memory 1.3-1.7 GB. Large programs gained nothing, so stay as they are.
LARGE_PROGRAM_PAIRS = 30_000
LARGE_PROGRAM_TIER1 = {"max_presolve_iterations": 1}
#: Share of the remaining budget a tier may use when later tiers still wait.
TIER_BUDGET_SHARE = {TIER_PINS: 0.2, TIER_KEEP: 0.3, TIER_PLACED: 0.6, TIER_CHANGES: 0.5, TIER_WISHES: 0.5, TIER_COSTS: 1.0}

#: Tiers that are sums over patients and blocks, so each independent part can be optimised on its own
#: (the costs tier weighs the busiest clinician of the whole program; the re-planning tiers are not split).
SEPARABLE_TIERS = (TIER_PLACED, TIER_WISHES)

Progress = Callable[[dict], None]


@dataclass
class TierOutcome:
    """How one tier's solve ended."""

    tier: int
    status: str          # "optimal", "feasible", "unknown", "infeasible"
    value: Optional[int]  # the tier's quantity (tier 1: patients placed)
    bound: Optional[int]  # proven bound on that quantity
    seconds: float


@dataclass
class SolveOutcome:
    """Raw solver result: chosen values per variable and per-tier statistics."""

    schedule_model: ScheduleModel
    attend: dict[tuple[int, int], bool] = field(default_factory=dict)
    staff: dict[tuple[int, int], bool] = field(default_factory=dict)
    placed: list[bool] = field(default_factory=list)
    tiers: list[TierOutcome] = field(default_factory=list)
    seconds: float = 0.0
    parameters: dict = field(default_factory=dict)
    found: bool = False
    previous: Optional["continuity.PreviousSchedule"] = None
    #: "first_come_first_served" when the solver found no schedule in time and the warm start is returned
    fallback: Optional[str] = None

    @property
    def status(self) -> str:
        """optimal only when every tier is proven; feasible with any schedule; unknown without one."""
        if not self.found:
            return "unknown"
        if self.tiers and all(t.status == "optimal" for t in self.tiers):
            return "optimal"
        return "feasible"


_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "invalid",
    cp_model.UNKNOWN: "unknown",
}


class _ProgressReporter(cp_model.CpSolverSolutionCallback):
    """Reports each improving solution and each better bound of a tier to a caller's function.

    Values are in the tier's own terms: patients placed for tier 1 (a maximum, so
    the bound is an upper bound), the tier's cost for tiers 2 and 3 (a lower bound).
    """

    def __init__(self, tier: int, progress: Progress, started: float):
        super().__init__()
        self._tier, self._progress, self._started = tier, progress, started
        self._sign = -1 if tier in MAXIMISED_TIERS else 1
        self._value: Optional[float] = None
        self._bound: Optional[float] = None

    def _report(self, event: str) -> None:
        self._progress({"tier": self._tier, "event": event, "value": self._value, "bound": self._bound,
                        "elapsed": time.monotonic() - self._started})

    def on_solution_callback(self) -> None:
        self._value = self._sign * self.objective_value
        self._bound = self._sign * self.best_objective_bound
        self._report("solution")

    def on_bound(self, bound: float) -> None:
        self._bound = self._sign * bound
        self._report("bound")


def _hint_complete_solution(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    """Hint every variable (auxiliary ones too) so the next tier starts from a complete, feasible schedule."""
    solution = solver.response_proto.solution
    model.clear_hints()
    for index, value in enumerate(solution):
        model.add_hint(model.get_int_var_from_proto_index(index), value)


def tier_parameters(tier: int, workers: Optional[int], seed: int, log: bool, extra: Optional[dict],
                    eligible_pairs: int = 0) -> dict:
    """The CP-SAT parameters one tier runs with (its time limit is set separately, from the budget).

    `eligible_pairs` (patient, block) sizes the program: from `LARGE_PROGRAM_PAIRS` on, tier 1
    also takes `LARGE_PROGRAM_TIER1`.
    """
    parameters: dict = {"random_seed": int(seed), "log_search_progress": bool(log)}
    if workers is None:
        parameters.update(TIER_PORTFOLIO[tier])
        if tier == TIER_PLACED and eligible_pairs >= LARGE_PROGRAM_PAIRS:
            parameters.update(LARGE_PROGRAM_TIER1)
    else:
        parameters["num_workers"] = int(workers)
    parameters.update(extra or {})
    return parameters


def _apply_parameters(solver: cp_model.CpSolver, parameters: dict) -> None:
    for name, value in parameters.items():
        if isinstance(value, (list, tuple)):
            field_values = getattr(solver.parameters, name)
            field_values.clear()
            field_values.extend(value)
        else:
            setattr(solver.parameters, name, value)


def _leading_separable(tiers: Sequence[int]) -> tuple[int, ...]:
    """The tiers at the head of `tiers` that parts can solve on their own."""
    leading: list[int] = []
    for tier in tiers:
        if tier not in SEPARABLE_TIERS:
            break
        leading.append(tier)
    return tuple(leading)


def _internal(tier: TierOutcome) -> int:
    """A tier's value as the model minimises it (tiers that count up are minimised as minus the count)."""
    return -(tier.value or 0) if tier.tier in MAXIMISED_TIERS else (tier.value or 0)


@dataclass
class _Assignment:
    """A whole-program week put together from the parts' weeks, in the whole problem's positions."""

    attend: set[tuple[int, int]] = field(default_factory=set)
    staff: set[tuple[int, int]] = field(default_factory=set)
    placed: set[int] = field(default_factory=set)
    found: bool = False

    def hint(self, model: cp_model.CpModel, variables, eligibility) -> None:
        """Hint the week on the whole model, open groups included (a group is open when it has members)."""
        model.clear_hints()
        for key, var in variables.attend.items():
            model.add_hint(var, int(key in self.attend))
        for key, var in variables.staff.items():
            model.add_hint(var, int(key in self.staff))
        for p, var in enumerate(variables.placed):
            model.add_hint(var, int(p in self.placed))
        has_members = {b for _, b in self.attend}
        for b, var in enumerate(variables.open):
            model.add_hint(var, int(b in has_members))


def _complete_the_hint(model: cp_model.CpModel, parameters: dict, seconds: float) -> Optional[cp_model.CpSolver]:
    """Complete the parts' week on the whole model: its auxiliary variables (days, tracks, load) too.

    A solve with every hinted variable fixed to its hint, so the next tier starts from a
    complete schedule as it does after a tier of its own (measured: with the week hinted
    alone, the costs tier ended 4 % higher). None when it does not finish in time.
    """
    solver = cp_model.CpSolver()
    _apply_parameters(solver, parameters)
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_time_in_seconds = seconds
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    _hint_complete_solution(model, solver)
    return solver


def _solve_parts(problem: Problem, parts: list[Part], split: tuple[int, ...], tiers: Sequence[int],
                 deadline: float, outcome: SolveOutcome, options: dict, progress: Optional[Progress],
                 started: float) -> _Assignment:
    """Solve the `split` tiers part after part; record the summed tier outcomes in `outcome`.

    Each part's time is in proportion to its eligible pairs, and within it each tier keeps to
    its share as on the whole model. A part's values add up: its patients placed and its
    wishes' cost are its own, and so are its bounds, so the sums are the program's.
    """
    more_tiers_follow = any(t not in split for t in tiers)
    total = max(0.05, deadline - time.monotonic())
    eligibility = outcome.schedule_model.eligibility
    weights = [1 + sum(len(eligibility.blocks_of_patient[p]) for p in part.patients) for part in parts]
    merged = _Assignment()
    done: dict[int, list[TierOutcome]] = {}
    described = []
    for k, part in enumerate(parts):
        # Each part keeps to its share of the time, tier by tier as on the whole model, and what it leaves
        # (a tier proven early) goes to the later tiers; with none, to the parts after it.
        if more_tiers_follow:
            budget = max(0.05, total * weights[k] / sum(weights))
        else:
            budget = max(0.05, (deadline - time.monotonic()) * weights[k] / sum(weights[k:]))
        report = _part_progress(progress, k, parts, done, started) if progress else None
        result = solve_model(part_problem(problem, part), time_limit=budget, progress=report, tiers=split,
                             decompose=False, more_tiers_follow=more_tiers_follow, **options)
        done[k] = result.tiers
        merged.found = merged.found or result.found
        if result.fallback is not None:
            outcome.fallback = result.fallback
        merged.attend |= {(part.patients[p], part.blocks[b]) for (p, b), on in result.attend.items() if on}
        merged.staff |= {(c, part.blocks[b]) for (c, b), on in result.staff.items() if on}
        merged.placed |= {part.patients[p] for p, on in enumerate(result.placed) if on}
        described.append({"patients": len(part.patients), "blocks": len(part.blocks), "tiers": result.parameters["tiers"]})
    for tier in split:
        outcomes = [next((t for t in done[k] if t.tier == tier), None) for k in range(len(parts))]
        statuses = {t.status if t is not None and t.value is not None else "unknown" for t in outcomes}
        status = "optimal" if statuses == {"optimal"} else "feasible" if statuses <= {"optimal", "feasible"} else "unknown"
        bounds = [t.bound if t is not None else None for t in outcomes]
        outcome.tiers.append(TierOutcome(
            tier, status, sum((t.value or 0) if t is not None else 0 for t in outcomes),  # a part without a week: empty, 0
            None if None in bounds else sum(bounds), sum(t.seconds for t in outcomes if t is not None)))
    outcome.parameters["independent_parts"] = {"tiers_per_part": list(split), "parts": described}
    return merged


def _part_progress(progress: Progress, k: int, parts: list[Part], done: dict[int, list[TierOutcome]],
                   started: float) -> Progress:
    """Report a part's progress as the whole program's: the parts done so far plus this one.

    The bound adds the parts not solved yet at their trivial bounds (all their patients placed;
    no cost), so it stays a bound on the whole program.
    """
    def report(update: dict) -> None:
        tier = update["tier"]
        finished = [next((t for t in done[j] if t.tier == tier), None) for j in range(k)]
        value = sum((t.value or 0) for t in finished if t is not None)
        bound = sum((t.bound if t.bound is not None else (len(parts[j].patients) if tier in MAXIMISED_TIERS else 0))
                    for j, t in enumerate(finished) if t is not None)
        if tier in MAXIMISED_TIERS:
            bound += sum(len(part.patients) for part in parts[k + 1:])
        progress({**update, "part": f"{k + 1}/{len(parts)}",
                  "value": None if update["value"] is None else value + update["value"],
                  "bound": None if update["bound"] is None else bound + update["bound"],
                  "elapsed": time.monotonic() - started})
    return report


def solve_model(
    problem: Problem,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: Optional[int] = DEFAULT_WORKERS,
    seed: int = 0,
    log: bool = False,
    progress: Optional[Progress] = None,
    extra_parameters: Optional[dict] = None,
    families: Sequence[ConstraintFamily] = FAMILIES,
    tiers: Optional[Sequence[int]] = None,
    previous: Optional[dict] = None,
    warm_start: bool = True,
    decompose: bool = True,
    more_tiers_follow: bool = False,
) -> SolveOutcome:
    """Build and solve the model tier by tier within `time_limit` seconds in all.

    `tiers`: which tiers, in order (default: all). `previous`: a previous schedule
    document to re-plan from (adds the keep and changes tiers, hints the solver).
    `warm_start`: start the search from the first-come-first-served schedule.
    `decompose`: when the program falls into independent parts (`iop_sched.decompose`),
    solve the leading separable tiers part by part (not with pins or a previous schedule).
    `more_tiers_follow`: the caller solves further tiers afterwards, so the last tier here
    keeps to its share of the time (a part's solve).
    """
    if time_limit <= 0:
        raise ValueError("time_limit must be positive (seconds)")
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    started = time.monotonic()
    earlier = None
    if previous is not None:
        earlier = continuity.PreviousSchedule.resolve(problem, previous)
        # twins with different histories are no longer interchangeable
        families = tuple(f for f in families if f is not symmetry.add) + (continuity.family(earlier),)
    has_pins = any(pins.pinned_pairs(problem))
    if has_pins:
        families = tuple(families) + (pins.add,)
    if tiers is None:
        tiers = REPLANNING_TIERS if previous is not None else TIERS
        if has_pins:
            tiers = (TIER_PINS,) + tuple(tiers)
    schedule_model = build_model(problem, families)
    model = schedule_model.model
    variables = schedule_model.variables
    outcome = SolveOutcome(schedule_model)
    outcome.previous = earlier
    per_tier = {tier: tier_parameters(tier, workers, seed, log, extra_parameters, len(variables.attend))
                for tier in tiers}
    outcome.parameters = {"time_limit": float(time_limit), "tiers": {str(t): p for t, p in per_tier.items()}}

    deadline = started + time_limit
    split = _leading_separable(tiers) if decompose and earlier is None and not has_pins else ()
    parts = independent_parts(problem, schedule_model.eligibility) if split else []
    merged: Optional[_Assignment] = None
    if len(parts) > 1:
        merged = _solve_parts(problem, parts, split, tiers, deadline, outcome,
                              dict(workers=workers, seed=seed, log=log, extra_parameters=extra_parameters,
                                   families=families, warm_start=warm_start), progress, started)
        for tier in split:  # the later tiers keep each part's totals (lexicographic by fixing, as below)
            model.add(schedule_model.tier_expression(tier) <= _internal(outcome.tiers[tiers.index(tier)]))
        tiers = tuple(tiers[len(split):])
    # The empty schedule is always feasible: hint it so every tier starts from a schedule
    # (when re-planning, the previous schedule as far as it still fits).
    for var in list(variables.attend.values()) + list(variables.staff.values()) + variables.open + variables.placed:
        model.add_hint(var, 0)
    if earlier is not None:
        continuity.hint_previous(model, variables, earlier)
    best: Optional[cp_model.CpSolver] = None  # the solver holding the latest complete schedule
    if merged is not None:
        merged.hint(model, variables, schedule_model.eligibility)
        if tiers and merged.found:
            best = _complete_the_hint(model, per_tier[tiers[0]], max(0.05, 0.1 * (deadline - time.monotonic())))
    start: Optional[continuity.PreviousSchedule] = None
    if earlier is None and warm_start and merged is None:
        # A fast first stage: the first-come-first-served week, twins in list order (see symmetry).
        from .greedy import first_come_first_served

        start = continuity.PreviousSchedule.resolve(problem, first_come_first_served(problem, explain=False))
        if symmetry.add in families:
            start = continuity.in_twin_order(start, symmetry.twin_classes(problem, schedule_model.eligibility))
        continuity.hint_previous(model, variables, start)

    for tier in tiers:
        expression = schedule_model.tier_expression(tier)
        model.minimize(expression)
        remaining = max(0.05, deadline - time.monotonic())
        last = tier == tiers[-1] and not more_tiers_follow
        budget = remaining if last else max(0.05, remaining * TIER_BUDGET_SHARE[tier])
        solver = cp_model.CpSolver()
        _apply_parameters(solver, per_tier[tier])
        solver.parameters.max_time_in_seconds = budget
        tier_started = time.monotonic()
        callback = _ProgressReporter(tier, progress, started) if progress else None
        if callback is not None:
            solver.best_bound_callback = callback.on_bound
        code = solver.solve(model, callback) if callback else solver.solve(model)
        seconds = time.monotonic() - tier_started
        sign = -1 if tier in MAXIMISED_TIERS else 1
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            best = solver
            value = int(round(solver.objective_value))
            bound = math.ceil(solver.best_objective_bound - 1e-6)
            outcome.tiers.append(TierOutcome(tier, _STATUS[code], sign * value, sign * bound, seconds))
        elif best is not None:
            # No better schedule within the budget: keep the previous tier's, at its value for this tier.
            value = int(best.value(expression))
            outcome.tiers.append(TierOutcome(tier, "unknown", sign * value, None, seconds))
        else:
            outcome.tiers.append(TierOutcome(tier, _STATUS.get(code, "unknown"), None, None, seconds))
            break
        # Fix this tier at the value reached; the next tier starts from this complete schedule.
        model.add(expression <= value)
        _hint_complete_solution(model, best)

    if best is not None:
        outcome.found = True
        outcome.attend = {key: bool(best.boolean_value(var)) for key, var in variables.attend.items()}
        outcome.staff = {key: bool(best.boolean_value(var)) for key, var in variables.staff.items()}
        outcome.placed = [bool(best.boolean_value(var)) for var in variables.placed]
    elif merged is not None:
        # No tier after the parts found a schedule in time (or none was left): the parts' week stands.
        outcome.found = merged.found
        outcome.attend = {key: key in merged.attend for key in variables.attend}
        outcome.staff = {key: key in merged.staff for key in variables.staff}
        outcome.placed = [p in merged.placed for p in range(len(variables.placed))]
    elif start is not None:
        # The solver found nothing within the time limit (a large program, a short limit: presolve alone
        # can take seconds). The first-come-first-served week is a valid schedule: return it, marked so.
        outcome.found, outcome.fallback = True, "first_come_first_served"
        outcome.attend = {key: key in start.attend for key in variables.attend}
        outcome.staff = {key: key in start.staff for key in variables.staff}
        outcome.placed = [p in start.placed for p in range(len(variables.placed))]
    outcome.seconds = time.monotonic() - started
    return outcome


def _previous_stats(problem: Problem, previous: "continuity.PreviousSchedule",
                    blocks_of_patient: list[list[str]]) -> dict:
    """Who was kept, who moved, and what of the previous schedule no longer exists."""
    before: dict[int, set[str]] = {}
    for p, b in previous.attend:
        before.setdefault(p, set()).add(problem.blocks[b].id)
    kept = [problem.patients[p].id for p in sorted(previous.placed) if blocks_of_patient[p]]
    dropped = [problem.patients[p].id for p in sorted(previous.placed) if not blocks_of_patient[p]]
    moved = [problem.patients[p].id for p in sorted(previous.placed)
             if blocks_of_patient[p] and set(blocks_of_patient[p]) != before.get(p, set())]
    return {"previously_placed": len(previous.placed), "kept": kept, "dropped": dropped, "moved": moved,
            "ignored_references": previous.ignored_references}


def solve(
    problem: Problem,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: Optional[int] = DEFAULT_WORKERS,
    seed: int = 0,
    log: bool = False,
    progress: Optional[Progress] = None,
    extra_parameters: Optional[dict] = None,
    families: Sequence[ConstraintFamily] = FAMILIES,
    tiers: Optional[Sequence[int]] = None,
    previous: Optional[dict] = None,
    warm_start: bool = True,
    decompose: bool = True,
) -> "Schedule":
    """Solve a problem and return the schedule, with reasons for every patient not placed."""
    from .reasons import explain_unplaced
    from .result import PatientWeek, Roster, Schedule

    outcome = solve_model(problem, time_limit=time_limit, workers=workers, seed=seed, log=log,
                          progress=progress, extra_parameters=extra_parameters, families=families,
                          tiers=tiers, previous=previous, warm_start=warm_start, decompose=decompose)
    blocks_of_patient: list[list[str]] = [[] for _ in problem.patients]
    rosters = []
    for b, block in enumerate(problem.blocks):
        members = [p for p in outcome.schedule_model.eligibility.patients_of_block[b] if outcome.attend.get((p, b))]
        crew = [c for c in outcome.schedule_model.eligibility.clinicians_of_block[b] if outcome.staff.get((c, b))]
        for p in members:
            blocks_of_patient[p].append(block.id)
        rosters.append(Roster(block.id, [problem.patients[p].id for p in members],
                              [problem.clinicians[c].id for c in crew] if members else []))
    minutes = {block.id: block.minutes for block in problem.blocks}
    weeks = [
        PatientWeek(patient.id, bool(blocks_of_patient[p]), blocks_of_patient[p],
                    sum(minutes[b] for b in blocks_of_patient[p]) / 60)
        for p, patient in enumerate(problem.patients)
    ]
    tier_one = next((t for t in outcome.tiers if t.tier == TIER_PLACED), None)
    placed = sum(1 for week in weeks if week.placed)
    staffed_minutes = sum(minutes[r.id] * len(r.clinicians) for r in rosters if r.patients)
    stats = {
        "patients": len(problem.patients),
        "placed": placed,
        "placed_bound": max(placed, tier_one.bound) if tier_one and tier_one.bound is not None else len(problem.patients),
        "open_blocks": sum(1 for r in rosters if r.patients),
        "solve_seconds": round(outcome.seconds, 3),
        "clinician_hours": staffed_minutes / 60,
        "tiers": [
            {"tier": t.tier, "status": t.status, "value": t.value, "bound": t.bound, "seconds": round(t.seconds, 3)}
            for t in outcome.tiers
        ],
        "parameters": outcome.parameters,
    }
    if outcome.fallback is not None:
        stats["schedule_from"] = outcome.fallback  # the solver found nothing in time: the warm start
    patient_pins, clinician_pins = pins.pinned_pairs(problem)
    if patient_pins or clinician_pins:
        broken = [("patient", p, b) for p, b in patient_pins if not outcome.attend.get((p, b))]
        broken += [("clinician", c, b) for c, b in clinician_pins if not outcome.staff.get((c, b))]
        stats["pins"] = {"total": len(patient_pins) + len(clinician_pins),
                         "held": len(patient_pins) + len(clinician_pins) - len(broken),
                         "broken": [pins.why_pin_cannot_hold(problem, pin) for pin in broken]}
    if outcome.previous is not None:
        stats["previous"] = _previous_stats(problem, outcome.previous, blocks_of_patient)
    # Tier 1 solved after the pins tier (pins held) or the keep tier (previously placed kept) has a bound
    # that holds under that condition only: report it as such, and only the trivial bound as placed_bound.
    conditional = []
    if any(t.tier == TIER_PINS for t in outcome.tiers):
        conditional.append("placed_bound_holding_pins")
    if outcome.previous is not None:
        conditional.append("placed_bound_keeping_previous")
    for key in conditional:
        stats[key] = stats["placed_bound"]
    if conditional:
        stats["placed_bound"] = len(problem.patients)
    schedule = Schedule(problem, outcome.status, rosters, weeks, stats)
    explanations = explain_unplaced(problem, outcome.schedule_model.eligibility, schedule.to_dict())
    for week in schedule.patients:
        if week.id in explanations:
            week.reasons = explanations[week.id].sentences
            week.why = explanations[week.id].why
    return schedule
