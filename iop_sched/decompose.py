"""Independent parts: sites that share no patient, clinician or room time are solved apart.

Two blocks belong to one part when one patient could attend both, one clinician
could staff both, or they overlap in the same physical room. Nothing else links
blocks before the costs tier: the number placed and the wishes tier are sums over
patients, so the optimum of each part adds up to the program's optimum, and each
part's bound is proven on its own. The costs tier weighs the busiest clinician of
the whole program, so it is solved on the whole model, with the parts' totals fixed
and their week (completed) as the hint. Measured with benchmarks/parts.py (generated
programs side by side; benchmarks/RESULTS.md): the same number placed, tier-1 proofs
as soon or sooner, the wishes tier lower (better) on every seed, the costs tier mixed
(a lower wishes value fixed first leaves it less room).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from .constraints.availability import Eligibility
from .constraints.base import MAXIMISED_TIERS, TIER_PLACED, TIER_WISHES
from .constraints.continuity import PreviousSchedule
from .constraints.rooms import double_booking_cliques
from .model import ConstraintFamily, build_model
from .schema import Problem
from .tier_runner import Progress, TierOutcome, TierRunner, hint_empty_schedule, hint_first_come_first_served

#: Tiers that are sums over patients and blocks, so each part can be optimised on its own (the costs
#: tier weighs the busiest clinician of the whole program; re-planning and pins are not split).
SEPARABLE_TIERS = (TIER_PLACED, TIER_WISHES)


@dataclass(frozen=True)
class Part:
    """Positions, in the whole problem's lists, of one part's patients and blocks."""

    patients: tuple[int, ...]
    blocks: tuple[int, ...]


class _Joined:
    """Union-find over block positions."""

    def __init__(self, size: int):
        self._parent = list(range(size))

    def root(self, item: int) -> int:
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]
            item = self._parent[item]
        return item

    def join(self, items: list[int]) -> None:
        for other in items[1:]:
            first, second = self.root(items[0]), self.root(other)
            if first != second:
                self._parent[max(first, second)] = min(first, second)


def independent_parts(problem: Problem, eligibility: Eligibility) -> list[Part]:
    """The parts that hold at least one patient with a reachable block, in order of their first block.

    Patients who can reach no block belong to no part (nobody can place them),
    nor do blocks no patient of the part's can reach unless a clinician or a room joins them.
    """
    joined = _Joined(len(problem.blocks))
    for blocks in eligibility.blocks_of_patient:
        joined.join(list(blocks))
    for blocks in eligibility.blocks_of_clinician:
        joined.join(list(blocks))
    for clique in double_booking_cliques(problem):
        joined.join(clique)
    blocks_of_root: dict[int, list[int]] = {}
    for b in range(len(problem.blocks)):
        blocks_of_root.setdefault(joined.root(b), []).append(b)
    patients_of_root: dict[int, list[int]] = {}
    for p, blocks in enumerate(eligibility.blocks_of_patient):
        if blocks:
            patients_of_root.setdefault(joined.root(blocks[0]), []).append(p)
    return [Part(tuple(patients_of_root[root]), tuple(blocks_of_root[root]))
            for root in sorted(patients_of_root)]


def part_problem(problem: Problem, part: Part) -> Problem:
    """The problem of one part: its patients and blocks, every room and clinician (ids stay resolvable).

    Clinicians of other parts can staff none of this part's blocks, so they get no variable.
    """
    return problem.model_copy(update={
        "patients": [problem.patients[p] for p in part.patients],
        "blocks": [problem.blocks[b] for b in part.blocks],
    })


def leading_separable(tiers: Sequence[int]) -> tuple[int, ...]:
    """The tiers at the head of `tiers` that parts can solve on their own."""
    leading: list[int] = []
    for tier in tiers:
        if tier not in SEPARABLE_TIERS:
            break
        leading.append(tier)
    return tuple(leading)


def as_minimised(tier: TierOutcome) -> int:
    """A tier's value as the model minimises it (tiers that count up are minimised as minus the count)."""
    return -(tier.value or 0) if tier.tier in MAXIMISED_TIERS else (tier.value or 0)


@dataclass
class PartsSolve:
    """The split tiers solved part by part: the merged week, the summed tier outcomes, what each part ran with."""

    week: PreviousSchedule   # in the whole problem's positions (the form a week is hinted from)
    tiers: list[TierOutcome]
    described: dict
    found: bool = False      # some part has a week (its own, or its first-come-first-served one)
    fallback: Optional[str] = None  # "first_come_first_served" when some part found nothing in time


def solve_parts(problem: Problem, eligibility: Eligibility, parts: list[Part], split: tuple[int, ...], *,
                more_tiers_follow: bool, deadline: float, shares: dict[int, float],
                families: Sequence[ConstraintFamily], parameters_for: Callable[[int, int], dict],
                warm_start: bool, progress: Optional[Progress], started: float) -> PartsSolve:
    """Solve the `split` tiers tier by tier, and within a tier part after part.

    A tier has the share of the time it would have on the whole model (`shares`; all that is
    left when it is the last tier); within it each part gets time in proportion to its eligible
    pairs, and what a part leaves (proven early) goes to the parts after it. A part's values
    add up: its patients placed and its wishes' cost are its own, and so are its bounds.
    """
    families = tuple(families)
    runners: list[TierRunner] = []
    starts = []
    for part in parts:
        sub = part_problem(problem, part)
        schedule_model = build_model(sub, families)
        hint_empty_schedule(schedule_model)
        starts.append(hint_first_come_first_served(sub, schedule_model, families) if warm_start else None)
        pairs = len(schedule_model.variables.attend)
        # parts are solved only without a previous schedule or pins, so the wishes tier starts from moves
        runners.append(TierRunner(schedule_model, {tier: parameters_for(tier, pairs) for tier in split}, started,
                                  move_patients=True))
    weights = [1 + sum(len(eligibility.blocks_of_patient[p]) for p in part.patients) for part in parts]
    for tier in split:
        remaining = max(0.05, deadline - time.monotonic())
        last = tier == split[-1] and not more_tiers_follow
        tier_deadline = time.monotonic() + (remaining if last else remaining * shares[tier])
        for k, runner in enumerate(runners):
            if runner.stopped:
                continue
            still = sum(weights[j] for j in range(k, len(parts)) if not runners[j].stopped)
            report = _part_progress(progress, k, parts, runners) if progress else None
            runner.solve_tier(tier, (tier_deadline - time.monotonic()) * weights[k] / still, report)
    week, found, fallback = PreviousSchedule(), False, None
    for part, runner, start in zip(parts, runners, starts):
        if runner.best is not None:
            best = runner.best_week()
            attend, staff, placed = best.attend, best.staff, best.placed
        elif start is not None:  # the solver found nothing in time: the part's first-come-first-served week
            attend, staff, placed = set(start.attend), set(start.staff), set(start.placed)
            fallback = "first_come_first_served"
        else:
            continue
        found = True
        week.attend |= {(part.patients[p], part.blocks[b]) for p, b in attend}
        week.staff |= {(c, part.blocks[b]) for c, b in staff}
        week.placed |= {part.patients[p] for p in placed}
    described = {"tiers_per_part": list(split), "parts": [
        {"patients": len(part.patients), "blocks": len(part.blocks),
         "tiers": {str(t): p for t, p in runner.parameters.items()}} for part, runner in zip(parts, runners)]}
    return PartsSolve(week, [_summed(tier, runners) for tier in split], described, found, fallback)


def _summed(tier: int, runners: list[TierRunner]) -> TierOutcome:
    """The program's outcome of a split tier: values and bounds add up; proven when every part's is."""
    outcomes = [next((t for t in runner.outcomes if t.tier == tier), None) for runner in runners]
    statuses = {t.status if t is not None and t.value is not None else "unknown" for t in outcomes}
    status = "optimal" if statuses == {"optimal"} else "feasible" if statuses <= {"optimal", "feasible"} else "unknown"
    bounds = [t.bound if t is not None else None for t in outcomes]
    return TierOutcome(tier, status,
                       sum(t.value or 0 for t in outcomes if t is not None),  # a part without a week: empty, 0
                       None if None in bounds else sum(bounds), sum(t.seconds for t in outcomes if t is not None))


def _part_progress(progress: Progress, k: int, parts: list[Part], runners: list[TierRunner]) -> Progress:
    """Report a part's progress as the whole program's: the other parts' values and bounds added.

    Parts that have not solved this tier yet count with the week they have (none: empty) and
    at their trivial bound (all their patients placed; no cost), so the bound stays a bound
    on the whole program.
    """
    waiting: dict[tuple[int, int], int] = {}  # (part, tier): the value of the week a part has before its turn

    def value_before_turn(j: int, tier: int) -> int:
        if (j, tier) not in waiting:
            best = runners[j].best
            expression = runners[j].schedule_model.tier_expression(tier)
            sign = -1 if tier in MAXIMISED_TIERS else 1
            waiting[j, tier] = sign * int(best.value(expression)) if best is not None else 0
        return waiting[j, tier]

    def report(update: dict) -> None:
        tier = update["tier"]
        value = bound = 0
        for j, runner in enumerate(runners):
            if j == k:
                continue
            done = next((t for t in runner.outcomes if t.tier == tier), None)
            trivial = len(parts[j].patients) if tier in MAXIMISED_TIERS else 0
            value += (done.value or 0) if done is not None else value_before_turn(j, tier)
            bound += done.bound if done is not None and done.bound is not None else trivial
        progress({**update, "part": f"{k + 1}/{len(parts)}",
                  "value": None if update["value"] is None else value + update["value"],
                  "bound": None if update["bound"] is None else bound + update["bound"]})
    return report
