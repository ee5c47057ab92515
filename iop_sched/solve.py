"""Solve the tiers in order: patients placed, then wishes, then costs.

Lexicographic by fixing (`iop_sched.tier_runner`): after each tier the best value found
is added as a constraint and the next tier is optimised with the previous solution as a
hint, so a lower tier can never buy anything with a placement (tier 1 is never traded).
A program that falls into independent parts has its separable tiers solved part by part
(`iop_sched.decompose`).

Solver parameters are pinned per tier (`TIER_PORTFOLIO`, reported in
`Schedule.stats["parameters"]`, measured in benchmarks/RESULTS.md):
- CP-SAT's default portfolio with 2 workers (one per core here) drops the LP-based
  workers, and the bound on patients placed never leaves its initial value; with
  8 workers on 2 cores each worker gets a quarter of a core. The pinned portfolio
  is two workers, one per core: the full-problem subsolver quick_restart with
  `linearization_level` 2 (its LP moves the bound; its restarts prove the number
  placed) and CP-SAT's LNS neighbourhoods on the other (they find the improving
  schedules). It proves the number placed on medium programs as soon as the
  three-worker portfolio it replaced (default_lp + quick_restart + LNS, one
  worker more than there are cores) and places more on large and network
  programs in the same time (benchmarks/RESULTS.md, fourth session). max_lp and
  core were measured too and did not help; CP-SAT silently keeps only as many
  listed subsolvers as it has full workers, so the list names exactly the one
  that runs (checked in the solver log).
- Per size: on multi-site networks (`LARGE_PROGRAM_PAIRS` eligible pairs or more) every tier
  presolves once instead of three rounds (`LARGE_PROGRAM_PRESOLVE`): presolve alone took ~8 s
  of each tier's solve. On large programs and networks (`LOWER_TIERS_LNS_PAIRS`) the wishes
  and costs tiers run LNS on both workers after one presolve round (`LOWER_TIERS_LNS`): there
  the full worker's bound does not move in time, the wishes tier's bound comes from
  `iop_sched.floors`, and three rounds took most of the costs tier's seconds.
- Per size: on programs of `PLACED_BOUND_PAIRS` eligible pairs, an LP with every patient's week
  whole (`iop_sched.week_hull`, HiGHS) bounds the number placed, solved beside tier 1's search
  (which stops once its count meets the bound: tier 1 is then proven), and on programs of
  `COSTS_BOUND_PAIRS` the model's LP bounds the costs tier, beside the searches after tier 1, each
  when enough time is left for it. On large programs the first is the optimum or one above it
  (500 / 527 / 530), where CP-SAT's own bound stays at 512-580, and on medium ones it proves the
  optimum as soon as the search finds it (program 0: median 3.3 s against 5.6 s); the costs tier's
  bound goes from 0 to ~72 % of its value on large programs. Not on independent parts (a program of
  one part only).
- Passing `workers=N` replaces the pinned portfolios by CP-SAT's own portfolio of N
  workers; `extra_parameters` override any parameter in every tier.
- Per size: the time is shared out tier by tier (`tier_share`): tier 1 takes 70 % of it (its count
  still grows past 60 % on large programs), 60 % on networks when the costs tier's LP can use the rest
  (`costs_lp_fits`: a 120-s run, not the CLI's 30 s); each later tier half of what is left, the last all of it.
- `random_seed` fixed (0) by default; `time_limit` is the whole budget over all tiers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

from .constraints import continuity, pins, symmetry
from .constraints.availability import compute_eligibility
from .constraints.base import CONDITIONAL_BOUND_KEYS, TIER_PINS
from .decompose import as_minimised, independent_parts, leading_separable, solve_parts
from .model import (FAMILIES, REPLANNING_TIERS, TIER_CHANGES, TIER_COSTS, TIER_KEEP, TIER_PLACED,
                    TIER_WISHES, TIERS, ConstraintFamily, ScheduleModel, build_model)
from .schema import Problem
from .tier_runner import (PlacedLP, Progress, TierOutcome, TierRunner, complete_hint, guide_can_wait,
                          hint_empty_schedule, hint_first_come_first_served, lp_seconds_needed)

if TYPE_CHECKING:
    from .result import Schedule

DEFAULT_TIME_LIMIT = 30.0
DEFAULT_WORKERS: Optional[int] = None  # None: the pinned portfolios of TIER_PORTFOLIO
MAX_WORKERS = 10_000  # CP-SAT's own limit: more is an invalid model
MAX_SEED = 2**31 - 1  # CP-SAT's random_seed is a 32-bit integer
#: CP-SAT parameters per tier when the caller does not choose the workers.
_PORTFOLIO = {"num_workers": 2, "subsolvers": ["quick_restart"], "linearization_level": 2}
TIER_PORTFOLIO: dict[int, dict] = {TIER_PLACED: _PORTFOLIO, TIER_WISHES: _PORTFOLIO, TIER_COSTS: _PORTFOLIO}
TIER_PORTFOLIO[TIER_KEEP] = TIER_PORTFOLIO[TIER_PINS] = TIER_PORTFOLIO[TIER_PLACED]
TIER_PORTFOLIO[TIER_CHANGES] = TIER_PORTFOLIO[TIER_WISHES]
#: Per size: from this many eligible (patient, block) pairs on (multi-site networks: ~47,000-53,000 in
#: the benchmark's network programs, ~13,000-16,000 in large ones), CP-SAT's presolve takes ~8 s of tier 1,
#: and one presolve round instead of three placed more (network, 3 seeds: 1249/1261/1280 against
#: 1236-1244/1242-1248/1277-1280). In tiers 2 and 3 too since the two-worker portfolio (network, 3 seeds:
#: wishes 1-4 % and costs 3-4 % lower on every seed, peak memory 1.17/1.60/1.58 GB against 1.06-1.38 GB;
#: with three workers it had gone over 2 GB). Large programs gained nothing, so stay as they are.
LARGE_PROGRAM_PAIRS = 30_000
LARGE_PROGRAM_PRESOLVE = {"max_presolve_iterations": 1}
#: Per size: from this many eligible pairs on (large programs and networks; medium ones have ~2,100-2,400),
#: the wishes and costs tiers run CP-SAT's LNS on both workers. Within their seconds the full-problem
#: worker's LP bound stays far below the floor that needs no search (`iop_sched.floors`) on the wishes
#: tier and at 0 on the costs tier, while a second LNS worker lowers the values: large, same tier-1
#: state, 12 s, wishes 1.5-6 % lower on seeds 0-2 (337140 against 348960 on seed 0), costs 1.2-1.7 % lower.
#: Medium programs keep the full worker: its bound is within 2-6 % there and can prove the tier.
#: And one presolve round, as on networks: on large programs three took 3.9 s of the wishes tier's 5.1-s solve
#: and 5.3 s of the costs tier's 8.4-s solve (large program 1, 60-s run), one takes 1.5 s and 1.9 s; with
#: three, the costs tier sometimes had no time to better the wishes tier's schedule (81,710 against ~67,000).
LOWER_TIERS_LNS_PAIRS = 10_000
LOWER_TIERS_LNS = {"use_lns_only": True, "max_presolve_iterations": 1}
#: Per size: on networks (`LARGE_PROGRAM_PAIRS`) tier 1's search takes these too when no LP on patients placed runs
#: beside it (a run too short for that LP, the CLI's 30 s): LNS on both workers, as in the lower tiers. Without the
#: LP nothing proves the count there (CP-SAT's bound stays at 1386 on network program 0 either way, the optimum is
#: ~1258), and a second LNS worker places more than the full worker: network programs 0-2, 30-s solves, solver seeds
#: 0-3: 1223.5 / 1225.5 / 1262.5 placed (medians) against 1219 / 1203.5 / 1259, more in 10 of 12 runs (+131 in all;
#: measured with `extra_parameters`). In 60-s solves, where the LP runs beside tier 1, the two were level (+7 in 6
#: runs), so the full worker stays there. With `PLACED_SHARE` as well (the final code, the same runs): 1229.5 / 1218.5
#: / 1260 against 1202 / 1181.5 / 1245 before either change, more in all 12 (+310).
UNBOUNDED_NETWORK_PLACED = {"use_lns_only": True}
#: Per size: the LP bound of `iop_sched.week_hull` on patients placed runs on programs with this many
#: eligible pairs, when the time left is enough for it (`tier_runner.lp_seconds_needed`). Large programs
#: (~13,000-16,000) take 4-6 s for it alone, and CP-SAT's own bound on tier 1 stays 3-15 % above the
#: optimum there. Medium ones (~2,100-2,700) take ~0.5 s on HiGHS, and tier 1 is proven as soon as its
#: search finds the LP's bound: medium program 0 (LP 138, the optimum), tier 1 alone, solver seeds 0-5,
#: proven at 2.6-4.2 s (median 3.3 s) against 4.2-6.4 s (5.6 s) without it; programs 1 (LP 133, optimum
#: 132) and 2 no slower (medians 7.9/1.5 s against 8.2/1.9 s). (On CLP, ~1 s, it had made them no faster:
#: medians 2.49/4.74/1.19 s against 2.75/4.32/0.81 s.) Small programs (~250-300) are proven in a fraction
#: of a second by CP-SAT alone. Network programs (~47,000-53,000) take 27 s alone, ~500 MB (program 0);
#: the cap keeps larger ones out. (Since the eighteenth session medium programs' LP has the clinicians' weeks
#: whole too, `week_hull.CLINICIAN_HULL_PAIRS`: program 1's bound is 132, its optimum.)
PLACED_BOUND_PAIRS = range(1_000, 60_001)
#: Per size: the LP bound on the costs tier (the model's LP with the number placed held) runs on programs
#: with this many eligible pairs: 4.1-5.0 s alone on large programs, 21 s on network program 0. On medium
#: ones CP-SAT's own bound on that tier is better than the LP's (13,925 against 13,234 on medium 0).
COSTS_BOUND_PAIRS = range(5_000, 60_001)
#: Per size: on programs with this many eligible pairs tier 1 first waits for the LP on patients placed and
#: searches only the pairs an optimal vertex of it uses (`TierRunner(guided_tiers=...)`); the whole model's search
#: follows, from that schedule, unless it met the LP's bound. Medium programs 0 / 1 / 2, tier 1 alone, solver seeds
#: 0-5: see benchmarks/RESULTS.md, sixteenth session. Large programs (~13,000-16,000 pairs) since the seventeenth
#: (tier 1 alone, 42 s, solver seeds 0-2: 499 / 527 (proven at 8.4-9.9 s) / 529 on every seed against 499-500 /
#: 525-526 / 526-528 unguided; before that session a copy holding pairs no schedule can use was infeasible there, and
#: the guide had lost). Since the nineteenth its held pairs are usable there (patients whom no week fits no longer sit
#: in the LP's groups): program 0 is proven (500) at 5.6-8.2 s in four runs of five. Since the twentieth the copy asks
#: first for the bound itself: programs 0 and 1 proven at 5.0-7.3 s and 6.1-7.8 s on every solver seed 0-2 (program
#: 1 took 13.6-15.1 s). Networks (~47,000-53,000) since the twentieth too: their LP ends at 26-39 s of a 72-s tier 1,
#: and the copy that maximises then places 1257 / 1272 / 1292 on network programs 0-2 where the whole search alone
#: placed 1251 / 1261 / 1289 (tier 1 alone, 72 s, solver seed 0; the bounds are 1258 / 1277 / 1295). Since the
#: twenty-third their copy is not asked for the bound and maximises for longer (`tier_runner.GUIDE_MAXIMISE_ONLY_PAIRS`).
PLACED_GUIDED_PAIRS = range(1_000, 60_001)
#: Per size: on programs with this many eligible pairs the wishes tier first searches the pairs of its own LP's
#: vertex and of the schedule in hand. Large programs are left out: that LP takes 9-14 s alone there (large programs
#: 0-2, HiGHS's interior point; its dual simplex 44 s), more than the ~9 s the wishes tier has in a 60-s run.
WISHES_GUIDED_PAIRS = range(1_000, 10_000)
#: Share of the remaining budget a tier may use when later tiers still wait (`tier_share`).
TIER_BUDGET_SHARE = {TIER_PINS: 0.2, TIER_KEEP: 0.3, TIER_PLACED: 0.6, TIER_CHANGES: 0.5, TIER_WISHES: 0.5, TIER_COSTS: 1.0}
#: Tier 1's share, in place of `TIER_BUDGET_SHARE`'s, below `LARGE_PROGRAM_PAIRS` eligible pairs and on networks whose
#: costs LP would not end in what 0.6 leaves (`costs_lp_fits`). On large programs its count still grows at 36 s of a
#: 60-s run (0.6; programs 0-2, 18 runs of tier 1 alone: 9,288 placed at 36 s, 9,302 at 42 s, 9,316 at 60 s) while the
#: wishes and costs tiers are far from their bounds anyway, and patients placed come first. Smaller programs prove
#: tier 1 within seconds, so it ends sooner whatever its share. Networks keep 0.6 when the costs tier's LP can use the
#: ~40 s left after tier 1 of a 120-s run (`tier_runner.lp_seconds_needed`); in shorter runs nothing would use them,
#: while tier 1's count still grows fast at its end (network program 0, 30 s: 1,150 placed at 15.9 s, 1,193 at 19.0 s).
#: Network programs 0-2, solver seeds 0-3, 30-s solves: 1219 / 1203.5 / 1259 placed (medians) against 1202 / 1181.5 /
#: 1245 with 0.6, more in 11 of 12 runs (+184 in all). 60-s solves, seeds 0-1: +18 in 6 runs (-3 to +10 a run), the
#: wishes tier 3-5 % and the costs tier 2-14 % higher for their fewer seconds (benchmarks/RESULTS.md, twenty-sixth
#: session).
PLACED_SHARE = 0.7
#: At most this share of the budget completes the hinted week (first-come-first-served, or the previous schedule when
#: re-planning; one that no longer fits is repaired instead) before the first tier (`tier_runner.complete_hint`: medium
#: programs ~0.05 s, large ~0.25 s, networks ~0.9 s; on large ones it ends while tier 1's LP is still solving).
HINT_COMPLETION_SHARE = 0.1


def tier_share(tier: int, eligible_pairs: int, seconds: float = math.inf) -> float:
    """The share of the remaining budget (`seconds`, when known) `tier` may use when later tiers still wait, for a
    program of `eligible_pairs` (patient, block) pairs.

    On networks tier 1 leaves the later tiers more than on smaller programs only for the costs tier's LP; when what it
    leaves would be too short for that LP (`costs_lp_fits`), or no such LP runs (`seconds` 0), tier 1 takes the share
    it has on smaller programs."""
    if tier == TIER_PLACED and (eligible_pairs < LARGE_PROGRAM_PAIRS or not costs_lp_fits(eligible_pairs, seconds)):
        return PLACED_SHARE
    return TIER_BUDGET_SHARE[tier]


def costs_lp_fits(eligible_pairs: int, seconds: float) -> bool:
    """Whether the costs tier's LP can end in what tier 1's network share leaves of `seconds` (it starts after tier 1)."""
    return (eligible_pairs in COSTS_BOUND_PAIRS
            and (1 - TIER_BUDGET_SHARE[TIER_PLACED]) * seconds >= lp_seconds_needed(eligible_pairs, TIER_COSTS))


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
    #: the LP's bound on patients placed (`iop_sched.week_hull`), when it ended in time: it holds with no tier
    #: before tier 1 (pins, the previous schedule), unlike tier 1's own bound then
    placed_lp_bound: Optional[int] = None

    @property
    def status(self) -> str:
        """optimal only when every tier is proven; feasible with any schedule; unknown without one."""
        if not self.found:
            return "unknown"
        if self.tiers and all(t.status == "optimal" for t in self.tiers):
            return "optimal"
        return "feasible"


def tier_parameters(tier: int, workers: Optional[int], seed: int, log: bool, extra: Optional[dict],
                    eligible_pairs: int = 0) -> dict:
    """The CP-SAT parameters one tier runs with (its time limit is set separately, from the budget).

    `eligible_pairs` (patient, block) sizes the program: from `LARGE_PROGRAM_PAIRS` on, every
    tier also takes `LARGE_PROGRAM_PRESOLVE`.
    """
    parameters: dict = {"random_seed": int(seed), "log_search_progress": bool(log)}
    if workers is None:
        parameters.update(TIER_PORTFOLIO[tier])
        if eligible_pairs >= LARGE_PROGRAM_PAIRS:
            parameters.update(LARGE_PROGRAM_PRESOLVE)
        if eligible_pairs >= LOWER_TIERS_LNS_PAIRS and tier in (TIER_WISHES, TIER_COSTS):
            parameters.update(LOWER_TIERS_LNS)
    else:
        parameters["num_workers"] = int(workers)
    parameters.update(extra or {})
    return parameters


def unbounded_placed_parameters(workers: Optional[int], eligible_pairs: int, extra: Optional[dict]) -> dict:
    """What tier 1's search takes on top of its parameters when no LP on patients placed runs beside it: on networks,
    with the pinned portfolio, `UNBOUNDED_NETWORK_PLACED`, but for what the caller's `extra` parameters set."""
    if workers is not None or eligible_pairs < LARGE_PROGRAM_PAIRS:
        return {}
    return {name: value for name, value in UNBOUNDED_NETWORK_PLACED.items() if name not in (extra or {})}


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
) -> SolveOutcome:
    """Build and solve the model tier by tier within `time_limit` seconds in all.

    `tiers`: which tiers, in order (default: all). `previous`: a previous schedule
    document to re-plan from (adds the keep and changes tiers, hints the solver).
    `warm_start`: start the search from the first-come-first-served schedule.
    `decompose`: when the program falls into independent parts (`iop_sched.decompose`),
    solve the leading separable tiers part by part (not with pins or a previous schedule).
    """
    if not math.isfinite(time_limit) or time_limit <= 0:
        raise ValueError("time_limit must be a positive, finite number of seconds")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be from 1 to {MAX_WORKERS}")
    if not -MAX_SEED <= seed <= MAX_SEED:
        raise ValueError(f"seed must be from {-MAX_SEED} to {MAX_SEED}")
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
    eligibility = compute_eligibility(problem)
    pairs = sum(map(len, eligibility.blocks_of_patient))  # eligible (patient, block) pairs: the program's size
    deadline = started + time_limit
    split = leading_separable(tiers) if decompose and earlier is None and not has_pins else ()
    parts = independent_parts(problem, eligibility) if split else []
    lp_tiers = [tier for tier, window in ((TIER_PLACED, PLACED_BOUND_PAIRS), (TIER_COSTS, COSTS_BOUND_PAIRS))
                if pairs in window]
    guided_tiers = [tier for tier, window in ((TIER_PLACED, PLACED_GUIDED_PAIRS), (TIER_WISHES, WISHES_GUIDED_PAIRS))
                    if pairs in window]
    if TIER_PLACED in guided_tiers and not guide_can_wait(pairs, tier_share(TIER_PLACED, pairs, time_limit) * time_limit):
        guided_tiers.remove(TIER_PLACED)  # its search runs from the start, its LP beside it
    placed_lp = None
    if (tiers and tiers[0] == TIER_PLACED and len(parts) <= 1 and TIER_PLACED in lp_tiers
            and TIER_PLACED in guided_tiers and deadline - time.monotonic() >= lp_seconds_needed(pairs)):
        # tier 1's guiding LP is built first, so HiGHS solves it while the model is built (`PlacedLP`); beside
        # that Python, HiGHS must not call back into Python (`RelaxationSolver`)
        placed_lp = PlacedLP(problem, families, deadline, guided=True, eligibility=eligibility, interruptible=False)
    schedule_model = build_model(problem, families, eligibility)
    model = schedule_model.model
    variables = schedule_model.variables
    outcome = SolveOutcome(schedule_model)
    outcome.previous = earlier
    per_tier = {tier: tier_parameters(tier, workers, seed, log, extra_parameters, pairs)
                for tier in tiers}
    outcome.parameters = {"time_limit": float(time_limit), "tiers": {str(t): p for t, p in per_tier.items()}}

    runner = TierRunner(schedule_model, per_tier, started, move_patients=earlier is None and not has_pins,
                        lp_bounds_until=deadline if lp_tiers else None, lp_tiers=lp_tiers,
                        guided_tiers=guided_tiers, placed_lp=placed_lp,
                        previous_attend=earlier.attend if earlier is not None else (),
                        placed_without_lp=unbounded_placed_parameters(workers, pairs, extra_parameters))
    hint_empty_schedule(schedule_model)
    start: Optional[continuity.PreviousSchedule] = None  # the week returned when no tier below finds one
    start_from: Optional[str] = None  # what `start` is when it is not the solver's own
    if len(parts) > 1:
        runner.lp_bounds_until = None  # tier 1 is the parts' sum here: no LP bounds (see PLACED_BOUND_PAIRS)
        solved = solve_parts(
            problem, schedule_model.eligibility, parts, split, more_tiers_follow=len(tiers) > len(split),
            deadline=deadline, shares={tier: tier_share(tier, pairs, 0.0) for tier in TIER_BUDGET_SHARE},  # no LPs
            families=families, warm_start=warm_start,
            parameters_for=lambda tier, part_pairs: tier_parameters(tier, workers, seed, log, extra_parameters, part_pairs),
            progress=progress, started=started)
        outcome.tiers.extend(solved.tiers)
        outcome.parameters["independent_parts"] = solved.described
        outcome.fallback = solved.fallback
        for tier in solved.tiers:  # the later tiers keep the parts' totals (lexicographic by fixing)
            model.add(schedule_model.tier_expression(tier.tier) <= as_minimised(tier))
        tiers = tuple(tiers[len(split):])
        continuity.hint_previous(model, variables, solved.week)
        if solved.found:
            start = solved.week  # no tier after the parts may find a schedule in time: the parts' week stands
            if tiers:
                runner.complete_hinted_schedule(0.1 * (deadline - time.monotonic()))
    elif earlier is not None:
        # re-planning: the search starts from the previous schedule as far as it still fits
        continuity.hint_previous(model, variables, earlier)
    elif warm_start:
        start = hint_first_come_first_served(problem, schedule_model, tuple(families))
        # The solver may find nothing within the time limit (a large program, a short limit: presolve
        # alone can take seconds). The first-come-first-served week is a valid schedule: returned, marked so.
        start_from = "first_come_first_served"
    if tiers and len(parts) <= 1 and (earlier is not None or warm_start):
        # the hinted week whole, so the first tier starts from it (`complete_hint`; a previous schedule only when all of
        # it still fits: large program 0 re-planned after 30 admissions, the first tier then kept all 491 patients at
        # once, against 487 in 8.9 s). One that no longer fits (a group below its minimum after discharges) is first
        # repaired within the same share: the previous weeks as far as they still hold (`start_from_previous_weeks`).
        completion_ends = time.monotonic() + HINT_COMPLETION_SHARE * (deadline - time.monotonic())
        completed = complete_hint(model, per_tier[tiers[0]], completion_ends - time.monotonic())
        if completed is None and earlier is not None:
            runner.start_from_previous_weeks(tiers[0], completion_ends - time.monotonic())

    for tier in tiers:
        remaining = max(0.05, deadline - time.monotonic())
        share = 1.0 if tier == tiers[-1] else tier_share(tier, pairs, remaining)
        runner.solve_tier(tier, remaining * share, progress)
        if runner.stopped:
            break
    runner.collect_lp_bounds(progress)
    if runner.placed_without_lp_used:
        outcome.parameters["tiers"][str(TIER_PLACED)] = {**per_tier[TIER_PLACED], **runner.placed_without_lp}
    outcome.tiers.extend(runner.outcomes)
    outcome.placed_lp_bound = runner.lp_bound_values.get(TIER_PLACED)
    best = runner.best

    if best is not None:
        outcome.found = True
        outcome.attend = {key: bool(best.boolean_value(var)) for key, var in variables.attend.items()}
        outcome.staff = {key: bool(best.boolean_value(var)) for key, var in variables.staff.items()}
        outcome.placed = [bool(best.boolean_value(var)) for var in variables.placed]
    elif start is not None:
        outcome.found = True
        outcome.fallback = start_from or outcome.fallback
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
    # that holds under that condition only: report it as such, and as placed_bound only what holds without
    # it: the LP's bound when it ended in time, otherwise the number of patients.
    conditional = []
    if any(t.tier == TIER_PINS for t in outcome.tiers):
        conditional.append(CONDITIONAL_BOUND_KEYS[TIER_PINS])
    if outcome.previous is not None:
        conditional.append(CONDITIONAL_BOUND_KEYS[TIER_KEEP])
    for key in conditional:
        stats[key] = stats["placed_bound"]
    if conditional:
        lp_bound, patients = outcome.placed_lp_bound, len(problem.patients)
        stats["placed_bound"] = patients if lp_bound is None else min(patients, max(placed, lp_bound))
    schedule = Schedule(problem, outcome.status, rosters, weeks, stats)
    explanations = explain_unplaced(problem, outcome.schedule_model.eligibility, schedule.to_dict())
    for week in schedule.patients:
        if week.id in explanations:
            week.reasons = explanations[week.id].sentences
            week.why = explanations[week.id].why
    return schedule
