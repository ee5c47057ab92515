"""Each clinician's week whole in the LP on patients placed: a flow through the blocks they may staff,
and a row for a block's second clinician.

Why: in the model's LP a clinician can staff fractions of blocks, so their weekly hours stretch
over more groups than whole blocks allow (medium program 1: a clinician with 12 h staffs three
blocks whole and 0.36, 0.55 and 0.45 of three more, the last two at the same time). The
LP on patients placed then stays at 133 where the optimum is 132, and tier 1 waits for CP-SAT's
own proof (benchmarks/RESULTS.md, eighteenth session). A clinician's valid weeks, the sets of
blocks that do not overlap and fit their hours, are the paths of a small graph: the blocks in
order of start, a state of minutes staffed so far; at each block the path either passes it or
staffs it, and then jumps to the first block that starts once it ends. A flow of one through that
graph is an extended formulation of the convex hull of the clinician's weeks, as
`week_hull.add_week_flows` is of a patient's.

Only clinicians whose hours bind get a graph: without a cap, or when no set of non-overlapping
blocks exceeds it, the model's at-most-one rows over overlapping blocks already describe that hull
(intervals form a perfect graph). The graph allows every week the model allows, so the LP stays
a relaxation (tests/test_clinician_hull.py).

`add_second_clinician_rows`: a block that holds more patients than its clinicians may lead needs a
further clinician whole for the patients past them, where the model's row lets a fraction of one
lead a whole ratio of patients. On medium program 1 both together bring the LP from 133.89 to
132.81, so its bound is the optimum (each alone: 133.79 and 133.00).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Optional, Sequence

from .constraints.availability import Eligibility
from .constraints.base import Variables
from .constraints.staffing import weekly_minutes_cap
from .lp_relaxation import LinearRelaxation
from .schema import Problem

#: a clinician whose graph would pass this many arcs keeps only the model's rows (still a valid bound)
MAX_ARCS_PER_CLINICIAN = 20_000


def _longest_week(problem: Problem, blocks: Sequence[int]) -> int:
    """The most minutes any set of non-overlapping `blocks` adds up to."""
    blocks = sorted(blocks, key=lambda b: problem.blocks[b].interval)
    best_from = [0] * (len(blocks) + 1)
    following = _following(problem, blocks)
    for i in range(len(blocks) - 1, -1, -1):
        best_from[i] = max(best_from[i + 1], problem.blocks[blocks[i]].minutes + best_from[following[i]])
    return best_from[0]


def _following(problem: Problem, blocks: Sequence[int]) -> list[int]:
    """For each of `blocks` (sorted by start), the position of the first block that starts once it ends."""
    starts = [problem.blocks[b].interval[0] for b in blocks]
    following = []
    for i, b in enumerate(blocks):
        end = problem.blocks[b].interval[1]
        j = i + 1
        while j < len(blocks) and starts[j] < end:
            j += 1
        following.append(j)
    return following


#: an arc of a clinician's graph: (position, minutes) to (position, minutes), and the block it staffs (None: passed)
Arc = tuple[tuple[int, int], tuple[int, int], Optional[int]]


def clinician_week_arcs(problem: Problem, blocks: Sequence[int], cap: int) -> Optional[list[Arc]]:
    """The arcs of the graph whose paths from (0, 0) are the sets of non-overlapping `blocks` within `cap`
    minutes (see the module); positions index `blocks` sorted by start. None past `MAX_ARCS_PER_CLINICIAN`."""
    blocks = sorted(blocks, key=lambda b: problem.blocks[b].interval)
    following = _following(problem, blocks)
    arcs: list[Arc] = []
    reached: dict[int, set[int]] = defaultdict(set)  # every arc goes forward: nodes are reached position by position
    reached[0].add(0)
    for i, b in enumerate(blocks):
        minutes = problem.blocks[b].minutes
        for used in sorted(reached[i]):
            arcs.append(((i, used), (i + 1, used), None))
            reached[i + 1].add(used)
            if used + minutes <= cap:
                arcs.append(((i, used), (following[i], used + minutes), b))
                reached[following[i]].add(used + minutes)
        if len(arcs) > MAX_ARCS_PER_CLINICIAN:
            return None
    return arcs


def add_clinician_flows(relaxation: LinearRelaxation, problem: Problem, staff: dict[tuple[int, int], int],
                        blocks_of_clinician: Sequence[Sequence[int]],
                        stop: Callable[[], bool] = lambda: False) -> Optional[int]:
    """Each clinician's week whose hours bind as a flow of one through their graph (see the module), with
    `staff[c, b]` (the model's column indices) at most the flow through block b's staffing arcs; returns the
    arcs added, or None when `stop` said to stop (checked clinician by clinician)."""
    arcs_added = 0
    for c, blocks in enumerate(blocks_of_clinician):
        if stop():
            return None
        cap = weekly_minutes_cap(problem, c)
        if cap is None or not blocks or _longest_week(problem, blocks) <= cap:
            continue
        arcs = clinician_week_arcs(problem, blocks, cap)
        if arcs is None:
            continue
        staffing = relaxation.add_flow(((tail, head, () if b is None else (b,)) for tail, head, b in arcs), 1.0,
                                       (0, 0), ([], [], 1.0, 1.0))  # one week, possibly empty
        arcs_added += len(arcs)
        for b in blocks:
            relaxation.rows.append(([staff[c, b]] + staffing[b], [1.0] + [-1.0] * len(staffing[b]), -float("inf"), 0.0))
    return arcs_added


def add_second_clinician_rows(relaxation: LinearRelaxation, problem: Problem, variables: Variables,
                              eligibility: Eligibility) -> int:
    """For each block whose capacity is above what its required clinicians may lead, the row
    `size <= r*k*open + (capacity - r*k) * (staffed - k*open)`; returns the rows added.

    k clinicians are required whenever the block is open (its own `clinicians`, and at least one: an open
    block holds its `min_size` of at least one patient, whom the ratio asks a clinician for) and r is the
    ratio as the staffing family clamps it.
    Valid for every schedule: shut, the block holds nobody and nobody staffs it; with k staff it holds
    r*k at most; with more, the right side reaches its capacity. In the LP it is tighter than the
    model's `size <= r * staffed` whenever staffed is between k and k + 1.
    """
    ratio = problem.program.rules.max_patients_per_clinician
    if ratio is None:
        return 0
    added = 0
    for b, block in enumerate(problem.blocks):
        patients, clinicians = eligibility.patients_of_block[b], eligibility.clinicians_of_block[b]
        required = max(block.clinicians, 1)
        led = min(ratio, len(patients)) * required
        capacity = problem.capacity_of(block)
        if not patients or not clinicians or capacity <= led:
            continue
        columns = ([variables.attend[p, b].index for p in patients] + [variables.open[b].index]
                   + [variables.staff[c, b].index for c in clinicians])
        values = ([1.0] * len(patients) + [float((capacity - led) * required - led)]
                  + [-float(capacity - led)] * len(clinicians))
        relaxation.rows.append((columns, values, -float("inf"), 0.0))
        added += 1
    return added
