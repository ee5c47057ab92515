"""Pins: assignments a coordinator fixed (a patient kept in a group, a clinician kept on one).

A pin is honoured whenever it can be: the pins tier is solved before everything
else and maximises the pins that hold. A pin that can no longer hold (the patient
can no longer reach the group, the clinician can no longer lead it, or holding it
would break a hard rule) is reported with the reason, never silently dropped.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from ..schema import Problem
from .availability import Eligibility, clinician_refusal, patient_refusal
from .base import TIER_PINS, ObjectiveTerm, Variables


def pinned_pairs(problem: Problem) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(patient, block) and (clinician, block) pins, by position."""
    blocks = {block.id: b for b, block in enumerate(problem.blocks)}
    clinicians = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
    patient_pins = [(p, blocks[block_id]) for p, patient in enumerate(problem.patients)
                    for block_id in patient.pinned_blocks]
    clinician_pins = [(clinicians[clinician_id], b) for b, block in enumerate(problem.blocks)
                      for clinician_id in block.pinned_clinicians]
    return patient_pins, clinician_pins


def why_pin_cannot_hold(problem: Problem, pin: tuple[str, int, int]) -> str:
    """A sentence for a pin the schedule does not keep."""
    kind, who, b = pin
    block = problem.blocks[b]
    if kind == "patient":
        patient = problem.patients[who]
        refusal = patient_refusal(problem, patient, block)
        reason = refusal.text if refusal else "keeping it would break a rule of the patient's week or the group"
        return f"{patient.id} pinned to {block.id}: {reason}"
    clinician = problem.clinicians[who]
    refusal = clinician_refusal(problem, clinician, block)
    reason = refusal.text if refusal else "the group does not open, or keeping it would break a staffing rule"
    return f"{clinician.id} pinned to {block.id}: {reason}"


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    patient_pins, clinician_pins = pinned_pairs(problem)
    held = [variables.attend[pair] for pair in patient_pins if pair in variables.attend]
    held += [variables.staff[pair] for pair in clinician_pins if pair in variables.staff]
    if not patient_pins and not clinician_pins:
        return []
    return [ObjectiveTerm(TIER_PINS, "pins held", cp_model.LinearExpr.sum(held), -1)]
