"""New capacity worth proposing: a new group where unplaced patients are free, or an extra clinician.

Candidates for `iop_sched.suggestions`, found from the schedule as it stands (who is
free when, which rooms are free, which clinicians have time and hours left); whether
they place anyone is for the verifying solve there to say.
"""

from __future__ import annotations

import copy
import json
import math
from collections import Counter
from typing import Any, Optional

from .constraints.availability import Refusal, clinician_refusal, compute_eligibility, patient_refusal
from .constraints.group_size import too_few_patients
from .constraints.staffing import too_few_clinicians
from .patches import Suggestion
from .schema import Block, Patient, Problem
from .weektime import DAYS, MINUTES_PER_DAY, describe_interval, format_clock, intervals_overlap

#: At most this many new groups are checked (the times most unplaced patients can come to).
NEW_BLOCK_CANDIDATES = 5
#: At most this many pairs of new groups (one shape on two days) are checked, where no single copy helps.
NEW_PAIR_CANDIDATES = 3
#: Times per shape considered for a pair (the ones most unplaced patients can come to).
PAIR_SLOTS = 12
#: A new group is proposed only where at least this many unplaced patients (and its min_size) can come.
NEW_BLOCK_MIN_DEMAND = 2
#: At most this many extra clinicians are checked (the ones whose groups most unplaced patients can reach).
EXTRA_CLINICIAN_CANDIDATES = 3


class ClinicianLoad:
    """What each clinician leads in the schedule as found: minutes a week and the times taken."""

    def __init__(self, problem: Problem, schedule: dict):
        self.problem = problem
        position = {block.id: block for block in problem.blocks}
        self.minutes = [0] * len(problem.clinicians)
        self.taken: list[list[tuple[int, int]]] = [[] for _ in problem.clinicians]
        self._free: dict[tuple, int] = {}
        self._suited: dict[tuple, list[int]] = {}
        index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
        for entry in schedule["blocks"]:
            block = position.get(entry["id"])
            if block is None or not entry["patients"]:
                continue
            for clinician_id in entry["clinicians"]:
                if clinician_id in index:
                    self.minutes[index[clinician_id]] += block.minutes
                    self.taken[index[clinician_id]].append(block.interval)

    def free_for(self, block: Block) -> int:
        """How many clinicians may lead `block` and, in the schedule as found, have the time and hours left."""
        modality, site = self.problem.modality_of(block), self.problem.site_of(block)
        kind = (tuple(block.credentials or ()), modality, site)
        if kind not in self._suited:  # credentials and site first: the time check is the costly one
            self._suited[kind] = [
                c for c, clinician in enumerate(self.problem.clinicians)
                if (block.credentials is None or set(block.credentials) & set(clinician.credentials))
                and (modality != "in_person" or clinician.sites is None or site in clinician.sites)]
        key = (block.interval, kind)
        if key not in self._free:
            free = 0
            for c in self._suited[kind]:
                clinician = self.problem.clinicians[c]
                if clinician_refusal(self.problem, clinician, block) is not None:
                    continue
                if any(intervals_overlap(block.interval, taken) for taken in self.taken[c]):
                    continue
                if clinician.max_weekly_hours is not None \
                        and self.minutes[c] + block.minutes > clinician.max_weekly_hours * 60 + 1e-6:
                    continue
                free += 1
            self._free[key] = free
        return self._free[key]


def _staff_needed(problem: Problem, block: Block, patients: int) -> int:
    """Clinicians a group of `patients` needs (the staffing rule of the format)."""
    ratio = problem.program.rules.max_patients_per_clinician
    return max(block.clinicians, math.ceil(patients / ratio) if ratio is not None else 0)


def _fits_week(problem: Problem, patient: Patient, block: Block) -> bool:
    """Not longer than the patient's weekly maximum or the program's daily one (as eligibility rules)."""
    day_limit = problem.max_minutes_per_day()
    return block.minutes <= problem.max_minutes_for(patient) and (day_limit is None or block.minutes <= day_limit)


def _patients(count: int) -> str:
    return f"{count} unplaced patient{'' if count == 1 else 's'}"


def _add_to_list(document: dict, name: str, value: dict) -> dict:
    """The patch operation appending `value` to the document's list `name` (creating the list if absent)."""
    if isinstance(document.get(name), list):
        return {"op": "add", "path": f"/{name}/-", "value": value}
    return {"op": "add", "path": f"/{name}", "value": [value]}


def _new_clinician(problem: Problem, blocks: list[Block], credential: Optional[str]) -> dict:
    """A clinician available exactly at `blocks`' times, with the hours to lead all it can, at their site.

    Overlapping times are merged into one window; the weekly hours are the merged
    windows' length, enough for every block that does not overlap another.
    """
    taken = {clinician.id for clinician in problem.clinicians}
    number = 1
    while f"extra-clinician-{number}" in taken:
        number += 1
    value: dict[str, Any] = {"id": f"extra-clinician-{number}"}
    if credential is not None:
        value["credentials"] = [credential]
    merged: list[list[int]] = []
    for start, end in sorted(block.interval for block in blocks):  # blocks never pass midnight
        if merged and start <= merged[-1][1] and start // MINUTES_PER_DAY == merged[-1][0] // MINUTES_PER_DAY:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    value["available"] = [{"day": DAYS[start // MINUTES_PER_DAY], "start": format_clock(start % MINUTES_PER_DAY),
                           "end": format_clock(end - start // MINUTES_PER_DAY * MINUTES_PER_DAY)}
                          for start, end in merged]
    hours = sum(end - start for start, end in merged) / 60
    value["max_weekly_hours"] = int(hours) if hours == int(hours) else round(hours, 4)
    sites = sorted({problem.site_of(block) for block in blocks
                    if problem.modality_of(block) == "in_person" and problem.site_of(block)})
    if sites:
        value["sites"] = sites
    return value


def _describe_clinician(value: dict) -> str:
    holding = f" holding {value['credentials'][0]}" if value.get("credentials") else ""
    site = f" at site {', '.join(value['sites'])}" if value.get("sites") else ""
    return f"a new clinician ({value['id']}){holding}{site}"


def _describe_windows(value: dict) -> str:
    return ", ".join(f"{window['day'].capitalize()} {window['start']}-{window['end']}" for window in value["available"])


def _copy_at(origin: Block, day: str, start: int) -> Block:
    """The origin block moved to `day` at `start` (minutes after midnight), same length."""
    return Block.model_validate({**origin.model_dump(), "id": f"{origin.id}-copy", "day": day,
                                 "start": format_clock(start), "end": format_clock(start + origin.minutes)})


def _block_shape(block: Block) -> str:
    """What a copy of the block keeps: everything but its id and its time (its length is kept)."""
    dumped = block.model_dump(mode="json", exclude={"id", "day", "start", "end", "pinned_clinicians"})
    return json.dumps([block.minutes, dumped], sort_keys=True)


def new_block_candidates(problem: Problem, document: dict,
                         unplaced: list[tuple[int, dict[str, Optional[Refusal]]]],
                         load: ClinicianLoad) -> list[Suggestion]:
    """Copies of existing blocks at other times when several unplaced patients are free and the room is too.

    The times tried are the start times the program already uses, on every day, for
    each block shape (duration, room, topic, audience, credentials, sizes...) that
    unplaced patients could join but for its time. A copy needs its room free (no other
    block of that room overlaps it), at least max(min_size, NEW_BLOCK_MIN_DEMAND)
    unplaced patients free then (busy windows widened by travel, as `patient_refusal`
    says), and enough clinicians who may lead it with the time and hours left in the
    schedule as found; when one is missing, the copy comes with a new clinician for
    that time (two changes). Each shape offers its best time; shapes are ranked by the
    unplaced patients it could seat whose reachable hours (of blocks that can open at all)
    would then reach their weekly minimum, then without a new clinician first, then by all
    who can come.
    """
    starts = sorted({block.interval[0] % MINUTES_PER_DAY for block in problem.blocks})
    block_ids = {block.id for block in problem.blocks}
    # a block that can open in no schedule (no clinician may lead it, too few can come) gives no hours
    eligibility = compute_eligibility(problem)
    can_open = {block.id for b, block in enumerate(problem.blocks)
                if too_few_patients(problem, eligibility, b) is None and too_few_clinicians(problem, eligibility, b) is None}
    reach = {p: sum(block.minutes for block in problem.blocks if refusals[block.id] is None and block.id in can_open)
             for p, refusals in unplaced}
    free_then: dict[tuple, bool] = {}  # (patient, interval, modality) -> not busy then, travel included
    shapes_seen: set[str] = set()
    options = []  # (sort key, origin position, candidate block, patients who can come, needs a clinician)
    pair_options = []  # (sort key, origin position, two candidate blocks, patients who can come to both)
    for b, origin in enumerate(problem.blocks):
        shape = _block_shape(origin)
        if shape in shapes_seen:
            continue
        shapes_seen.add(shape)
        # Who could join a copy but for its time: the busy check is the last rule patient_refusal applies.
        interested = [p for p, refusals in unplaced if (refusals[origin.id] is None or refusals[origin.id].code == "busy")
                      and _fits_week(problem, problem.patients[p], origin)]
        demand = max(origin.min_size, NEW_BLOCK_MIN_DEMAND)
        if len(interested) < demand:
            continue
        room, modality, seats = problem.room_of(origin), problem.modality_of(origin), problem.capacity_of(origin)
        room_blocks = [other for other in problem.blocks if origin.room is not None and other.room == origin.room]
        completing = {p for p in interested if reach[p] + origin.minutes >= problem.min_minutes_for(problem.patients[p])}
        slots = []  # (sort key without staffing, day, start, patients who can come, patients it would complete)
        for day in DAYS:
            for start in starts:
                if start + origin.minutes > MINUTES_PER_DAY or (day == origin.day and start == origin.interval[0] % MINUTES_PER_DAY):
                    continue
                interval = (DAYS.index(day) * MINUTES_PER_DAY + start, DAYS.index(day) * MINUTES_PER_DAY + start + origin.minutes)
                if room is not None and not room.virtual:
                    if any(intervals_overlap(interval, other.interval) for other in room_blocks):
                        continue
                elif any(other.interval == interval and _block_shape(other) == shape for other in room_blocks):
                    continue  # the same group already meets then
                candidate = None
                come = []
                for p in interested:
                    key = (p, interval, modality)
                    if key not in free_then:
                        if candidate is None:
                            candidate = _copy_at(origin, day, start)
                        free_then[key] = patient_refusal(problem, problem.patients[p], candidate) is None
                    if free_then[key]:
                        come.append(p)
                if len(come) < demand:
                    continue
                seated = min(len(come), seats)
                completes = sum(1 for p in come if p in completing)
                completes = min(completes, seats)
                slots.append(((-completes, -seated, -len(come), DAYS.index(day), start), day, start, come, seated))
        # Each shape's best time: most patients completed, then no new clinician, then most seated.
        # Staffing is looked up lazily, from the best time down, as it is the costly part.
        best = None
        for key, day, start, come, seated in sorted(slots, key=lambda slot: slot[0]):
            if best is not None and (key[0] > best[0][0] or not best[4]):
                break
            candidate = _copy_at(origin, day, start)
            short = _staff_needed(problem, candidate, seated) - load.free_for(candidate)
            if short > 1 or (best is not None and short > 0):
                continue
            best = ((key[0], short > 0) + key[1:] + (b,), b, candidate, come, short > 0)
        if best is not None:
            options.append(best)
        if best is None or best[0][0] == 0:
            pair = _best_pair(problem, origin, slots, interested, reach, seats)
            if pair is not None:
                pair_options.append(pair[:1] + (b,) + pair[1:])
    options.sort(key=lambda option: option[0])
    chosen: list[Suggestion] = []
    served: set[tuple] = set()
    for _, b, candidate, come, with_clinician in options:
        if len(chosen) >= NEW_BLOCK_CANDIDATES:
            break
        same = (candidate.interval, frozenset(come))
        if same in served:  # another room or topic for the same patients at the same time adds nothing new
            continue
        served.add(same)
        origin = problem.blocks[b]
        value = _new_block_value(problem, document, b, candidate, block_ids)
        new_id = value["id"]
        where = f" in room {origin.room}" if origin.room is not None else ""
        topic = f" ({origin.topic})" if origin.topic else ""
        text = (f"add a group like {origin.id}{topic} on {describe_interval(candidate.interval)}{where} "
                f"as {new_id}: {_patients(len(come))} are free then")
        patch = [{"op": "add", "path": "/blocks/-", "value": value}]
        if with_clinician:
            credential = sorted(candidate.credentials)[0] if candidate.credentials else None
            clinician = _new_clinician(problem, [candidate], credential)
            patch.append(_add_to_list(document, "clinicians", clinician))
            text += f", with {_describe_clinician(clinician)} to lead it"
        chosen.append(Suggestion("new_block", text, patch))
    pair_options.sort(key=lambda option: option[0])
    for _, b, pair, come in pair_options[:NEW_PAIR_CANDIDATES]:
        origin, patch, ids = problem.blocks[b], [], []
        for candidate in pair:
            value = _new_block_value(problem, document, b, candidate, block_ids)
            block_ids.add(value["id"])
            ids.append(value["id"])
            patch.append({"op": "add", "path": "/blocks/-", "value": value})
        where = f" in room {origin.room}" if origin.room is not None else ""
        topic = f" ({origin.topic})" if origin.topic else ""
        text = (f"add two groups like {origin.id}{topic}{where}, on {describe_interval(pair[0].interval)} as {ids[0]} "
                f"and on {describe_interval(pair[1].interval)} as {ids[1]}: {_patients(len(come))} are free at both times, "
                f"and one new group alone would not give them a whole week")
        chosen.append(Suggestion("new_block", text, patch))
    return chosen


def _best_pair(problem: Problem, origin: Block, slots: list, interested: list[int], reach: dict[int, int],
               seats: int) -> Optional[tuple]:
    """Two copies of `origin` on two different days that together complete the most unplaced patients' weeks.

    For shapes where no single copy brings anyone to their weekly minimum (two evenings
    a parent is free, say). Only the PAIR_SLOTS times most patients can come to are
    paired; enough clinicians must be allowed to lead each copy (the verifying solve
    finds out whether the week can be re-staffed around them).
    Returns (sort key, (first, second), patients who can come to both) or None.
    """
    demand = max(origin.min_size, NEW_BLOCK_MIN_DEMAND)
    completing = {p for p in interested
                  if reach[p] + 2 * origin.minutes >= problem.min_minutes_for(problem.patients[p])}
    if len(completing) < demand:
        return None
    top = sorted(slots, key=lambda slot: (-len(set(slot[3]) & completing), slot[0]))[:PAIR_SLOTS]
    best = None
    for i, (_, day_a, start_a, come_a, _) in enumerate(top):
        for _, day_b, start_b, come_b, _ in top[i + 1:]:
            if day_a == day_b:
                continue
            both = sorted(set(come_a) & set(come_b))
            completes = len(set(both) & completing)
            completes = min(completes, seats)
            if len(both) < demand or completes == 0:
                continue
            key = (-completes, -len(both), DAYS.index(day_a), start_a, DAYS.index(day_b), start_b)
            if best is not None and key >= best[0]:
                continue
            pair = tuple(sorted((_copy_at(origin, day_a, start_a), _copy_at(origin, day_b, start_b)),
                                key=lambda block: block.interval))
            seated = min(len(both), seats)
            # Clinicians who may lead both copies at all (credentials, availability, site); whether
            # the week can be re-staffed around them is for the verifying solve to say.
            if any(_staff_needed(problem, candidate, seated) > _may_lead(problem, candidate) for candidate in pair):
                continue
            best = (key, pair, both)
    return best


def _may_lead(problem: Problem, block: Block) -> int:
    """How many clinicians hold the credentials, are available and work at the site of `block`."""
    return sum(1 for clinician in problem.clinicians if clinician_refusal(problem, clinician, block) is None)


def _new_block_value(problem: Problem, document: dict, b: int, candidate: Block, block_ids: set[str]) -> dict:
    """The document entry of a copy of block `b` at the candidate's time, with a fresh id."""
    origin = problem.blocks[b]
    blocks = document.get("blocks", [])
    value = copy.deepcopy(blocks[b]) if b < len(blocks) and isinstance(blocks[b], dict) \
        and blocks[b].get("id") == origin.id else origin.model_dump(mode="json", exclude_none=True)
    value.pop("pinned_clinicians", None)
    base = f"{origin.id}-extra-{candidate.day}"
    new_id, number = base, 2
    while new_id in block_ids:
        new_id, number = f"{base}-{number}", number + 1
    value.update({"id": new_id, "day": candidate.day, "start": candidate.start, "end": candidate.end})
    return value


def extra_clinician_candidates(problem: Problem, document: dict, schedule: dict,
                               unplaced: list[tuple[int, dict[str, Optional[Refusal]]]],
                               load: ClinicianLoad) -> list[Suggestion]:
    """A new clinician where groups unplaced patients can reach stayed closed for want of one.

    A closed block counts when an unplaced patient can reach it and, in the schedule as
    found, one clinician fewer than it needs may lead it with the time and hours left
    (nobody else holds its credentials, is available then, works at its site, or has
    the hours left). Blocks are grouped by site (telehealth apart) and by the credential
    most of them accept; each group gets one clinician available exactly at its blocks'
    times, with the hours for them. Ranked by the unplaced patients who can reach the
    group's blocks.
    """
    open_blocks = {entry["id"] for entry in schedule["blocks"] if entry["patients"]}
    wanting: list[tuple[Block, set[int]]] = []
    for block in problem.blocks:
        if block.id in open_blocks:
            continue
        reaching = {p for p, refusals in unplaced
                    if refusals[block.id] is None and _fits_week(problem, problem.patients[p], block)}
        if reaching and _staff_needed(problem, block, 1) - load.free_for(block) == 1:
            wanting.append((block, reaching))
    accepted = Counter(credential for block, _ in wanting for credential in set(block.credentials or ()))
    groups: dict[tuple, list[tuple[Block, set[int]]]] = {}
    for block, reaching in wanting:
        credential = min(block.credentials, key=lambda name: (-accepted[name], name)) if block.credentials else None
        site = problem.site_of(block) if problem.modality_of(block) == "in_person" else None
        groups.setdefault((site or "", credential), []).append((block, reaching))
    order = {block.id: b for b, block in enumerate(problem.blocks)}
    ranked = sorted(groups.items(), key=lambda item: (-len(set().union(*(r for _, r in item[1]))),
                                                      min(order[block.id] for block, _ in item[1])))
    chosen = []
    for (_, credential), members in ranked[:EXTRA_CLINICIAN_CANDIDATES]:
        blocks = [block for block, _ in members]
        clinician = _new_clinician(problem, blocks, credential)
        reaching = set().union(*(r for _, r in members))
        names = [block.id for block in sorted(blocks, key=lambda block: block.interval)]
        named = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        text = (f"add {_describe_clinician(clinician)}, available {_describe_windows(clinician)} "
                f"(up to {clinician['max_weekly_hours']:g} h a week), so that {named} can open: "
                f"{_patients(len(reaching))} can reach {'it' if len(blocks) == 1 else 'them'}")
        chosen.append(Suggestion("extra_clinician", text, [_add_to_list(document, "clinicians", clinician)]))
    return chosen
