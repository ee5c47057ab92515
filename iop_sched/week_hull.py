"""An upper bound on patients placed, from the model's LP with every patient's week whole.

Why: CP-SAT's bound on patients placed comes from an LP in which a patient can make up
their weekly hours with fractions of scarce groups (benchmarks/RESULTS.md, seventh
session: the bound is lost in the patients' weeks, not in the groups), so on large
programs it stays 3-15 % above the optimum and the count is never proven. Each patient's
valid weeks are the paths of a small layered graph: one layer per day, a day's choice of
groups per arc, the state the week so far (minutes, days, required topics, each capped at
what the rules ask). A flow of `placed[p]` through it is an extended formulation of the
week hull: its LP is as strong as one column per week (medium program 0: 138.28 both ways,
against 141.46 for the plain LP) with ~90 arcs a patient instead of ~600 weeks; states whose rest of the week is
the same are one node (`week_graph`), which takes a quarter of the arcs off again. On medium
programs (`CLINICIAN_HULL_PAIRS`) the clinicians' weeks are whole as well (`iop_sched.clinician_hull`).

`placed_upper_bound` solves that LP (HiGHS's interior-point method) with the rows of the
families that decide who can be placed, and rounds down a bound computed from the LP's
duals, valid whatever the LP solver's tolerances; tier 1 is proven when the number placed
meets it (large programs 0 / 1 / 2: bounds 500 / 527 / 530 in 3.3-4.8 s, where CP-SAT's own stay
at 512-580). Identical patients share one flow (`identical_weeks`): the same bound from an LP
half the size (network program 0: 1258 in 27 s against 56 s; 21 s with the states merged). `costs_lower_bound` minimises the costs tier over the model's LP with at least
the number placed: on large programs that tier is searched by LNS alone, whose bound is 0.
`BoundsBeside` runs them in threads beside the searches (`TierRunner`: the first with tier 1's, the
second after it).

The graph keeps every week the model allows (it forgets only the weekly maximum and, with a
weekly minimum of 0, that a placed patient attends a group), and rules are only ever left out,
so the LP is a relaxation of the model and its bound never cuts a schedule off
(tests/test_week_hull.py checks both).
"""

from __future__ import annotations

import atexit
import math
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple, Optional, Sequence

from ortools.sat.python import cp_model

from .clinician_hull import add_clinician_flows, add_second_clinician_rows
from .constraints import costs, group_size, patient_week, rooms, staffing, topics, wishes
from .constraints.base import TIER_COSTS, TIER_PLACED, TIER_WISHES
from .lp_relaxation import LinearRelaxation, RelaxationSolver, merge_interchangeable, model_relaxation
from .schema import Problem
from .weektime import MINUTES_PER_DAY, overlap_cliques

if TYPE_CHECKING:
    from .constraints.availability import Eligibility
    from .model import ConstraintFamily, ScheduleModel

#: the constraint families that decide who can be placed (the others rank schedules or break symmetry)
PLACING_FAMILIES = (group_size.add, staffing.add, rooms.add)
#: the families whose terms make up each tier whose LP is solved here (beside those that decide who can be placed)
TIER_FAMILIES = {TIER_PLACED: (), TIER_WISHES: (wishes.add,), TIER_COSTS: (costs.add,)}
#: a day with more choices than this (no daily limit, many short groups) leaves the patient out of the hull
MAX_CHOICES_PER_DAY = 256
#: a patient whose graph would pass this many arcs keeps only the model's own rows (still a valid bound)
MAX_ARCS_PER_PATIENT = 20_000
#: Per size: below this many eligible pairs the LP with whole weeks also has each clinician's week whole and a row
#: for a block's second clinician (`iop_sched.clinician_hull`). Medium programs (~2,100-2,700 pairs): program 1's
#: bound becomes its optimum (132, was 133) and tier 1 alone is proven at ~1 s where it took 4.5-9.4 s; program 4's
#: vertex changes and its proof takes ~1.5 s instead of ~3.2 s; where the old bound was already the optimum the proof
#: takes ~0.1-0.5 s longer (the crossover of a larger LP; programs 2, 3, 5-8). Over programs 0-8, tier 1 alone: mean
#: 1.45 s against 2.11 s, slowest 1.99 s against 6.58 s, median 1.49 s against 1.33 s.
#: Large programs (~13,000-16,000) are left out: their bounds are already the optima, and their LP with a vertex took
#: 8.5-10 s instead of 5-6 s (program 1 proven at 29 s instead of 8-10 s). Networks' bound stayed 1258 (program 0).
CLINICIAN_HULL_PAIRS = 10_000
#: the bound's rounding margin: a bound within this of an integer counts as that integer
INTEGRALITY_MARGIN = 1e-6
#: a vertex's column value above this counts as used (`placed_relaxation`, `wishes_support`)
SUPPORT_TOLERANCE = 1e-6

State = tuple[int, int, tuple[int, ...]]  # minutes so far, days used, count per required topic (each capped)
Node = tuple[int, int]                    # (layer, name); layer k is before the k-th day with a group


class Arc(NamedTuple):
    """One day's choice in a patient's week: from a state to the next, attending `blocks` that day. (A named tuple,
    not a frozen dataclass: a large program's LP makes ~60,000 of them, and a frozen dataclass is slow to build.)"""

    tail: Node
    head: Node
    blocks: tuple[int, ...]


@dataclass(frozen=True)
class WeekGraph:
    """Every valid week of one patient as a path from `source` to any node of the last layer."""

    source: Node
    arcs: tuple[Arc, ...]


class GraphTooLarge(Exception):
    """A patient's week graph passed its size limit: the patient keeps only the model's own rows."""


def _day_choices(problem: Problem, day_blocks: Sequence[int]) -> list[tuple[int, ...]]:
    """Every set of one day's groups a patient can attend together (no overlap, within the daily limit)."""
    limit = problem.max_minutes_per_day()
    ordered = sorted(day_blocks, key=lambda b: problem.blocks[b].interval)
    choices: list[tuple[int, ...]] = []

    def extend(chosen: tuple[int, ...], after: int, minutes: int, free_from: int) -> None:
        choices.append(chosen)
        if len(choices) > MAX_CHOICES_PER_DAY:
            raise GraphTooLarge
        for i in range(after, len(ordered)):
            block = problem.blocks[ordered[i]]
            if block.interval[0] < free_from or (limit is not None and minutes + block.minutes > limit):
                continue
            extend(chosen + (ordered[i],), i + 1, minutes + block.minutes, block.interval[1])

    extend((), 0, 0, -1)
    return choices


def week_graph(problem: Problem, patient_index: int, blocks: Iterable[int],
               with_topics: bool = True) -> Optional[WeekGraph]:
    """The patient's week graph over the groups they can reach; None when no week of theirs is valid.

    Raises GraphTooLarge past `MAX_CHOICES_PER_DAY` or `MAX_ARCS_PER_PATIENT`.
    """
    patient = problem.patients[patient_index]
    need = problem.min_minutes_for(patient)
    min_days = problem.program.rules.min_days_per_week
    limit = problem.max_minutes_per_day()
    if limit is not None and limit > 0 and math.ceil(need / limit) >= min_days:
        min_days = 0  # the weekly minutes already take that many days: the days need no state of their own
    required = problem.required_topics_for(patient) if with_topics else {}
    topic_names = sorted(required)
    by_day: dict[int, list[int]] = defaultdict(list)
    for b in blocks:
        by_day[problem.blocks[b].interval[0] // MINUTES_PER_DAY].append(b)
    days = sorted(by_day)
    choices = [_day_choices(problem, by_day[day]) for day in days]

    caps = tuple(required[name] for name in topic_names)
    # what each day's choice adds to the state: minutes, a day, the topics' counts (worked out once per choice)
    effect = {choice: (sum(problem.blocks[b].minutes for b in choice), 1 if choice else 0,
                       tuple(sum(1 for b in choice if problem.blocks[b].topic == name) for name in topic_names))
              for layer_choices in choices for choice in layer_choices}

    def complete(state: State) -> bool:
        minutes, used, counts = state
        return minutes >= need and used >= min_days and all(
            counts[i] >= required[name] for i, name in enumerate(topic_names))

    source_state: State = (0, 0, tuple(0 for _ in topic_names))
    layers: list[set[State]] = [{source_state}]
    # each layer's moves, worked out once: state -> [(choice, the state it leads to)], read again by the backward pass
    # (a large program's LP: ~57,000 moves; worked out by a function per read, its week graphs took 0.25-0.33 s)
    moves: list[dict[State, list[tuple[tuple[int, ...], State]]]] = []
    for layer_choices in choices:
        if len(layers[-1]) * len(layer_choices) > MAX_ARCS_PER_PATIENT:  # checked before the work, not after
            raise GraphTooLarge
        layer_moves: dict[State, list[tuple[tuple[int, ...], State]]] = {}
        heads: set[State] = set()
        for state in layers[-1]:
            minutes, used, counts = state
            out = []
            for choice in layer_choices:
                add_minutes, add_day, add_counts = effect[choice]
                head = (min(need, minutes + add_minutes), min(min_days, used + add_day),
                        tuple(min(cap, count + added) for cap, count, added in zip(caps, counts, add_counts))
                        if caps else ())
                out.append((choice, head))
                heads.add(head)
            layer_moves[state] = out
        moves.append(layer_moves)
        layers.append(heads)
    # Backward, each state from which a complete week is still reachable is named by its moves to the next layer's
    # names: the states of a layer with the same moves have the same rest of the week, so they are one node. The
    # paths (the weeks) are the same, so the LP's bound is too, from fewer arcs (large programs: ~27 % fewer arcs and
    # ~35 % fewer nodes).
    names: list[dict[State, int]] = [{} for _ in layers]
    names[-1] = {state: 0 for state in layers[-1] if complete(state)}
    nodes: list[dict[tuple[tuple[tuple[int, ...], int], ...], int]] = [{} for _ in choices]  # moves -> name
    for k in range(len(choices) - 1, -1, -1):
        ahead, layer_nodes = names[k + 1], nodes[k]
        for state in layers[k]:
            named_moves = tuple((choice, ahead[head]) for choice, head in moves[k][state] if head in ahead)
            if named_moves:
                names[k][state] = layer_nodes.setdefault(named_moves, len(layer_nodes))
    if source_state not in names[0]:
        return None
    arcs = [Arc((k, tail), (k + 1, head), choice)
            for k, layer_nodes in enumerate(nodes) for named_moves, tail in layer_nodes.items()
            for choice, head in named_moves]
    if len(arcs) > MAX_ARCS_PER_PATIENT:
        raise GraphTooLarge
    return WeekGraph((0, names[0][source_state]), tuple(arcs))


def add_week_flows(relaxation: LinearRelaxation, problem: Problem, placed: Sequence[int],
                   attend: dict[tuple[int, int], int], blocks_of_patient: Sequence[Sequence[int]],
                   with_topics: bool = True, stop: Callable[[], bool] = lambda: False,
                   copies: Optional[Sequence[int]] = None) -> Optional[int]:
    """Each patient's week as a flow of `placed` through their week graph; returns the arcs added,
    or None when `stop` said to stop (checked patient by patient).

    `placed` and `attend` are the model's column indices. A patient with no valid week is fixed
    unplaced and out of every group (otherwise the LP seats them at no cost, filling groups' minimum sizes, and
    an optimal vertex uses such pairs whole: medium program 3's patient 88 in seven groups, two of them at the same
    hour); one whose graph is too large keeps the model's own rows of a week (`_add_week_rows`). `copies[p]`: how many
    identical patients p's columns stand for (`lp_relaxation.merge_interchangeable`; 0: merged into
    another's, no flow), 1 each by default.
    """
    arcs_added = 0
    for p, blocks in enumerate(blocks_of_patient):
        if stop():
            return None
        count = 1 if copies is None else copies[p]
        if count == 0:
            continue
        try:
            graph = week_graph(problem, p, blocks, with_topics) if blocks else None
        except GraphTooLarge:
            _add_week_rows(relaxation, problem, p, placed[p], {b: attend[p, b] for b in blocks})
            continue
        if graph is None:  # no valid week: never placed, so never in a group (attending implies placed)
            for column in [placed[p]] + [attend[p, b] for b in blocks]:
                relaxation.column_upper[column] = min(relaxation.column_upper[column], 0.0)
            continue
        through = relaxation.add_flow(((arc.tail, arc.head, arc.blocks) for arc in graph.arcs), float(count),
                                      graph.source, ([placed[p]], [-1.0], 0.0, 0.0))  # as much flow as placed[p]
        arcs_added += len(graph.arcs)
        for b in blocks:
            relaxation.rows.append((through[b] + [attend[p, b]], [1.0] * len(through[b]) + [-1.0], 0.0, 0.0))
    return arcs_added


def _add_week_rows(relaxation: LinearRelaxation, problem: Problem, p: int, placed: int, attend: dict[int, int]) -> None:
    """Patient p's week as the model's own rows (`constraints.patient_week`), for a patient whose graph is too large:
    a group only when placed (tighter than the minutes' rows alone: tests/test_week_hull.py), at most one group at a
    time, weekly minutes between the patient's minimum and maximum.

    Why: the whole-week LP leaves the patient_week family out (the flows stand for it), so without these such a
    patient would count as placed for nothing and sit in groups at no cost. Each row holds for one patient and, summed,
    for a class of identical patients sharing these columns (`copies`)."""
    for column in attend.values():
        relaxation.rows.append(([column, placed], [1.0, -1.0], -math.inf, 0.0))
    for clique in overlap_cliques({b: problem.blocks[b].interval for b in attend}):
        relaxation.rows.append(([attend[b] for b in clique] + [placed], [1.0] * len(clique) + [-1.0], -math.inf, 0.0))
    patient = problem.patients[p]
    minutes = [float(problem.blocks[b].minutes) for b in attend]
    for bound, lower, upper in ((problem.min_minutes_for(patient), 0.0, math.inf),
                                (problem.max_minutes_for(patient), -math.inf, 0.0)):
        relaxation.rows.append((list(attend.values()) + [placed], minutes + [-float(bound)], lower, upper))


def identical_weeks(problem: Problem, blocks_of_patient: Sequence[Sequence[int]], with_topics: bool) -> list[list[int]]:
    """Classes (two or more, in list order) of patients with the same week graph and weekly limits: the same
    groups, weekly minutes and (`with_topics`) required topics. The LP treats them alike, whatever else
    (wishes, clinicians) tells them apart."""
    classes: dict[tuple, list[int]] = defaultdict(list)
    for p, patient in enumerate(problem.patients):
        if blocks_of_patient[p]:
            topics_needed = tuple(sorted(problem.required_topics_for(patient).items())) if with_topics else ()
            classes[(tuple(blocks_of_patient[p]), problem.min_minutes_for(patient), problem.max_minutes_for(patient),
                     topics_needed)].append(p)
    return [members for members in classes.values() if len(members) > 1]


def _merge_identical_weeks(problem: Problem, schedule_model: "ScheduleModel", relaxation: LinearRelaxation,
                           with_topics: bool) -> tuple[LinearRelaxation, list[int]]:
    """The LP with each class of identical patients (`identical_weeks`) as one, and how many patients each
    patient's columns stand for (0: merged into another's). Only classes the LP is checked to be symmetric
    in are merged (`merge_interchangeable`): the bound is the same, the LP smaller (large programs: 570
    patients with a group to reach, 311 distinct)."""
    variables, blocks_of_patient = schedule_model.variables, schedule_model.eligibility.blocks_of_patient
    classes = identical_weeks(problem, blocks_of_patient, with_topics)
    days_of: dict[int, list[int]] = defaultdict(list)
    for p, day in sorted(variables.day_used):
        days_of[p].append(variables.day_used[p, day].index)
    orbits = [[[variables.placed[p].index] + [variables.attend[p, b].index for b in blocks_of_patient[p]] + days_of[p]
               for p in members] for members in classes]
    relaxation, merged = merge_interchangeable(relaxation, orbits)
    copies = [1] * len(problem.patients)
    for o in merged:
        copies[classes[o][0]] = len(classes[o])
        for p in classes[o][1:]:
            copies[p] = 0
    return relaxation, copies


@dataclass(frozen=True)
class BuiltRelaxation:
    """A tier's LP as built (`_tier_relaxation`), ready for HiGHS."""

    relaxation: LinearRelaxation
    schedule_model: "ScheduleModel"  # the model its rows were read from (column indices are its variables')
    copies: Optional[list[int]]      # how many identical patients each patient's columns stand for
    with_topics: bool                # whether required topics were in the weeks (`identical_weeks`)


def _tier_relaxation(problem: Problem, families: Sequence[ConstraintFamily], tier: int, placed_at_least: int,
                     deadline: float, solver: Optional[RelaxationSolver], whole_weeks: bool,
                     eligibility: Optional["Eligibility"] = None) -> Optional[BuiltRelaxation]:
    """The LP bounding `tier` (`_tier_lower_bound`), the model it was read from, and how many patients each
    patient's columns stand for; None without the weeks' rule or when stopped. `eligibility`: the program's,
    when already computed."""
    from .model import build_model

    if patient_week.add not in families:
        return None
    weeks_rows = () if whole_weeks else (patient_week.add, topics.add)
    chosen = [family for family in families
              if family in PLACING_FAMILIES or family in TIER_FAMILIES[tier] or family in weeks_rows]
    schedule_model = build_model(problem, chosen, eligibility)
    placed = cp_model.LinearExpr.sum(schedule_model.variables.placed)
    if placed_at_least > 0:
        schedule_model.model.add(placed >= placed_at_least)
    schedule_model.model.minimize(-placed if tier == TIER_PLACED else schedule_model.tier_expression(tier))
    relaxation = model_relaxation(schedule_model.model)
    if relaxation is None:
        return None
    relaxation, copies = _merge_identical_weeks(problem, schedule_model, relaxation, topics.add in families)
    if whole_weeks:
        if add_week_flows(
                relaxation, problem, [var.index for var in schedule_model.variables.placed],
                {key: var.index for key, var in schedule_model.variables.attend.items()},
                schedule_model.eligibility.blocks_of_patient, with_topics=topics.add in families,
                stop=lambda: time.monotonic() > deadline or (solver is not None and solver.cancelled),
                copies=copies) is None:
            return None
        if len(schedule_model.variables.attend) < CLINICIAN_HULL_PAIRS:
            add_second_clinician_rows(relaxation, problem, schedule_model.variables, schedule_model.eligibility)
            if add_clinician_flows(
                    relaxation, problem, {key: var.index for key, var in schedule_model.variables.staff.items()},
                    schedule_model.eligibility.blocks_of_clinician,
                    stop=lambda: time.monotonic() > deadline or (solver is not None and solver.cancelled)) is None:
                return None
    if deadline - time.monotonic() <= 0 or (solver is not None and solver.cancelled):
        return None
    return BuiltRelaxation(relaxation, schedule_model, copies, topics.add in families)


def _tier_lower_bound(problem: Problem, families: Sequence[ConstraintFamily], tier: int, placed_at_least: int,
                      seconds: float, solver: Optional[RelaxationSolver], whole_weeks: bool) -> Optional[float]:
    """At least this is `tier`'s quantity (minimised) in any schedule placing `placed_at_least`, from an LP;
    None without the weeks' rule or without an answer in time.

    Built from the families that decide who can be placed (`PLACING_FAMILIES` among `families`) and the
    tier's own (`TIER_FAMILIES`): the others only rank schedules, and leaving rules out only weakens a
    relaxation, never voids it. With `whole_weeks` the weeks' flows stand for the patient_week family
    (and topics, when in `families`); without, the model's own rows of those families do.
    """
    deadline = time.monotonic() + seconds
    built = _tier_relaxation(problem, families, tier, placed_at_least, deadline, solver, whole_weeks)
    if built is None:
        return None
    return (solver or RelaxationSolver()).solve(built.relaxation, deadline - time.monotonic())


def placed_upper_bound(problem: Problem, families: Sequence[ConstraintFamily], seconds: float,
                       solver: Optional[RelaxationSolver] = None) -> Optional[int]:
    """At most this many patients can be placed (the LP with whole weeks); None without a bound in time."""
    bound = _tier_lower_bound(problem, families, TIER_PLACED, 0, seconds, solver, whole_weeks=True)
    return None if bound is None else math.floor(-bound + INTEGRALITY_MARGIN)


@dataclass(frozen=True)
class PlacedRelaxation:
    """The LP bound on patients placed with where an optimal vertex of that LP seats patients: a guide for a
    first search (`TierRunner`), not a rule: a schedule may use any pair."""

    bound: int
    #: the (patient, block) pairs the vertex uses at all (identical patients share their class's)
    support: frozenset[tuple[int, int]]
    #: the pairs it uses whole, for patients of their own (not merged with identical ones)
    settled: frozenset[tuple[int, int]]


def _vertex_values(problem: Problem, built: BuiltRelaxation, seconds: float,
                   solver: Optional[RelaxationSolver]) -> Optional[tuple[float, dict[tuple[int, int], float], set[int]]]:
    """A built LP solved to an optimal vertex: its safe bound, each (patient, block) pair's value there (a merged
    class's pairs share their class's column), and the patients of their own (not merged with identical ones)."""
    answer = (solver or RelaxationSolver()).solve_vertex(built.relaxation, seconds)
    if answer is None:
        return None
    bound, values = answer
    schedule_model, copies = built.schedule_model, built.copies
    attend = schedule_model.variables.attend
    standing_for = list(range(len(problem.patients)))  # whose columns stand for each patient's
    if copies is not None:
        for members in identical_weeks(problem, schedule_model.eligibility.blocks_of_patient, built.with_topics):
            if copies[members[0]] > 1:
                for p in members[1:]:
                    standing_for[p] = members[0]
    alone = {p for p in range(len(problem.patients)) if standing_for[p] == p and (copies is None or copies[p] == 1)}
    return bound, {(p, b): float(values[attend[standing_for[p], b].index]) for p, b in attend}, alone


def placed_relaxation(problem: Problem, families: Sequence[ConstraintFamily], seconds: float,
                      solver: Optional[RelaxationSolver] = None) -> Optional[PlacedRelaxation]:
    """`placed_upper_bound` with the support of an optimal vertex of its LP; None without both in time.

    Why: on medium programs the LP's vertex uses about a third of the eligible pairs (medium 0: 880 of
    2,358), and a search over those alone finds the LP's count where it is the optimum in a fraction of the
    whole model's time (benchmarks/RESULTS.md, sixteenth session).
    """
    deadline = time.monotonic() + seconds
    built = build_placed_relaxation(problem, families, seconds, solver)
    return None if built is None else solve_placed_relaxation(problem, built, deadline - time.monotonic(), solver)


def build_placed_relaxation(problem: Problem, families: Sequence[ConstraintFamily], seconds: float,
                            solver: Optional[RelaxationSolver] = None,
                            eligibility: Optional["Eligibility"] = None) -> Optional[BuiltRelaxation]:
    """`placed_relaxation`'s LP, built for `solve_placed_relaxation`; None without the weeks' rule or in time.

    Why apart: building is Python and holds the GIL (medium programs ~0.15 s, large ~0.9 s), while HiGHS's
    solve releases it; built first, the LP is solved beside the rest of the set-up (`TierRunner`)."""
    return _tier_relaxation(problem, families, TIER_PLACED, 0, time.monotonic() + seconds, solver, True, eligibility)


def solve_placed_relaxation(problem: Problem, built: BuiltRelaxation, seconds: float,
                            solver: Optional[RelaxationSolver] = None) -> Optional[PlacedRelaxation]:
    """The `PlacedRelaxation` of an LP from `build_placed_relaxation`; None without a vertex in time."""
    vertex = _vertex_values(problem, built, seconds, solver)
    if vertex is None:
        return None
    bound, used, alone = vertex
    return PlacedRelaxation(
        math.floor(-bound + INTEGRALITY_MARGIN),
        frozenset(pair for pair, value in used.items() if value > SUPPORT_TOLERANCE),
        frozenset((p, b) for (p, b), value in used.items() if p in alone and value >= 1 - SUPPORT_TOLERANCE))


def wishes_support(problem: Problem, families: Sequence[ConstraintFamily], placed_at_least: int, seconds: float,
                   solver: Optional[RelaxationSolver] = None) -> Optional[frozenset[tuple[int, int]]]:
    """The (patient, block) pairs an optimal vertex of the wishes tier's LP uses (the model's rows, at least
    `placed_at_least` placed); None without the wishes family or a vertex in time.

    Why: a search over those and the schedule in hand finds a cheaper week for the patients than the
    whole model's search in the same seconds (medium programs, 9 runs: 0.5-3.1 % lower, benchmarks/RESULTS.md,
    sixteenth session), as the same model on HiGHS, whose heuristics start from its LP, did.
    """
    if wishes.add not in families:
        return None
    deadline = time.monotonic() + seconds
    built = _tier_relaxation(problem, families, TIER_WISHES, placed_at_least, deadline, solver, whole_weeks=False)
    vertex = None if built is None else _vertex_values(problem, built, deadline - time.monotonic(), solver)
    if vertex is None:
        return None
    return frozenset(pair for pair, value in vertex[1].items() if value > SUPPORT_TOLERANCE)


def costs_lower_bound(problem: Problem, families: Sequence[ConstraintFamily], placed_at_least: int, seconds: float,
                      solver: Optional[RelaxationSolver] = None) -> Optional[int]:
    """At least this is the costs tier (open groups, clinician minutes, busiest load) in any schedule placing
    `placed_at_least` patients; None without the costs family or a bound in time.

    Why: on large programs that tier is searched by LNS alone, which proves nothing (its bound was 0),
    yet seating that many patients for their weekly hours needs groups open and staffed. The model's own
    rows for the weeks, not their flows: whole weeks raise this bound by under 2 % (large programs 0 / 1:
    48,230 / 50,478 against 47,399 / 49,633) and take twice as long (13.6 s against 7.5 s on program 1).
    """
    if costs.add not in families:
        return None
    bound = _tier_lower_bound(problem, families, TIER_COSTS, placed_at_least, seconds, solver, whole_weeks=False)
    return None if bound is None else math.ceil(bound - INTEGRALITY_MARGIN)


#: LP threads still running, cancelled and awaited when the interpreter exits (`_end_lps_at_exit`)
_RUNNING: "weakref.WeakSet[BoundsBeside]" = weakref.WeakSet()
#: the longest the interpreter's exit waits for cancelled LPs (HiGHS stops within ~0.1 s of a
#: cancellation, the Python that builds an LP within ~1-2 s)
EXIT_WAIT_SECONDS = 30.0


def _end_lps_at_exit() -> None:
    """Cancel and await the LP threads still running: a daemon thread that the exit kills inside HiGHS
    aborts the whole process (C++ `std::terminate`, exit status 134) after the schedule was written."""
    until = time.monotonic() + EXIT_WAIT_SECONDS
    for beside in list(_RUNNING):
        beside.cancel()
    for beside in list(_RUNNING):
        beside.wait(max(0.0, until - time.monotonic()))


atexit.register(_end_lps_at_exit)


class BoundsBeside:
    """LP bounds computed beside the search, each in its own thread (HiGHS releases the GIL).

    Each computation is (tier, compute). `finish` returns the bounds that ended in time; `on_bound`
    hears of each as it is ready.
    """

    def __init__(self, computations: Sequence[tuple[int, Callable[[RelaxationSolver], Optional[int]]]],
                 on_bound: Optional[Callable[[int, int], None]] = None, interruptible: bool = True):
        self._on_bound = on_bound  # called from the LP's thread with (tier, bound) as each bound is ready
        self._solver = RelaxationSolver(interruptible)  # (see there: not interruptible beside Python)
        self._lock = threading.Lock()
        self._bounds: dict[int, int] = {}
        self.errors: dict[int, Exception] = {}  # what stopped a tier's LP, if it failed (no bound for it then)
        self._threads = [threading.Thread(target=self._run_all, args=([computation],), daemon=True)
                         for computation in computations]
        _RUNNING.add(self)
        for thread in self._threads:
            thread.start()

    def _run_all(self, computations: Sequence[tuple[int, Callable[[RelaxationSolver], Optional[int]]]]) -> None:
        for tier, compute in computations:
            if self._solver.cancelled:
                return
            try:
                bound = compute(self._solver)
            except Exception as error:  # noqa: BLE001 - a bound is an extra: the schedule must not depend on it
                self.errors[tier] = error
                continue
            if bound is not None and not self._solver.cancelled:
                with self._lock:
                    self._bounds[tier] = bound
                if self._on_bound is not None:
                    try:
                        self._on_bound(tier, bound)
                    except Exception as error:  # noqa: BLE001 - as above: the bound stays, the hook's fault is kept
                        self.errors[tier] = error

    def cancel(self) -> None:
        self._solver.cancel()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for every LP thread to end; whether they all did."""
        until = time.monotonic() + max(0.0, seconds)
        for thread in self._threads:
            thread.join(timeout=max(0.0, until - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def ready(self) -> dict[int, int]:
        """The bounds ready so far; the LPs still running go on."""
        with self._lock:
            return dict(self._bounds)

    def finish(self, grace_seconds: float = 0.0) -> dict[int, int]:
        """The bounds ready within `grace_seconds`; the LPs still running are then cancelled (HiGHS stops
        at its next iteration; the interpreter's exit waits for them)."""
        if not self.wait(grace_seconds):
            self.cancel()
        with self._lock:
            return dict(self._bounds)
