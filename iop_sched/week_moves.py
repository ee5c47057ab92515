"""Patients moved, one at a time, to the cheapest week the open groups still seat: a start for the wishes tier.

Tier 1 places as many patients as it can and looks at nothing else, so the schedule
the wishes tier starts from puts patients in groups outside their preferred times or
without their primary clinician while a better group they could join has a free seat.
CP-SAT's neighbourhoods find such moves slowly on a large program (large seed 0:
386,040 at the end of tier 1, 335,880 after the tier's 12 s). Here each placed patient
in turn takes the week that charges them least (`wishes.week_charge_model`) among

- the groups they attend now, and
- the other open groups they can reach that have a seat left (capacity, and the
  patients their current clinicians may lead),

keeping every group they attend that would fall below its minimum size without them.
No group opens or closes and nobody else's week or any staffing changes, so group
sizes, staffing, rooms and clinicians' weeks stay within their rules, and the
patient's own week is checked by the one-patient model (hours, days, hours per day,
overlaps, topics). The caller completes the result with CP-SAT, which checks it whole.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Optional

from ortools.sat.python import cp_model

from .constraints.availability import Eligibility
from .constraints.wishes import one_patient_solver, week_charge, week_charge_model
from .schema import Patient, Problem

#: Seconds one patient's move may search (their model has a few dozen Booleans: milliseconds).
SECONDS_PER_PATIENT = 0.05


@dataclass
class Moves:
    """What `move_to_cheaper_weeks` did."""

    attend: set[tuple[int, int]]  # (patient, block) after the moves
    moved: int = 0                # patients whose week changed
    saved: int = 0                # how much the wishes tier went down by


def seats_left(problem: Problem, size: dict[int, int], crew: dict[int, set[int]], b: int) -> int:
    """Patients block `b` can still take with its current clinicians (0 for a shut block)."""
    if size.get(b, 0) == 0:
        return 0
    seats = problem.capacity_of(problem.blocks[b])
    ratio = problem.program.rules.max_patients_per_clinician
    if ratio is not None:
        seats = min(seats, ratio * len(crew.get(b, ())))
    return seats - size[b]


def move_to_cheaper_weeks(problem: Problem, eligibility: Eligibility, attend: set[tuple[int, int]],
                          staff: set[tuple[int, int]], deadline: float) -> Moves:
    """Passes over the placed patients in list order, each moved to their cheapest week (see the module),
    until a pass moves nobody or `deadline` (time.monotonic()) comes; patients not reached keep their week.

    `attend` and `staff` are a complete valid schedule's (patient, block) and (clinician, block) pairs.
    A later pass finds moves an earlier one freed seats for (large seed 0: 233 patients moved by
    the first pass, 22 by the second).
    """
    size: dict[int, int] = defaultdict(int)
    week: dict[int, set[int]] = defaultdict(set)
    for p, b in attend:
        size[b] += 1
        week[p].add(b)
    crew: dict[int, set[int]] = defaultdict(set)
    for c, b in staff:
        crew[b].add(c)
    moves = Moves(set())
    moved_before = -1
    while moves.moved > moved_before and time.monotonic() < deadline:
        moved_before = moves.moved
        _one_pass(problem, eligibility, week, size, crew, deadline, moves)
    moves.attend = {(p, b) for p, blocks in week.items() for b in blocks}
    return moves


def _one_pass(problem: Problem, eligibility: Eligibility, week: dict[int, set[int]], size: dict[int, int],
              crew: dict[int, set[int]], deadline: float, moves: Moves) -> None:
    """Each placed patient in turn moved to their cheapest week; `week`, `size` and `moves` updated."""
    clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
    for p in sorted(week):
        if time.monotonic() >= deadline:
            break
        mine = week[p]
        reachable = [b for b in eligibility.blocks_of_patient[p] if b in mine or seats_left(problem, size, crew, b) > 0]
        patient = problem.patients[p]
        if len(reachable) == len(mine) and not _can_drop_a_group(problem, patient, mine):
            continue  # nothing to move to and nothing to leave: their week stands
        primary = clinician_index.get(patient.primary_clinician) if patient.primary_clinician is not None else None
        leads = lambda b: primary in crew.get(b, ())  # noqa: E731 - read at once, for this patient only
        now = week_charge(problem, patient, mine, leads)
        better = _cheaper_week(problem, p, reachable, mine, now, size, leads, deadline)
        if better is None:
            continue
        moves.saved += now - week_charge(problem, patient, better, leads)
        for b in mine - better:
            size[b] -= 1
        for b in better - mine:
            size[b] += 1
        week[p] = better
        moves.moved += 1


def _can_drop_a_group(problem: Problem, patient: Patient, week: set[int]) -> bool:
    """Whether the week keeps its weekly minimum without its shortest group (tier 1 may give more than needed)."""
    minutes = [problem.blocks[b].minutes for b in week]
    return sum(minutes) - min(minutes) >= problem.min_minutes_for(patient)


def _cheaper_week(problem: Problem, p: int, reachable: list[int], mine: set[int], now: int, size: dict[int, int],
                  leads: Callable[[int], bool], deadline: float) -> Optional[set[int]]:
    """The cheapest week of `reachable` blocks that charges less than `mine` (which charges `now`), or None."""
    patient = problem.patients[p]
    model, attend, charge = week_charge_model(problem, patient, reachable, leads)
    for b in mine:
        model.add_hint(attend[b], True)
        if size[b] - 1 < max(1, problem.blocks[b].min_size):
            model.add(attend[b] == 1)  # the group would fall below its minimum without them
    model.add(charge <= now - 1)
    model.minimize(charge)
    solver = one_patient_solver(min(SECONDS_PER_PATIENT, deadline - time.monotonic()))
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {b for b, var in attend.items() if solver.boolean_value(var)}


__all__ = ["Moves", "SECONDS_PER_PATIENT", "move_to_cheaper_weeks", "seats_left"]
