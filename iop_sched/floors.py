"""Lower bounds on a tier that need no search: proofs the solver's own bound does not reach in time.

On a large program CP-SAT's bound on the wishes tier comes from an LP it has not nearly
solved within the tier's seconds (large seed 0, 12 s: bound 246,570 against a value of
348,960). Yet every placed patient is charged at least their cheapest week with the
program to themselves (`wishes.cheapest_week_alone`), so once at least N patients must be
placed (tier 1, fixed), the tier is at least the sum of the N smallest such charges.
"""

from __future__ import annotations

import time
from typing import Optional

from .constraints import patient_week, topics, wishes
from .model import ScheduleModel

#: The families whose rules the floor relies on: without any of them it does not hold.
FLOOR_FAMILIES = (patient_week.add, topics.add, wishes.add)
#: Time for one patient's cheapest week; a search cut short still gives its proven bound.
SECONDS_PER_PATIENT = 0.2


def wishes_floor(schedule_model: ScheduleModel, placed_at_least: int, deadline: float) -> Optional[int]:
    """At least what the wishes tier costs in any schedule placing `placed_at_least` patients, or None.

    Patients reached after `deadline` (time.monotonic()) count with `wishes.least_charge`,
    which holds without a search. None when the model lacks a rule the floor relies on.
    """
    if not all(family in schedule_model.families for family in FLOOR_FAMILIES):
        return None
    problem = schedule_model.problem
    clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
    staffable = schedule_model.variables.staff
    charges = []
    known: dict[tuple, Optional[int]] = {}  # patients alike in all the floor reads share it (~40 % of them)
    for p, patient in enumerate(problem.patients):
        blocks = schedule_model.eligibility.blocks_of_patient[p]
        if not blocks:
            continue
        signature = wishes.week_alone_signature(problem, patient, blocks)
        left = deadline - time.monotonic()
        if signature not in known and left <= 0:
            charges.append(wishes.least_charge(problem, patient))
            continue
        if signature not in known:
            primary = clinician_index.get(patient.primary_clinician) if patient.primary_clinician is not None else None
            known[signature] = wishes.cheapest_week_alone(problem, patient, blocks, lambda b: (primary, b) in staffable,
                                                          min(SECONDS_PER_PATIENT, left))
        if known[signature] is not None:
            charges.append(known[signature])
    if placed_at_least > len(charges):
        return None
    return sum(sorted(charges)[:placed_at_least])


__all__ = ["FLOOR_FAMILIES", "wishes_floor"]
