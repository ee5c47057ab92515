"""Small changes to the program that would place more patients, each verified by solving again.

Candidates come from why each patient was not placed: telehealth consent where
only consent keeps them from telehealth groups, another site where only the site
keeps them out, a larger group where a group they can reach is full below its
room's capacity, more weekly hours for a clinician at their cap. Each candidate is
an RFC 6902 JSON Patch against the problem document; it is applied, the number
placed is solved again (tier 1 only), and it is kept only if it places more.

`placed_gain` is conservative: the patched program's schedule as found, minus the
original's *proven bound* on patients placed. So applying the patch and solving
again places at least that many more, whatever schedule the original run found.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .constraints.availability import patient_refusal
from .constraints.base import TIER_PLACED
from .loading import ProblemError, problem_from_data
from .schema import Problem

DEFAULT_CHECK_SECONDS = 10.0


@dataclass
class Suggestion:
    """One change, its patch, and what it was verified to do."""

    kind: str
    text: str
    patch: list[dict]
    placed_gain: int = 0
    newly_placed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "patch": self.patch, "placed_gain": self.placed_gain,
                "changes": len(self.patch), "newly_placed": self.newly_placed}


def apply_patch(document: dict, patch: list[dict]) -> dict:
    """Apply the `add` and `replace` operations of an RFC 6902 patch to a copy of `document`."""
    result = copy.deepcopy(document)
    for operation in patch:
        parts = [part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]]
        target = result
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if operation["op"] not in ("add", "replace"):
            raise ValueError(f"unsupported patch operation {operation['op']!r}")
        if isinstance(target, list):
            if last == "-":
                target.append(operation["value"])
            elif operation["op"] == "add":
                target.insert(int(last), operation["value"])
            else:
                target[int(last)] = operation["value"]
        else:
            if operation["op"] == "replace" and last not in target:
                raise ValueError(f"replace of a missing member {operation['path']!r}")
            target[last] = operation["value"]
    return result


def candidates(problem: Problem, document: dict, schedule: dict) -> list[Suggestion]:
    """Changes worth checking, from the patients not placed and the groups that are full."""
    placed = {entry["id"] for entry in schedule["patients"] if entry["placed"]}
    rosters = {entry["id"]: entry for entry in schedule["blocks"]}
    found: dict[str, Suggestion] = {}
    for index, patient in enumerate(problem.patients):
        if patient.id in placed:
            continue
        refusals = {block.id: patient_refusal(problem, patient, block) for block in problem.blocks}
        if not patient.telehealth and any(r is not None and r.code == "telehealth" for r in refusals.values()):
            found[f"telehealth:{patient.id}"] = Suggestion(
                "telehealth", f"ask {patient.id} for telehealth consent",
                [{"op": "add", "path": f"/patients/{index}/telehealth", "value": True}])
        if patient.sites is not None:
            for site in sorted({problem.site_of(block) for block in problem.blocks
                                if refusals[block.id] is not None and refusals[block.id].code == "site"
                                and problem.site_of(block)}):
                found[f"site:{patient.id}:{site}"] = Suggestion(
                    "site", f"offer {patient.id} groups at site {site}",
                    [{"op": "add", "path": f"/patients/{index}/sites/-", "value": site}])
        for b, block in enumerate(problem.blocks):
            room = problem.room_of(block)
            members = rosters.get(block.id, {}).get("patients", [])
            if refusals[block.id] is None and members and block.max_size is not None \
                    and len(members) >= block.max_size and room is not None and not room.virtual \
                    and room.capacity is not None and room.capacity > block.max_size:
                found[f"size:{block.id}"] = Suggestion(
                    "group_size", f"raise {block.id}'s max_size from {block.max_size} to {room.capacity} "
                    f"(room {room.id} seats {room.capacity})",
                    [{"op": "replace", "path": f"/blocks/{b}/max_size", "value": room.capacity}])
    for c, clinician in enumerate(problem.clinicians):
        if clinician.max_weekly_hours is None:
            continue
        led = sum(problem_block.minutes for entry in schedule["blocks"] if entry["patients"]
                  and clinician.id in entry["clinicians"]
                  for problem_block in problem.blocks if problem_block.id == entry["id"])
        if led >= clinician.max_weekly_hours * 60 - 1e-6:
            extra = 3
            found[f"hours:{clinician.id}"] = Suggestion(
                "clinician_hours", f"give {clinician.id} {extra} more weekly hours "
                f"({clinician.max_weekly_hours:g} -> {clinician.max_weekly_hours + extra:g})",
                [{"op": "replace", "path": f"/clinicians/{c}/max_weekly_hours",
                  "value": clinician.max_weekly_hours + extra}])
    return list(found.values())


def suggest(problem: Problem, schedule: dict, document: Optional[dict] = None, *,
            check_seconds: float = DEFAULT_CHECK_SECONDS, limit: Optional[int] = 20) -> list[Suggestion]:
    """Verified suggestions, best gain first.

    `document` is the problem document as sent (the patches' target); by default the
    problem's own JSON form, which has the same list positions.
    """
    from .solve import solve_model

    if document is None:
        document = problem.model_dump(mode="json", exclude_none=True)
    bound = int(schedule["stats"]["placed_bound"])
    placed_before = {entry["id"] for entry in schedule["patients"] if entry["placed"]}
    verified = []
    for suggestion in candidates(problem, document, schedule)[: limit or None]:
        try:
            patched = problem_from_data(apply_patch(document, suggestion.patch))
        except ProblemError:
            continue
        outcome = solve_model(patched, time_limit=check_seconds, tiers=(TIER_PLACED,))
        if not outcome.found:
            continue
        placed_after = sum(outcome.placed)
        if placed_after > bound:
            suggestion.placed_gain = placed_after - bound
            suggestion.newly_placed = [patient.id for patient, now in zip(patched.patients, outcome.placed)
                                       if now and patient.id not in placed_before]
            verified.append(suggestion)
    verified.sort(key=lambda s: (-s.placed_gain / len(s.patch), s.kind, s.text))
    return verified


def suggestions_document(suggestions: list[Suggestion]) -> bytes:
    """suggestions.json: ranked by gain per change."""
    return (json.dumps({"format": "iop-sched-suggestions/1", "suggestions": [s.to_dict() for s in suggestions]},
                       indent=2, ensure_ascii=False) + "\n").encode("utf-8")
