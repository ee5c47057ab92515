"""The CP-SAT model: variables, one constraint family per module, tiered objective.

Shape borrowed from PyJobShop: validated problem -> `Variables` -> each family in
`iop_sched.constraints` adds its rules and hands back objective terms -> the
solver (`iop_sched.solve`) optimises the tiers in order. A new rule is one new
module in `constraints/` listed in `FAMILIES`, plus its tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ortools.sat.python import cp_model

from .constraints import availability, costs, group_size, patient_week, rooms, staffing, symmetry, topics, wishes
from .constraints.availability import Eligibility
from .constraints.base import (MAXIMISED_TIERS, REPLANNING_TIERS, TIER_CHANGES, TIER_COSTS, TIER_KEEP, TIER_NAMES,
                               TIER_PLACED, TIER_WISHES, TIERS, ObjectiveTerm, Variables)
from .schema import Problem


@dataclass
class ScheduleModel:
    """A built model ready for the tiered solve."""

    problem: Problem
    model: cp_model.CpModel
    variables: Variables
    eligibility: Eligibility
    terms: list[ObjectiveTerm]
    #: the constraint families the model was built with (a tier's floor holds only with its rules in)
    families: tuple[ConstraintFamily, ...] = ()

    def tier_expression(self, tier: int) -> cp_model.LinearExprT:
        """The tier's quantity to minimise (tier 1 is minus the number placed)."""
        parts = [term for term in self.terms if term.tier == tier]
        return cp_model.LinearExpr.weighted_sum([t.expression for t in parts], [t.weight for t in parts]) if parts else 0


ConstraintFamily = Callable[[Problem, cp_model.CpModel, Variables, Eligibility], Sequence[ObjectiveTerm]]

#: Every constraint family, in the order they are added.
FAMILIES: tuple[ConstraintFamily, ...] = (
    patient_week.add,
    topics.add,
    group_size.add,
    staffing.add,
    rooms.add,
    symmetry.add,
    wishes.add,
    costs.add,
)


def create_variables(problem: Problem, model: cp_model.CpModel, eligibility: Eligibility) -> Variables:
    """Booleans only for eligible pairs: a patient who can never reach a block has no variable for it."""
    variables = Variables()
    for p, patient in enumerate(problem.patients):
        variables.placed.append(model.new_bool_var(f"placed[{patient.id}]"))
        for b in eligibility.blocks_of_patient[p]:
            variables.attend[p, b] = model.new_bool_var(f"attend[{patient.id},{problem.blocks[b].id}]")
    for b, block in enumerate(problem.blocks):
        variables.open.append(model.new_bool_var(f"open[{block.id}]"))
    for c, clinician in enumerate(problem.clinicians):
        for b in eligibility.blocks_of_clinician[c]:
            variables.staff[c, b] = model.new_bool_var(f"staff[{clinician.id},{problem.blocks[b].id}]")
    return variables


def build_model(problem: Problem, families: Sequence[ConstraintFamily] = FAMILIES,
                eligibility: Optional[Eligibility] = None) -> ScheduleModel:
    """Build the whole CP-SAT model for a validated problem (`eligibility`: the problem's, when already computed)."""
    model = cp_model.CpModel()
    if eligibility is None:
        eligibility = availability.compute_eligibility(problem)
    variables = create_variables(problem, model, eligibility)
    terms: list[ObjectiveTerm] = []
    for family in families:
        terms.extend(family(problem, model, variables, eligibility))
    return ScheduleModel(problem, model, variables, eligibility, terms, tuple(families))


__all__ = ["ObjectiveTerm", "Variables", "ScheduleModel", "build_model", "FAMILIES", "TIERS", "TIER_NAMES"]
