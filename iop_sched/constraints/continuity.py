"""Re-planning from a previous schedule: keep who was placed, change as little as possible.

Groups are cohorts, and every change is a new calendar on someone's phone. Given
the previous schedule document, two tiers are added:
- keep (solved before patients placed): the number of patients placed before,
  still in the program, who are placed again; so nobody settled is dropped to make
  room for a newcomer unless they can no longer be placed at all;
- changes (solved after patients placed): first the number of previously placed
  patients whose week changes at all (weighted so that no number of other changes
  outweighs one patient moved); then each patient assignment added or dropped
  costs 2 (a patient moved from one group to another costs 4), each clinician
  added to or dropped from a group costs 1 (a swap costs 2).
Patients, blocks and clinicians of the previous schedule that no longer exist are
ignored (`ignored_references` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ortools.sat.python import cp_model

from ..schema import SCHEDULE_FORMAT, Problem
from .availability import Eligibility
from .base import TIER_CHANGES, TIER_KEEP, ObjectiveTerm, Variables

PATIENT_CHANGE_WEIGHT = 2
CLINICIAN_CHANGE_WEIGHT = 1


@dataclass
class PreviousSchedule:
    """The previous schedule, resolved against the current problem's positions."""

    placed: set[int] = field(default_factory=set)                  # patients placed before (still present)
    attend: set[tuple[int, int]] = field(default_factory=set)      # (patient, block) before
    staff: set[tuple[int, int]] = field(default_factory=set)       # (clinician, block) before
    ignored_references: list[str] = field(default_factory=list)

    @classmethod
    def resolve(cls, problem: Problem, document: dict) -> "PreviousSchedule":
        """Raises ValueError naming each fault when `document` is not a schedule document (`previous_faults`)."""
        faults = previous_faults(document)
        if faults:
            raise ValueError("previous schedule: " + "; ".join(faults))
        patients = {p.id: i for i, p in enumerate(problem.patients)}
        blocks = {b.id: i for i, b in enumerate(problem.blocks)}
        clinicians = {c.id: i for i, c in enumerate(problem.clinicians)}
        previous = cls()
        for entry in document.get("patients", []):
            if entry.get("placed") and entry.get("id") in patients:
                previous.placed.add(patients[entry["id"]])
            elif entry.get("placed"):
                previous.ignored_references.append(f"patient {entry.get('id')!r}")
        for entry in document.get("blocks", []):
            if not entry.get("patients"):
                continue
            if entry.get("id") not in blocks:
                previous.ignored_references.append(f"block {entry.get('id')!r}")
                continue
            b = blocks[entry["id"]]
            previous.attend |= {(patients[pid], b) for pid in entry["patients"] if pid in patients}
            for cid in entry.get("clinicians", []):
                if cid in clinicians:
                    previous.staff.add((clinicians[cid], b))
                else:
                    previous.ignored_references.append(f"clinician {cid!r}")
        previous.ignored_references = sorted(set(previous.ignored_references))
        return previous


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def previous_faults(document: object) -> list[str]:
    """What keeps `document` from being read as a previous schedule, each fault with its place.

    A re-plan reads `format`, each patient's `id` and `placed`, and each block's `id`,
    `patients` and `clinicians`; a problem document or a hand-edited file given by
    mistake is refused rather than read as "nobody was placed".
    """
    if not isinstance(document, dict):
        return ["(document): must be a schedule document (a JSON object)"]
    if document.get("format") != SCHEDULE_FORMAT:
        return [f"format: must be {SCHEDULE_FORMAT!r} (a schedule document), not {document.get('format')!r}"]
    faults = []
    for list_name, keys in (("patients", {"id": str, "placed": bool, "blocks": list}),
                            ("blocks", {"id": str, "patients": list, "clinicians": list})):
        items = document.get(list_name)
        if not isinstance(items, list):
            faults.append(f"{list_name}: must be a list")
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                faults.append(f"{list_name}[{index}]: must be an object")
                continue
            for key, kind in keys.items():
                value = item.get(key)
                if not isinstance(value, kind) or (kind is list and not _strings(value)):
                    what = {str: "a string", bool: "true or false", list: "a list of ids"}[kind]
                    faults.append(f"{list_name}[{index}].{key}: must be {what}")
    return faults


def family(previous: PreviousSchedule) -> Callable[..., list[ObjectiveTerm]]:
    """The continuity constraint family for one previous schedule."""

    def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
        kept = [variables.placed[p] for p in sorted(previous.placed)]
        patient_changes: list[cp_model.LinearExprT] = []
        for key, var in variables.attend.items():
            patient_changes.append(1 - var if key in previous.attend else var)
        # a previous assignment the patient can no longer reach is a change whatever we do
        unreachable = sum(1 for key in previous.attend if key not in variables.attend)
        clinician_changes: list[cp_model.LinearExprT] = []
        for key, var in variables.staff.items():
            clinician_changes.append(1 - var if key in previous.staff else var)
        unreachable_staff = sum(1 for key in previous.staff if key not in variables.staff)
        moved = moved_patients(model, variables, previous)
        # one moved patient outweighs every assignment change there could be
        moved_weight = PATIENT_CHANGE_WEIGHT * (len(variables.attend) + len(previous.attend)) \
            + CLINICIAN_CHANGE_WEIGHT * (len(variables.staff) + len(previous.staff)) + 1
        return [
            ObjectiveTerm(TIER_CHANGES, "previously placed patients whose week changes",
                          cp_model.LinearExpr.sum(moved), moved_weight),
            ObjectiveTerm(TIER_KEEP, "previously placed patients placed again", cp_model.LinearExpr.sum(kept), -1),
            ObjectiveTerm(TIER_CHANGES, "patient assignments changed",
                          cp_model.LinearExpr.sum(patient_changes) + unreachable, PATIENT_CHANGE_WEIGHT),
            ObjectiveTerm(TIER_CHANGES, "clinician assignments changed",
                          cp_model.LinearExpr.sum(clinician_changes) + unreachable_staff, CLINICIAN_CHANGE_WEIGHT),
        ]

    return add


def moved_patients(model: cp_model.CpModel, variables: Variables, previous: PreviousSchedule) -> list:
    """One indicator per previously placed patient: 1 when any of their assignments differs from before."""
    before: dict[int, set[int]] = {p: set() for p in previous.placed}
    for p, b in previous.attend:
        before.setdefault(p, set()).add(b)
    reachable: dict[int, list[int]] = {}
    for p, b in variables.attend:
        reachable.setdefault(p, []).append(b)
    indicators = []
    for p in sorted(previous.placed):
        if any((p, b) not in variables.attend for b in before[p]):
            indicators.append(1)  # a group they were in can no longer be theirs: they move whatever happens
            continue
        moved = model.new_bool_var(f"moved[{p}]")
        for b in reachable.get(p, []):
            var = variables.attend[p, b]
            if b in before[p]:
                model.add_implication(var.Not(), moved)  # left a group they were in
            else:
                model.add_implication(var, moved)  # joined a group they were not in
        indicators.append(moved)
    return indicators


def in_twin_order(previous: "PreviousSchedule", classes: list[list[int]]) -> "PreviousSchedule":
    """The same schedule with each class of identical patients' weeks handed to its earliest members.

    Identical patients are interchangeable, so this is an equally good schedule, and it
    agrees with the symmetry rule (later twin placed implies earlier twin placed).
    """
    mapping: dict[int, int] = {}
    for members in classes:
        placed = [p for p in members if p in previous.placed]
        for target, source in zip(members, placed):
            mapping[source] = target
    moved = PreviousSchedule(ignored_references=list(previous.ignored_references))
    moved.placed = {mapping.get(p, p) for p in previous.placed}
    moved.attend = {(mapping.get(p, p), b) for p, b in previous.attend}
    moved.staff = set(previous.staff)
    return moved


def hint_previous(model: cp_model.CpModel, variables: Variables, previous: PreviousSchedule) -> None:
    """Start the search from the previous schedule (as far as it still fits)."""
    model.clear_hints()
    for key, var in variables.attend.items():
        model.add_hint(var, key in previous.attend)
    for key, var in variables.staff.items():
        model.add_hint(var, key in previous.staff)
    for p, var in enumerate(variables.placed):
        model.add_hint(var, p in previous.placed)
    opened = {b for _, b in previous.attend}
    for b, var in enumerate(variables.open):
        model.add_hint(var, b in opened)
