"""Small changes to the program that would place more patients, each verified by solving again.

Candidates come from why each patient was not placed: telehealth consent where
only consent keeps them from telehealth groups, another site where only the site
keeps them out, a larger group where a group they can reach is full below its
room's capacity, more weekly hours for a clinician at their cap, a new group (a copy
of an existing block's shape) at a time when several of them are free and its room
is not taken, and an extra clinician where groups they can reach cannot open for
want of one. Each candidate is an RFC 6902 JSON Patch against the problem document;
it is applied, the number placed is solved again (tier 1 only), and it is kept only
if it places more. New groups and extra clinicians are found in `iop_sched.new_capacity`;
the patch type and its application are in `iop_sched.patches`.

`placed_gain` is conservative: the patched program's schedule as found, minus the
original's *proven bound* on patients placed. So applying the patch and solving
again places at least that many more, whatever schedule the original run found.
"""

from __future__ import annotations

import json
from typing import Optional

from .constraints.availability import Refusal, patient_refusal
from .constraints.base import CONDITIONAL_BOUND_KEYS, TIER_PLACED
from .loading import ProblemError, problem_from_data
from .new_capacity import ClinicianLoad, extra_clinician_candidates, new_block_candidates
from .patches import Suggestion, apply_patch
from .schema import Problem

DEFAULT_CHECK_SECONDS = 10.0


def candidates(problem: Problem, document: dict, schedule: dict) -> list[Suggestion]:
    """Changes worth checking, from the patients not placed and the groups that are full.

    The list takes the kinds in turn (one of each kind, then the next of each...), so a
    `limit` on how many are checked leaves no kind out.
    """
    placed = {entry["id"] for entry in schedule["patients"] if entry["placed"]}
    rosters = {entry["id"]: entry for entry in schedule["blocks"]}
    found: dict[str, Suggestion] = {}
    unplaced: list[tuple[int, dict[str, Optional[Refusal]]]] = []
    for index, patient in enumerate(problem.patients):
        if patient.id in placed:
            continue
        refusals = {block.id: patient_refusal(problem, patient, block) for block in problem.blocks}
        unplaced.append((index, refusals))
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
    load = ClinicianLoad(problem, schedule)
    for c, clinician in enumerate(problem.clinicians):
        if clinician.max_weekly_hours is None:
            continue
        if load.minutes[c] >= clinician.max_weekly_hours * 60 - 1e-6:
            extra = 3
            found[f"hours:{clinician.id}"] = Suggestion(
                "clinician_hours", f"give {clinician.id} {extra} more weekly hours "
                f"({clinician.max_weekly_hours:g} -> {clinician.max_weekly_hours + extra:g})",
                [{"op": "replace", "path": f"/clinicians/{c}/max_weekly_hours",
                  "value": clinician.max_weekly_hours + extra}])
    if unplaced:
        for suggestion in new_block_candidates(problem, document, unplaced, load):
            found[f"block:{suggestion.patch[0]['value']['id']}"] = suggestion
        for number, suggestion in enumerate(extra_clinician_candidates(problem, document, schedule, unplaced, load)):
            found[f"clinician:{number}"] = suggestion
    return _kinds_in_turn(list(found.values()))


def _kinds_in_turn(suggestions: list[Suggestion]) -> list[Suggestion]:
    """The first of each kind, then the second of each kind, ... (kinds in order of first appearance)."""
    by_kind: dict[str, list[Suggestion]] = {}
    for suggestion in suggestions:
        by_kind.setdefault(suggestion.kind, []).append(suggestion)
    ordered = []
    for turn in range(max((len(group) for group in by_kind.values()), default=0)):
        ordered.extend(group[turn] for group in by_kind.values() if turn < len(group))
    return ordered


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
    if any(key in schedule["stats"] for key in CONDITIONAL_BOUND_KEYS.values()):
        # Tier 1 was solved with pins held or the previously placed kept: placed_bound is then the LP's bound at
        # best, the number of patients at worst, which a change may not be able to beat. The most that can be
        # placed is proven here as each candidate is checked (patients placed only), so a gain is measured
        # against the same question.
        baseline = solve_model(problem, time_limit=check_seconds, tiers=(TIER_PLACED,))
        proven = baseline.tiers[0].bound if baseline.tiers else None
        bound = int(proven) if proven is not None else len(problem.patients)
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


__all__ = ["Suggestion", "apply_patch", "candidates", "suggest", "suggestions_document"]
