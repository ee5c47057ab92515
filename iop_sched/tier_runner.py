"""One model solved tier after tier: each tier fixed at the value reached, the next one hinted.

Lexicographic by fixing: after a tier the best value found is added as a constraint
and the next tier starts from that complete schedule, so a lower tier can never buy
anything with a placement. `iop_sched.solve` runs one of these on the whole program,
`iop_sched.decompose` one per independent part.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Collection, Optional, Sequence

from ortools.sat.python import cp_model

from .constraints import continuity, symmetry, wishes
from .floors import wishes_floor
from .model import (MAXIMISED_TIERS, TIER_CHANGES, TIER_COSTS, TIER_NAMES, TIER_PLACED, TIER_WISHES, ConstraintFamily,
                    ScheduleModel)
from .lp_relaxation import RelaxationSolver
from .schema import Problem
from .week_hull import (BoundsBeside, PlacedRelaxation, build_placed_relaxation, costs_lower_bound,
                        placed_upper_bound, solve_placed_relaxation, wishes_support)

if TYPE_CHECKING:
    from .constraints.availability import Eligibility

Progress = Callable[[dict], None]

#: Share of a tier's seconds its floor (`iop_sched.floors`) may take before the search starts. The whole
#: floor takes 1.0-1.3 s on large programs and 3.7 s on network program 0 (alone); 10 % of the ~9 s and
#: ~24 s the wishes tier has in 60-s and 120-s runs cut it short (a bound 1-3 % lower: large program 1,
#: 309,570 against 313,500), so 20 %. The floor returns when done; the moves have the rest (below).
FLOOR_SHARE = 0.2
#: The moves of `iop_sched.week_moves` end when FLOOR_SHARE + MOVES_SHARE of the wishes tier's seconds
#: have passed (the floor's unused time is theirs); CP-SAT then has MOVES_COMPLETION_SHARE of them to
#: complete and check the moved schedule (network seed 0: the moves' passes 4 s, the completion 0.8 s;
#: given only what the moves had left, it failed and the tier was worse off than without moves).
#: (0.2 when the floor had 10 %: they now end at 35 % of the tier's seconds, not 30 %, so a floor that runs
#: to its end leaves them the time they had.) 0.5 since the twenty-sixth session: on networks a pass takes ~4 s, and
#: in a 30-s solve 15 % of the wishes tier's ~4 s was 0.5 s, 214 patients moved of a pass's ~670, where each second
#: of moves takes off far more than a second of CP-SAT's search (network programs 0-2, 30-s solves, solver seeds 0-3:
#: the wishes tier 679-703 a patient placed against 740-753 with 0.15). Its completion then has 0.25 (0.15 before:
#: ~0.6 s there, where it takes ~0.9 s, and it failed in 2 of 12 runs, losing every move); it ends as soon as it is
#: done, and the search has the rest. On large programs the passes end within 15 % anyway (60-s solves: the same
#: values within 0.2 %), and in 120-s network runs the wishes tier was level (+0.1-0.5 %, one run each).
MOVES_SHARE = 0.5
MOVES_COMPLETION_SHARE = 0.25
#: The LP bounds (`iop_sched.week_hull`) start only with at least `lp_seconds_needed(pairs)` left. The one on
#: patients placed starts with tier 1's search (when tier 1 is guided and comes first, before the model is built:
#: `PlacedLP`), which stops once its count meets the bound; alone it takes
#: 4.2-5.7 s on large programs (12,700-15,700 pairs) and 27 s on network program 0 (47,806 pairs), 3.3-4.8 s and
#: 21 s since the week graphs' states are merged (not refitted: the estimates below are now on the safe side). The one on
#: the costs tier starts after tier 1 (it needs the number placed): 4.1-5.0 s and 21 s alone. Beside two
#: CP-SAT workers each takes about twice as long; time grows as pairs ** ~1.3.
LP_SECONDS_AT_15000_PAIRS = {TIER_PLACED: 10.0, TIER_COSTS: 8.0}
LP_SECONDS_GROWTH = 1.3
#: When guided (`guided_tiers`), tier 1 waits up to this share of its seconds for its LP (medium and large programs:
#: the LP ends within a seventh of a 30-s or 60-s run's tier 1; networks: at 26-39 s of 72 s), then searches the LP's
#: support for a schedule placing the LP's bound for up to `GUIDE_SEARCH_SHARE` of them (medium programs: the LP
#: ends at ~0.6 s, that search finds one within ~0.3 s where the bound is the optimum; large ones, 1-3 s). When it
#: finds none, the same pairs are searched for the most they can place for `GUIDE_FALLBACK_SHARE` more (large
#: program 2, whose 530 is found by neither in ~4 s: 528-529, the whole search's start).
GUIDE_WAIT_SHARE = 0.6
GUIDE_SEARCH_SHARE = 0.1
GUIDE_FALLBACK_SHARE = 0.05
#: Per size: from this many eligible pairs on (networks) the guide's copy is not asked for the bound; the copy that
#: maximises the count searches at once, for `GUIDE_MAXIMISE_ONLY_SHARE` of tier 1's seconds. Why: no ask there has
#: found its bound (network programs 0-2, 7.2 s each), and over the vertex's pairs the count climbs faster than in the
#: whole model's search (tier 1 alone, 72 s, solver seeds 0-1: 1257 / 1274-1275 / 1293-1294 placed against 1255-1257
#: / 1270-1273 / 1292 asking first, the bounds 1258 / 1277 / 1295; benchmarks/RESULTS.md, twenty-third session).
GUIDE_MAXIMISE_ONLY_PAIRS = 30_000
GUIDE_MAXIMISE_ONLY_SHARE = 0.3
#: Per size: on programs of this many eligible pairs (large ones), a copy asking for the bound that runs out of its
#: share without a schedule is asked once more, with another solver seed, before the copy that maximises. Why: whether
#: its first-solution worker finds the bound's schedule in time turns on the seed (large program 1, the copy alone,
#: seeds 0-15: 2 runs without one in 4.2 s; the others 0.4-3.6 s). Tier 1 alone, 42 s, the runs whose ask ran out
#: (solver seeds 0 and 8): proven at 9.2 s and 10.5 s instead of 15.2 s and never (526 of 527). Program 2, whose 530 no
#: ask finds, lost nothing (seeds 0-1: 530 / 529 either way). Networks are not asked at all (above).
GUIDE_RETRY_PAIRS = range(10_000, GUIDE_MAXIMISE_ONLY_PAIRS)
#: Built before the model, tier 1's LP ends within this share of `lp_seconds_needed` (measured: large programs 0-2
#: 0.54-0.55, network programs 0-2 0.61-0.76; since the week graphs' states are merged 0.42-0.44 and ~0.50-0.60, not
#: refitted: a network guided in a shorter run whose LP ends after the wait loses its tier 1, benchmarks/RESULTS.md,
#: twenty-third session)
GUIDE_LP_SHARE_OF_NEEDED = 0.8
#: while tier 1 waits for its guide, a "waiting" progress event comes this often
WAITING_REPORT_SECONDS = 1.0


def guide_can_wait(pairs: int, tier_seconds: float) -> bool:
    """Whether tier 1's LP can be expected within the share of `tier_seconds` tier 1 waits for it.

    Why: a tier that waits for an LP that does not end leaves its search only the rest (a network solved in 60 s:
    36 s of tier 1, its LP ~26-39 s); there the search runs from the start, and the LP gives its bound beside it."""
    return GUIDE_LP_SHARE_OF_NEEDED * lp_seconds_needed(pairs) <= GUIDE_WAIT_SHARE * tier_seconds


#: A copy's search (`_search_copy`) takes its tier's parameters with these on top: one presolve round. Most of its
#: pairs are fixed, and the usual three rounds cost more than they save (tier 1 on medium programs 0 and 2, alone, 12
#: runs each, solver seeds 0-7: median 1.14 / 1.04 s to the proof against 1.35 / 1.19 s).
GUIDE_PARAMETERS: dict = {"max_presolve_iterations": 1}
#: Per size: from this many eligible pairs on (large programs and networks), a copy's search also runs
#: CP-SAT's LP at linearization level 1, not the tier's 2. Why: the copy looks for a schedule, and the LP's bound
#: already proves it; the fuller LP only slows each search step. Large programs 0-1, the copy asking for the bound
#: alone (12 solver seeds each, 4.2 s): median 1.16 s to a schedule against 2.02 s, 2 of 24 without one against 4.
#: Medium program 4's copy is slower at level 1 (median 1.08 s against 0.39 s), so smaller programs keep level 2.
GUIDE_LINEARIZATION_PAIRS = 10_000
GUIDE_LARGE_PARAMETERS: dict = {"linearization_level": 1}
#: When guided (`guided_tiers`), the wishes tier gives this share of what its floor and moves left to its LP and the
#: search over that LP's support and the schedule in hand (medium programs: the LP ~1 s; that search often proves its
#: own optimum within the share); the whole model's search has the rest. Medium programs 0-2, 30-s solves, solver seeds
#: 3, 4 and the program's: wishes 91,290-91,470 / 84,420-84,480 / 87,720-87,750 with 0.8, and 91,290-91,410 /
#: 84,480-86,580 / 87,870-89,040 with 0.6.
WISHES_GUIDE_SHARE = 0.8
#: When re-planning (`TierRunner(previous_attend=...)`), the changes tier gives this share of its seconds to a search of
#: the previous schedule's pairs and the schedule in hand's (`_search_previous_weeks`); the whole model's search has the
#: rest. After discharges that search is still improving when its time ends (it never proves its optimum), and the
#: whole search after it rarely improves at all: large programs 0-2, 1 in 25 discharged, 30-s re-plans, solver seeds
#: 12 and 14: 7 / 11 / 3 / 40 / 74 / 66 patients moved with 0.5, 15 / 9 / 3 / 3 / 15 / 24 with 0.9.
CHANGES_GUIDE_SHARE = 0.9
#: above this many pairs (networks) the costs LP waits for the one on patients placed to end: side by side on
#: network program 0 (300-s run) the costs bound ended but the one on patients placed did not
SIDE_BY_SIDE_PAIRS = 30_000


def lp_seconds_needed(pairs: int, tier: int = TIER_PLACED) -> float:
    """The seconds `tier`'s LP bound needs beside the search on a program of `pairs` eligible pairs."""
    return LP_SECONDS_AT_15000_PAIRS[tier] * (pairs / 15_000) ** LP_SECONDS_GROWTH


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

    def __init__(self, tier: int, progress: Optional[Progress], started: float,
                 stop: Optional["StopAtBound"] = None, bound: Optional[int] = None):
        super().__init__()
        self._tier, self._progress, self._started, self._stop = tier, progress, started, stop
        self._sign = -1 if tier in MAXIMISED_TIERS else 1
        self._value: Optional[float] = None
        self._bound: Optional[float] = bound
        #: a search over part of the model reports the whole program's bound (`bound`), not its own
        self._own_bound = bound is None

    def _report(self, event: str) -> None:
        if self._progress is not None:
            self._progress({"tier": self._tier, "event": event, "value": self._value, "bound": self._bound,
                            "elapsed": time.monotonic() - self._started})

    def on_solution_callback(self) -> None:
        self._value = self._sign * self.objective_value
        if self._own_bound:
            self._bound = self._sign * self.best_objective_bound
        self._report("solution")
        if self._stop is not None:
            self._stop.on_value(int(round(self._value)))

    def on_bound(self, bound: float) -> None:
        self._bound = self._sign * bound
        self._report("bound")


class StopAtBound:
    """Stops tier 1's search once its count meets the LP's bound, proven beside it: no schedule placing
    more exists, and the seconds left go to the lower tiers. Told of each count by the search's solution
    callback and of the bound by the LP's thread, whichever comes last stops the search."""

    def __init__(self, solver: Optional[cp_model.CpSolver] = None):
        self._solver: Optional[cp_model.CpSolver] = solver
        self._lock = threading.Lock()
        self._value: Optional[int] = None
        self._bound: Optional[int] = None

    def attach(self, solver: cp_model.CpSolver) -> None:
        """The search to stop, when the LP started before it (`PlacedLP`)."""
        with self._lock:
            self._solver = solver
        self._stop_if_met()

    def on_value(self, value: int) -> None:
        with self._lock:
            self._value = value
        self._stop_if_met()

    def on_bound(self, tier: int, bound: int) -> None:
        if tier == TIER_PLACED:
            with self._lock:
                self._bound = bound
            self._stop_if_met()

    def close(self) -> None:
        """The search has ended: a bound coming later stops nothing."""
        with self._lock:
            self._solver = None

    def _stop_if_met(self) -> None:
        with self._lock:
            met = self._value is not None and self._value == self._bound  # above it, the LP is wrong: search on
            solver = self._solver if met else None
        if solver is not None:
            solver.stop_search()  # thread-safe; nothing once the solve has returned


class PlacedLP:
    """Tier 1's LP on patients placed, solved in a thread beside what follows (`week_hull.BoundsBeside`), and what
    stops tier 1's search once its count meets the bound (`stop`, attached to the search when it starts).

    Guided (`guide`: where an optimal vertex seats patients), the LP is built in the caller's thread at once and
    only HiGHS's solve runs beside. Why: building is Python and holds the GIL; HiGHS does not. Started before the
    model is built (`iop_sched.solve`), the LP is solved while the model and the first-come-first-served hint are
    built, instead of after them (large programs: it ends 0.5-0.65 s sooner; medium ones within noise). Beside that
    Python it must not be `interruptible` (`RelaxationSolver`).
    """

    def __init__(self, problem: Problem, families: Sequence[ConstraintFamily], until: float, guided: bool,
                 eligibility: Optional["Eligibility"] = None, interruptible: bool = True):
        self.stop = StopAtBound()
        self.guide: Optional[PlacedRelaxation] = None  # set by the LP's thread when guided

        def bound(lp_solver: RelaxationSolver) -> Optional[int]:
            return placed_upper_bound(problem, families, until - time.monotonic(), lp_solver)

        compute = bound
        if guided:
            try:
                built = build_placed_relaxation(problem, families, until - time.monotonic(), eligibility=eligibility)
                failure: Optional[Exception] = None
            except Exception as error:  # noqa: BLE001 - a bound is an extra: reported as the LP thread's error
                built, failure = None, error

            def guide(lp_solver: RelaxationSolver) -> Optional[int]:
                if failure is not None:
                    raise failure
                if built is not None:
                    self.guide = solve_placed_relaxation(problem, built, until - time.monotonic(), lp_solver)
                return None if self.guide is None else self.guide.bound

            compute = guide
        self.bounds = BoundsBeside([(TIER_PLACED, compute)], on_bound=self.stop.on_bound, interruptible=interruptible)


def hint_complete_solution(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    """Hint every variable (auxiliary ones too) so the next tier starts from a complete, feasible schedule."""
    solution = solver.response_proto.solution
    model.clear_hints()
    for index, value in enumerate(solution):
        model.add_hint(model.get_int_var_from_proto_index(index), value)


def complete_hint(model: cp_model.CpModel, parameters: dict, seconds: float) -> Optional[cp_model.CpSolver]:
    """Complete the model's hint of a week (attendance, staffing, groups opened, patients placed) with its auxiliary
    variables (days, tracks, load): a solve with every hinted variable fixed to its hint, within `seconds`. Returns
    that solver, its schedule hinted whole, or None (the hint unchanged) when the week breaks a rule or time runs out.

    Why: CP-SAT starts from a hint only when it is complete; a partial one only steers its search (network program 0,
    tier 1 with the first-come-first-served week hinted: its first schedule placed 832, not the week's 990, and 1,040
    at 12 s; completed first, in 0.9 s, it started at 990 and placed 1,155 at 12 s)."""
    solver = cp_model.CpSolver()
    apply_parameters(solver, parameters)
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    hint_complete_solution(model, solver)
    return solver


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
                 move_patients: bool = False, lp_bounds_until: Optional[float] = None,
                 lp_tiers: Collection[int] = (TIER_PLACED, TIER_COSTS), guided_tiers: Collection[int] = (),
                 placed_lp: Optional[PlacedLP] = None, previous_attend: Collection[tuple[int, int]] = (),
                 placed_without_lp: Optional[dict] = None):
        self.schedule_model = schedule_model
        #: CP-SAT parameters tier 1's search of the whole model takes on top of its own when no LP on patients placed
        #: runs beside it (the caller's choice per size: `solve.UNBOUNDED_NETWORK_PLACED`)
        self.placed_without_lp = placed_without_lp or {}
        self.placed_without_lp_used = False  # whether tier 1's search took them (reported with its parameters)
        #: when set, LP bounds (`iop_sched.week_hull`) run beside the searches until this moment: on patients
        #: placed from the start of tier 1's search (which stops once its count meets it), on the costs tier
        #: from the end of tier 1; `collect_lp_bounds` then takes each bound that ended in time
        self.lp_bounds_until = lp_bounds_until
        self.lp_tiers = frozenset(lp_tiers)  # which of those two LPs run (each where it beats the search's bound)
        self.lp_bounds: dict[int, BoundsBeside] = {}  # per tier, the LP started for it
        #: per tier, the bound its LP gave, once checked against the schedule in hand. The LPs see no tier solved
        #: before theirs, so the one on patients placed holds whatever was held then (pins, the previous schedule)
        self.lp_bound_values: dict[int, int] = {}
        #: the tiers searched first over the pairs an optimal vertex of an LP uses: tier 1 waits for its LP and
        #: searches that vertex's pairs (`_search_lp_support`), the wishes tier its own LP's and the schedule's
        #: (`_search_wishes_support`)
        self.guided_tiers = frozenset(guided_tiers)
        #: tier 1's LP, once started: by the caller before the model was built, or with tier 1 (`_start_placed_lp`)
        self.placed_lp = placed_lp
        #: start the wishes tier from `iop_sched.week_moves` (not when re-planning or holding pins: there a
        #: tier solved before it counts changes, which the moves do not see)
        self.move_patients = move_patients and wishes.add in schedule_model.families
        #: when re-planning, the previous schedule's (patient, block) pairs: the changes tier searches them with the
        #: schedule in hand's first (`_search_previous_weeks`)
        self.previous_attend = frozenset(previous_attend)
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
        if tier == TIER_WISHES and TIER_WISHES in self.guided_tiers:
            left = seconds - (time.monotonic() - tier_started)
            self._search_wishes_support(expression, time.monotonic() + WISHES_GUIDE_SHARE * left)
        if tier == TIER_CHANGES and self.previous_attend and self.best is not None:
            left = seconds - (time.monotonic() - tier_started)
            self._search_previous_weeks(expression, time.monotonic() + CHANGES_GUIDE_SHARE * left)
        solver = cp_model.CpSolver()
        apply_parameters(solver, self.parameters[tier])
        solver.parameters.max_time_in_seconds = max(0.05, seconds - (time.monotonic() - tier_started))
        # now: CP-SAT's search holds no GIL, the floor's and moves' Python is done
        stop = None
        if tier == TIER_PLACED:
            stop = self._start_placed_lp(solver)
            if stop is None and self.placed_without_lp:
                apply_parameters(solver, self.placed_without_lp)
                self.placed_without_lp_used = True
            guided = None
            if stop is not None and TIER_PLACED in self.guided_tiers:
                guided = self._search_lp_support(expression, seconds, progress)
            if guided is not None:  # it met the LP's bound: proven, no search of the whole model needed
                self.best = guided
                value = int(round(guided.objective_value))
                self.outcomes.append(TierOutcome(tier, "optimal", -value, -value, time.monotonic() - tier_started))
                self.lp_bound_values[TIER_PLACED] = -value
                model.add(expression <= value)
                hint_complete_solution(model, guided)
                return
            solver.parameters.max_time_in_seconds = max(0.05, seconds - (time.monotonic() - tier_started))
        else:
            self._start_costs_lp()
        callback = ProgressReporter(tier, progress, self.started, stop) if progress or stop else None
        if callback is not None and progress is not None:
            solver.best_bound_callback = callback.on_bound
        code = solver.solve(model, callback) if callback else solver.solve(model)
        if stop is not None:
            stop.close()
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
        if tier == TIER_PLACED and TIER_PLACED in self.lp_bounds:
            if self.outcomes[-1].status == "optimal" and not self._placed_after_other_tiers():
                self.lp_bounds[TIER_PLACED].cancel()  # the search proved it: the LP's cores go back to the search
            else:
                self._take_lp_bounds(self.lp_bounds[TIER_PLACED].ready(), progress)
        # Fix this tier at the value reached; the next tier starts from this complete schedule.
        model.add(expression <= value)
        hint_complete_solution(model, self.best)

    def _lp_time_left(self, tier: int) -> bool:
        """Whether `tier`'s LP has time enough to end before `lp_bounds_until` (otherwise its share of the
        cores would buy nothing)."""
        pairs = len(self.schedule_model.variables.attend)
        return self.lp_bounds_until - time.monotonic() >= lp_seconds_needed(pairs, tier)

    def _start_placed_lp(self, solver: cp_model.CpSolver) -> Optional[StopAtBound]:
        """Start the LP bound on patients placed beside tier 1's search (once), and what stops that search when
        its count meets the bound; None when there is no such LP."""
        if TIER_PLACED in self.lp_bounds:
            return None
        if self.placed_lp is None:
            if (self.lp_bounds_until is None or TIER_PLACED not in self.lp_tiers
                    or not self._lp_time_left(TIER_PLACED)):
                return None
            self.placed_lp = PlacedLP(self.schedule_model.problem, self.schedule_model.families, self.lp_bounds_until,
                                      TIER_PLACED in self.guided_tiers, self.schedule_model.eligibility)
        self.lp_bounds[TIER_PLACED] = self.placed_lp.bounds
        self.placed_lp.stop.attach(solver)
        return self.placed_lp.stop

    def _search_lp_support(self, expression: cp_model.LinearExprT, seconds: float,
                           progress: Optional[Progress]) -> Optional[cp_model.CpSolver]:
        """Tier 1's first stage when guided: wait for the LP on patients placed, then search only the pairs
        an optimal vertex of it uses (`week_hull.PlacedRelaxation`), first for a schedule that places the LP's
        bound. Returns that search when it finds one (tier 1 is then proven); otherwise searches the same pairs
        for the most they can place, hints that schedule to the whole model's search when it places more than
        the hint there, and returns None.

        Why: where the LP's bound is the optimum, the whole model's search spends most of tier 1 finding the
        last few patients; over a third of the pairs the same count is found in a fraction of that time
        (benchmarks/RESULTS.md, sixteenth session). Asked for the bound itself, CP-SAT finds it sooner than
        by raising the count (twentieth session: large program 1 at 6-8 s instead of 14-15 s); on networks, where
        no ask has found it, the copy only maximises, for longer (`GUIDE_MAXIMISE_ONLY_PAIRS`). The pairs the
        vertex uses whole stay fixed too, unless no schedule can hold them all.
        """
        lp = self.lp_bounds[TIER_PLACED]
        if not self._wait_for_guide(lp, GUIDE_WAIT_SHARE * seconds, progress) or self.placed_lp.guide is None:
            return None  # the LP goes on beside the whole model's search, as without a guide
        guide, model = self.placed_lp.guide, self.schedule_model.model
        pairs = len(self.schedule_model.variables.attend)

        def search(held: Collection[tuple[int, int]], ends: float, at_least: Optional[int] = None,
                   seed_offset: int = 0) -> tuple[int, cp_model.CpSolver]:
            searcher = cp_model.CpSolver()
            stop = StopAtBound(searcher)
            stop.on_bound(TIER_PLACED, guide.bound)
            code = self._search_copy(searcher, TIER_PLACED, guide.support, held, ends - time.monotonic(),
                                     ProgressReporter(TIER_PLACED, progress, self.started, stop, guide.bound),
                                     placed_at_least=at_least, seed_offset=seed_offset)
            stop.close()
            return code, searcher

        # asks for the bound: none on networks, a second (the next seed) on large programs when the first runs out
        asks = 0 if pairs >= GUIDE_MAXIMISE_ONLY_PAIRS else 2 if pairs in GUIDE_RETRY_PAIRS else 1
        code = cp_model.UNKNOWN
        for attempt in range(asks):
            code, searcher = search(guide.settled, time.monotonic() + GUIDE_SEARCH_SHARE * seconds,
                                    at_least=guide.bound, seed_offset=attempt)
            if code != cp_model.UNKNOWN:
                break
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            until = time.monotonic() + (GUIDE_FALLBACK_SHARE if asks else GUIDE_MAXIMISE_ONLY_SHARE) * seconds
            code, searcher = search(guide.settled, until)
            if code == cp_model.INFEASIBLE and guide.settled:
                # The LP is a relaxation: a pair it uses whole may be in no schedule at all (medium programs 3-5: a
                # patient whom no schedule seats in a group the vertex gives them whole). Presolve finds that at
                # once (~0.01 s); the same pairs are then searched with none held.
                code, searcher = search((), until)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        placed = -int(round(searcher.objective_value))
        if placed == guide.bound:  # (above it the LP is wrong and proves nothing: the whole model is searched)
            return searcher
        if placed > self._hinted_placed():
            hint_complete_solution(model, searcher)
        return None

    def _hinted_placed(self) -> int:
        """How many patients the model's hint (the schedule in hand) places."""
        hint = self.schedule_model.model.proto.solution_hint
        hinted = dict(zip(hint.vars, hint.values))
        return sum(hinted.get(var.index, 0) for var in self.schedule_model.variables.placed)

    def _wait_for_guide(self, lp: BoundsBeside, seconds: float, progress: Optional[Progress]) -> bool:
        """Wait up to `seconds` for tier 1's LP; whether it ended. Meanwhile `progress` hears each
        `WAITING_REPORT_SECONDS` a "waiting" event with the count of the schedule in hand (the hint's), so a
        terminal's line keeps time: on networks the wait is ~25-40 s."""
        until = time.monotonic() + seconds
        while not lp.wait(min(WAITING_REPORT_SECONDS, until - time.monotonic())):
            if time.monotonic() >= until:
                return False
            if progress is not None:
                progress({"tier": TIER_PLACED, "event": "waiting", "value": self._hinted_placed(), "bound": None,
                          "elapsed": time.monotonic() - self.started})
        return True

    def _search_copy(self, searcher: cp_model.CpSolver, tier: int, allowed: Collection[tuple[int, int]],
                     held: Collection[tuple[int, int]], seconds: float,
                     callback: Optional[cp_model.CpSolverSolutionCallback] = None,
                     placed_at_least: Optional[int] = None, seed_offset: int = 0) -> int:
        """Search a copy of the model (its objective, rules and hint) in which a patient attends only the `allowed`
        (patient, block) pairs, and the `held` ones for certain, and (`placed_at_least`) at least that many patients
        are placed; CP-SAT's status. `seed_offset` is added to the tier's solver seed (a second try of the same copy).
        The copy's variables are the model's, so its schedule hints the model (`hint_complete_solution`) and reads as
        any solver's."""
        variables = self.schedule_model.variables
        copy = self.schedule_model.model.clone()
        for key, var in variables.attend.items():
            if key not in allowed or key in held:
                domain = copy.proto.variables[var.index].domain  # a Boolean's: [0, 1]
                domain[0] = domain[1] = 1 if key in held else 0
        if placed_at_least is not None:
            copy.add(cp_model.LinearExpr.sum(variables.placed) >= placed_at_least)
        apply_parameters(searcher, {**self.parameters[tier], **self._guide_parameters()})
        searcher.parameters.random_seed = (searcher.parameters.random_seed + seed_offset) % (2**31)
        searcher.parameters.max_time_in_seconds = max(0.05, seconds)
        return searcher.solve(copy, callback) if callback is not None else searcher.solve(copy)

    def _guide_parameters(self) -> dict:
        """What a copy's search takes on top of its tier's parameters, for this program's size."""
        if len(self.schedule_model.variables.attend) >= GUIDE_LINEARIZATION_PAIRS:
            return {**GUIDE_PARAMETERS, **GUIDE_LARGE_PARAMETERS}
        return GUIDE_PARAMETERS

    def _search_wishes_support(self, expression: cp_model.LinearExprT, deadline: float) -> None:
        """The wishes tier's first stage when guided: search the pairs an optimal vertex of the tier's LP uses
        (`week_hull.wishes_support`) and those of the schedule in hand, until `deadline`; the whole model's search
        then starts from its schedule when it costs the tier less. Nothing changes without a vertex in time.

        Why: the whole model's search improves the patients' weeks slowly (medium programs, ~10 s: 2-4 % above
        HiGHS's, which starts from its LP); over a half of the pairs around the LP's choices it matches HiGHS
        (benchmarks/RESULTS.md, sixteenth session)."""
        placed = self._placed_so_far()
        if placed is None or self.best is None:
            return
        problem, families = self.schedule_model.problem, self.schedule_model.families
        support = wishes_support(problem, families, placed, deadline - time.monotonic())
        if support is None:
            return
        self._search_pairs_in_hand(TIER_WISHES, expression, support, deadline)

    def _search_previous_weeks(self, expression: cp_model.LinearExprT, deadline: float) -> None:
        """The changes tier's first stage when re-planning: search a copy in which each patient placed before attends
        only pairs of their previous week and of the schedule in hand, and a patient not placed before (admitted since,
        or not placed then) any of theirs, until `deadline`; the whole model's search then starts from its schedule
        when it changes less.

        Why: the tier before it counts patients placed and nothing else, and its search reshuffles groups freely (large
        program 0 re-planned after 30 admissions, 30 s: 379 of the 491 patients kept had their week changed, and the
        whole search of the changes tier, with ~4 s left, undid few of those changes). With each patient's two weeks
        only, the copy finds the fewest changes among them in ~1 s: 0-5 patients moved after admissions on large
        programs 0-2 (benchmarks/RESULTS.md, twenty-fourth session). A patient not placed before has no previous week
        to go back to: held to their week in hand, they hold the seats that patients in treatment would go back to
        (large programs 0-2 after 1 in 25 patients were discharged, 30-s re-plans: 5-49 patients moved, median 35;
        with the patients not placed before free, 3-141, median 10; benchmarks/RESULTS.md, twenty-fifth session)."""
        placed_before = {p for p, _ in self.previous_attend}
        not_placed_before = {key for key in self.schedule_model.variables.attend if key[0] not in placed_before}
        self._search_pairs_in_hand(TIER_CHANGES, expression, self.previous_attend | not_placed_before, deadline)

    def _search_pairs_in_hand(self, tier: int, expression: cp_model.LinearExprT, pairs: Collection[tuple[int, int]],
                              deadline: float) -> None:
        """Search a copy in which patients attend only `pairs` and the schedule in hand's, until `deadline`; its
        schedule becomes the one in hand (and the hint) when it scores better on `expression`, the tier's."""
        searcher = cp_model.CpSolver()
        code = self._search_copy(searcher, tier, set(pairs) | self.best_week().attend, (), deadline - time.monotonic())
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) and searcher.value(expression) < self.best.value(expression):
            self.best = searcher
            hint_complete_solution(self.schedule_model.model, searcher)

    def _start_costs_lp(self) -> None:
        """Start the LP bound on the costs tier once, after tier 1, given the number tier 1 placed (when that
        tier is still to be solved). On networks only once the LP on patients placed has ended."""
        if (self.lp_bounds_until is None or TIER_COSTS not in self.lp_tiers or TIER_COSTS in self.lp_bounds
                or TIER_COSTS not in self.parameters):
            return
        latest = self._last_index(TIER_PLACED)
        if latest < 0 or self.outcomes[latest].value is None or self._last_index(TIER_COSTS) >= 0:
            return  # (a costs tier solved before tier 1, in a caller's order, was not held to the number placed)
        placed_lp = self.lp_bounds.get(TIER_PLACED)
        if (len(self.schedule_model.variables.attend) > SIDE_BY_SIDE_PAIRS and placed_lp is not None
                and not placed_lp.wait(0)):
            return
        if not self._lp_time_left(TIER_COSTS):
            return
        problem, families, until = self.schedule_model.problem, self.schedule_model.families, self.lp_bounds_until
        count = self.outcomes[latest].value
        self.lp_bounds[TIER_COSTS] = BoundsBeside(
            [(TIER_COSTS, lambda lp_solver: costs_lower_bound(problem, families, count, until - time.monotonic(),
                                                              lp_solver))])

    def collect_lp_bounds(self, progress: Optional[Progress] = None) -> None:
        """Each tier's bound from its LP, if it ended in time: the better of it and the search's, and the
        tier proven when its value meets it (reported to `progress` as an "lp_bound" event). An LP still
        running is cancelled, but for the one on patients placed after another tier: it is awaited until
        `lp_bounds_until`, as its bound is then the only one that holds unconditionally."""
        for tier, beside in self.lp_bounds.items():
            grace = 0.0
            if tier == TIER_PLACED and self.lp_bounds_until is not None and self._placed_after_other_tiers():
                grace = self.lp_bounds_until - time.monotonic()
            self._take_lp_bounds(beside.finish(grace), progress)

    @property
    def lp_errors(self) -> dict[int, Exception]:
        """What stopped or voided each tier's LP bound, if anything did."""
        return {tier: error for beside in self.lp_bounds.values() for tier, error in beside.errors.items()}

    def _take_lp_bounds(self, bounds: dict[int, int], progress: Optional[Progress]) -> None:
        for tier, bound in bounds.items():
            latest = self._last_index(tier)
            if latest < 0 or self.outcomes[latest].value is None:
                continue
            if tier != TIER_PLACED and latest < self._last_index(TIER_PLACED):
                continue  # solved before tier 1 fixed the number placed the LP assumed
            outcome = self.outcomes[latest]
            maximised = tier in MAXIMISED_TIERS
            if bound < outcome.value if maximised else bound > outcome.value:
                # beyond a schedule in hand: the LP is wrong, and proves nothing
                self.lp_bounds[tier].errors[tier] = ValueError(
                    f"LP bound {bound} beyond the schedule's {outcome.value} ({TIER_NAMES[tier]})")
                continue
            self.lp_bound_values[tier] = bound
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
        placed = self._placed_so_far()
        if tier != TIER_WISHES or placed is None:
            return None
        return wishes_floor(self.schedule_model, placed, deadline)

    def _placed_after_other_tiers(self) -> bool:
        """Whether a tier solved before tier 1 (pins held, the previously placed kept) conditions what tier 1's
        search proves. Its LP then runs on past a proof by the search, and is awaited: the LP's bound holds whatever
        was held."""
        return any(outcome.tier != TIER_PLACED for outcome in self.outcomes[:self._last_index(TIER_PLACED)])

    def _placed_so_far(self) -> Optional[int]:
        """The number placed by the latest tier 1 that found a schedule (held in the tiers after it), or None."""
        placed = [outcome.value for outcome in self.outcomes if outcome.tier == TIER_PLACED and outcome.value is not None]
        return placed[-1] if placed else None

    def start_from_previous_weeks(self, tier: int, seconds: float) -> None:
        """When the previous schedule no longer fits whole: search a copy of `tier` in which each patient attends only
        pairs of their previous week, for at most `seconds`; its schedule (as many previous weeks as still hold,
        whole or in part) becomes the one in hand, so `tier` starts from it. Nothing changes when none is found.

        Why: a previous schedule that breaks a rule (a group below its minimum after discharges, a clinician off) is
        only a partial hint; the first tier then starts from a schedule of its own and reshuffles groups freely (large
        programs 0-2 after 1 in 25 patients were discharged, 12 re-plans of 30 s: 17-173 patients moved, 722 in all;
        repaired first, 21-89 and 467; benchmarks/RESULTS.md, twenty-fifth session)."""
        model = self.schedule_model.model
        model.minimize(self.schedule_model.tier_expression(tier))
        searcher = cp_model.CpSolver()
        if self._search_copy(searcher, tier, self.previous_attend, (), seconds) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.best = searcher
            hint_complete_solution(model, searcher)

    def complete_hinted_schedule(self, seconds: float) -> None:
        """Complete a hinted week (`complete_hint`) and keep it as the schedule in hand, so the next tier starts from a
        complete schedule as it does after a tier of its own. Nothing changes when it does not finish in time."""
        solver = complete_hint(self.schedule_model.model, next(iter(self.parameters.values()), {}), seconds)
        if solver is not None:
            self.best = solver
