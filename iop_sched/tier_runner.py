"""One model solved tier after tier: each tier fixed at the value reached, the next one hinted.

Lexicographic by fixing: after a tier the best value found is added as a constraint
and the next tier starts from that complete schedule, so a lower tier can never buy
anything with a placement. `iop_sched.solve` runs one of these on the whole program,
`iop_sched.decompose` one per independent part.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

from ortools.sat.python import cp_model

from .constraints import continuity, symmetry, wishes
from .floors import wishes_floor
from .model import MAXIMISED_TIERS, TIER_COSTS, TIER_NAMES, TIER_PLACED, TIER_WISHES, ConstraintFamily, ScheduleModel
from .schema import Problem
from .lp_relaxation import RelaxationSolver
from .week_hull import BoundsBeside, costs_lower_bound, placed_upper_bound

Progress = Callable[[dict], None]

#: Share of a tier's seconds its floor (`iop_sched.floors`) may take before the search starts.
FLOOR_SHARE = 0.1
#: The moves of `iop_sched.week_moves` end when FLOOR_SHARE + MOVES_SHARE of the wishes tier's seconds
#: have passed (the floor's unused time is theirs); CP-SAT then has MOVES_COMPLETION_SHARE of them to
#: complete and check the moved schedule (network seed 0: the moves' passes 4 s, the completion 0.8 s;
#: given only what the moves had left, it failed and the tier was worse off than without moves).
MOVES_SHARE = 0.2
MOVES_COMPLETION_SHARE = 0.15
#: the LP bounds (`iop_sched.week_hull`) start only with at least `lp_seconds_needed(pairs)` left: side by
#: side beside two CP-SAT workers they ended within the ~23 s after tier 1 of a 60-s run on every large
#: program (12,700-15,700 pairs). Alone, the one on patients placed takes 6.9-9.5 s there and 56 s on
#: network program 0 (47,806 pairs), the costs one 6.2-8.3 s and 37 s: time grows as pairs ** ~1.5.
LP_SECONDS_AT_15000_PAIRS = 18.0
LP_SECONDS_GROWTH = 1.5
#: above this many pairs the LPs run one after the other, patients placed first, the costs one only if
#: half of `lp_seconds_needed` is still left: side by side on network program 0 (300-s run, 118 s left
#: after tier 1) the costs bound ended but the one on patients placed did not
SIDE_BY_SIDE_PAIRS = 30_000


def lp_seconds_needed(pairs: int) -> float:
    """The seconds the LP bounds need beside the search on a program of `pairs` eligible pairs."""
    return LP_SECONDS_AT_15000_PAIRS * (pairs / 15_000) ** LP_SECONDS_GROWTH


STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "invalid",
    cp_model.UNKNOWN: "unknown",
}


@dataclass
class TierOutcome:
    """How one tier's solve ended."""

    tier: int
    status: str          # "optimal", "feasible", "unknown", "infeasible"
    value: Optional[int]  # the tier's quantity (tier 1: patients placed)
    bound: Optional[int]  # proven bound on that quantity
    seconds: float


class ProgressReporter(cp_model.CpSolverSolutionCallback):
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


def hint_complete_solution(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    """Hint every variable (auxiliary ones too) so the next tier starts from a complete, feasible schedule."""
    solution = solver.response_proto.solution
    model.clear_hints()
    for index, value in enumerate(solution):
        model.add_hint(model.get_int_var_from_proto_index(index), value)


def apply_parameters(solver: cp_model.CpSolver, parameters: dict) -> None:
    for name, value in parameters.items():
        if isinstance(value, (list, tuple)):
            field_values = getattr(solver.parameters, name)
            field_values.clear()
            field_values.extend(value)
        else:
            setattr(solver.parameters, name, value)


def hint_empty_schedule(schedule_model: ScheduleModel) -> None:
    """The empty schedule is always feasible: hinted first, so every tier starts from a schedule."""
    variables = schedule_model.variables
    for var in list(variables.attend.values()) + list(variables.staff.values()) + variables.open + variables.placed:
        schedule_model.model.add_hint(var, 0)


def hint_first_come_first_served(problem: Problem, schedule_model: ScheduleModel,
                                 families: tuple[ConstraintFamily, ...]) -> continuity.PreviousSchedule:
    """A fast first stage: the first-come-first-served week (twins in list order, see symmetry), hinted."""
    from .greedy import first_come_first_served

    start = continuity.PreviousSchedule.resolve(problem, first_come_first_served(problem, explain=False))
    if symmetry.add in families:
        start = continuity.in_twin_order(start, symmetry.twin_classes(problem, schedule_model.eligibility))
    continuity.hint_previous(schedule_model.model, schedule_model.variables, start)
    return start


class TierRunner:
    """Solves one model's tiers in the order asked, keeping the latest complete schedule."""

    def __init__(self, schedule_model: ScheduleModel, parameters: dict[int, dict], started: float,
                 move_patients: bool = False, lp_bounds_until: Optional[float] = None):
        self.schedule_model = schedule_model
        #: when set, LP bounds (`iop_sched.week_hull`: on patients placed when tier 1 ended unproven, and
        #: on the costs tier) run side by side beside the searches of the tiers after tier 1 until
        #: this moment (not beside tier 1's: its share of the cores cost tier 1 patients);
        #: `collect_lp_bounds` then takes each bound that ended in time
        self.lp_bounds_until = lp_bounds_until
        self.lp_bounds: Optional[BoundsBeside] = None
        #: start the wishes tier from `iop_sched.week_moves` (not when re-planning or holding pins: there a
        #: tier solved before it counts changes, which the moves do not see)
        self.move_patients = move_patients and wishes.add in schedule_model.families
        self.parameters = parameters       # CP-SAT parameters per tier
        self.started = started             # progress reports time from here
        self.best: Optional[cp_model.CpSolver] = None  # the solver holding the latest complete schedule
        self.outcomes: list[TierOutcome] = []
        self.stopped = False               # a tier found no schedule and none came before: nothing to fix

    def solve_tier(self, tier: int, seconds: float, progress: Optional[Progress] = None) -> None:
        """Optimise `tier` for at most `seconds`, then fix it at the value reached."""
        model = self.schedule_model.model
        expression = self.schedule_model.tier_expression(tier)
        model.minimize(expression)
        tier_started = time.monotonic()
        floor = self._floor(tier, tier_started + FLOOR_SHARE * seconds)
        if tier == TIER_WISHES and self.move_patients and self.best is not None:
            self._move_patients(expression, tier_started + (FLOOR_SHARE + MOVES_SHARE) * seconds,
                                MOVES_COMPLETION_SHARE * seconds)
        solver = cp_model.CpSolver()
        apply_parameters(solver, self.parameters[tier])
        solver.parameters.max_time_in_seconds = max(0.05, seconds - (time.monotonic() - tier_started))
        if tier != TIER_PLACED:
            self._start_lp_bounds()  # now: CP-SAT's search holds no GIL, the floor's and moves' Python is done
        callback = ProgressReporter(tier, progress, self.started) if progress else None
        if callback is not None:
            solver.best_bound_callback = callback.on_bound
        code = solver.solve(model, callback) if callback else solver.solve(model)
        seconds = time.monotonic() - tier_started
        sign = -1 if tier in MAXIMISED_TIERS else 1
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.best = solver
            value = int(round(solver.objective_value))
            bound = math.ceil(solver.best_objective_bound - 1e-6)
            if floor is not None and floor > bound:  # the floor proves more than the search did
                bound = min(floor, value)
                code = cp_model.OPTIMAL if bound == value else code
            self.outcomes.append(TierOutcome(tier, STATUS[code], sign * value, sign * bound, seconds))
        elif self.best is not None:
            # No better schedule within the budget: keep the previous tier's, at its value for this tier.
            value = int(self.best.value(expression))
            proven = floor is not None and floor >= value  # the earlier schedule is already at the floor
            self.outcomes.append(TierOutcome(tier, "optimal" if proven else "unknown", sign * value,
                                             None if floor is None else sign * min(floor, value), seconds))
        else:
            self.outcomes.append(TierOutcome(tier, STATUS.get(code, "unknown"), None, None, seconds))
            self.stopped = True
            return
        # Fix this tier at the value reached; the next tier starts from this complete schedule.
        model.add(expression <= value)
        hint_complete_solution(model, self.best)

    def _start_lp_bounds(self) -> None:
        """Start the LP bounds once, after tier 1: on patients placed when tier 1 ended unproven, and on
        the costs tier given the number placed (when that tier is to be solved)."""
        if self.lp_bounds is not None or self.lp_bounds_until is None:
            return
        latest = self._last_index(TIER_PLACED)
        if latest < 0 or self.outcomes[latest].value is None:
            return
        placed = self.outcomes[latest]
        until, pairs = self.lp_bounds_until, len(self.schedule_model.variables.attend)
        if until - time.monotonic() < lp_seconds_needed(pairs):
            return  # they would not end in time: their share of the cores would buy nothing
        problem, families, count = self.schedule_model.problem, self.schedule_model.families, placed.value
        side_by_side = pairs <= SIDE_BY_SIDE_PAIRS

        def costs_bound(solver: RelaxationSolver) -> Optional[int]:
            seconds = until - time.monotonic()
            if not side_by_side and seconds < lp_seconds_needed(pairs) / 2:
                return None  # after the bound on patients placed, too little time is left for it
            return costs_lower_bound(problem, families, count, seconds, solver)

        computations: list[tuple[int, Callable[[RelaxationSolver], Optional[int]]]] = []
        if placed.status != "optimal":
            computations.append((TIER_PLACED, lambda solver: placed_upper_bound(
                problem, families, until - time.monotonic(), solver)))
        if TIER_COSTS in self.parameters and self._last_index(TIER_COSTS) < 0:
            # (a costs tier solved before tier 1, in a caller's order, was not held to the number placed)
            computations.append((TIER_COSTS, costs_bound))
        if computations:
            self.lp_bounds = BoundsBeside(computations, side_by_side)

    def collect_lp_bounds(self, progress: Optional[Progress] = None) -> None:
        """Each tier's bound from its LP, if it ended in time: the better of it and the search's, and the
        tier proven when its value meets it (reported to `progress` as an "lp_bound" event). An LP still
        running is cancelled."""
        if self.lp_bounds is None:
            return
        for tier, bound in self.lp_bounds.finish().items():
            latest = self._last_index(tier)
            if latest < 0 or self.outcomes[latest].value is None:
                continue
            if tier != TIER_PLACED and latest < self._last_index(TIER_PLACED):
                continue  # solved before tier 1 fixed the number placed the LP assumed
            outcome = self.outcomes[latest]
            maximised = tier in MAXIMISED_TIERS
            if bound < outcome.value if maximised else bound > outcome.value:
                # beyond a schedule in hand: the LP is wrong, and proves nothing
                self.lp_bounds.errors[tier] = ValueError(
                    f"LP bound {bound} beyond the schedule's {outcome.value} ({TIER_NAMES[tier]})")
                continue
            if outcome.bound is None or (bound < outcome.bound if maximised else bound > outcome.bound):
                outcome.bound = bound
                if bound == outcome.value:
                    outcome.status = "optimal"
                if progress is not None:
                    progress({"tier": tier, "event": "lp_bound", "value": outcome.value, "bound": bound,
                              "elapsed": time.monotonic() - self.started})

    def _last_index(self, tier: int) -> int:
        """Where `tier`'s latest outcome is among the outcomes; -1 when it has none."""
        return max((i for i, outcome in enumerate(self.outcomes) if outcome.tier == tier), default=-1)

    def _move_patients(self, expression: cp_model.LinearExprT, deadline: float, completion_seconds: float) -> None:
        """Start from the schedule with patients moved to cheaper weeks (`iop_sched.week_moves`) until
        `deadline`, when CP-SAT completes it within `completion_seconds`; otherwise nothing changes.

        Every move lowers the moved patient's charge with the staffing fixed, so the completed
        schedule costs the tier less. The comparison below is a guard only: the earlier solve's
        value of the tier counts auxiliary variables (tracks) that nothing minimised, so it can
        be above that schedule's true cost.
        """
        from .week_moves import move_to_cheaper_weeks

        week = self.best_week()
        moves = move_to_cheaper_weeks(self.schedule_model.problem, self.schedule_model.eligibility,
                                      week.attend, week.staff, deadline)
        if not moves.moved:
            return
        before = self.best
        week.attend = moves.attend
        continuity.hint_previous(self.schedule_model.model, self.schedule_model.variables, week)
        self.complete_hinted_schedule(completion_seconds)
        if self.best is before or self.best.value(expression) >= before.value(expression):
            self.best = before
            hint_complete_solution(self.schedule_model.model, before)

    def best_week(self) -> continuity.PreviousSchedule:
        """Who is placed, who attends and who staffs which block in the latest complete schedule."""
        variables, chosen = self.schedule_model.variables, self.best.boolean_value
        return continuity.PreviousSchedule(
            placed={p for p, var in enumerate(variables.placed) if chosen(var)},
            attend={key for key, var in variables.attend.items() if chosen(var)},
            staff={key for key, var in variables.staff.items() if chosen(var)})

    def _floor(self, tier: int, deadline: float) -> Optional[int]:
        """A bound on `tier` that needs no search, from the tiers fixed before it (`iop_sched.floors`), or None."""
        placed = [outcome.value for outcome in self.outcomes if outcome.tier == TIER_PLACED and outcome.value is not None]
        if tier != TIER_WISHES or not placed:
            return None
        return wishes_floor(self.schedule_model, placed[-1], deadline)

    def complete_hinted_schedule(self, seconds: float) -> None:
        """Complete a hinted week (attendance, staffing) with its auxiliary variables: days, tracks, load.

        A solve with every hinted variable fixed to its hint, so the next tier starts from a
        complete schedule as it does after a tier of its own. Nothing changes when it does not
        finish in time.
        """
        solver = cp_model.CpSolver()
        first_tier = next(iter(self.parameters.values()), {})
        apply_parameters(solver, first_tier)
        solver.parameters.fix_variables_to_their_hinted_value = True
        solver.parameters.max_time_in_seconds = max(0.05, seconds)
        if solver.solve(self.schedule_model.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.best = solver
            hint_complete_solution(self.schedule_model.model, solver)
