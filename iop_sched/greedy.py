"""A fast first stage: first come, first served, as a coordinator fills groups by hand.

Used two ways: as the baseline iop_sched is measured against (benchmarks/), and as
the starting point (hint) of the CP-SAT search, so a large program has a schedule
in a fraction of a second and the solver improves it from there.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any, Optional, Sequence

from .constraints.availability import Eligibility, compute_eligibility
from .schema import SCHEDULE_FORMAT, Problem
from .weektime import MINUTES_PER_DAY, describe_interval


#: Default cap on the week combinations (search nodes) tried per patient by first come, first served.
FCFS_MAX_NODES = 2000


# --------------------------------------------------------------------------------------
# Shared: the schedule document
# --------------------------------------------------------------------------------------

def clinician_cap_minutes(problem: Problem) -> list[float]:
    """Each clinician's weekly cap in whole minutes, as iop_sched.constraints.staffing rounds it."""
    caps: list[float] = []
    for clinician in problem.clinicians:
        if clinician.max_weekly_hours is None:
            caps.append(math.inf)
        else:
            caps.append(int(round(clinician.max_weekly_hours * 60, 6) // 1))
    return caps


def schedule_document(
    problem: Problem,
    eligibility: Eligibility,
    rosters: Sequence[Sequence[int]],
    crews: Sequence[Sequence[int]],
    status: str,
    stats: dict[str, Any],
    *,
    explain: bool,
    label: str,
) -> dict[str, Any]:
    """The schedule document for rosters/crews given by position; reasons via iop_sched.reasons."""
    blocks_of_patient: list[list[int]] = [[] for _ in problem.patients]
    for b in range(len(problem.blocks)):
        for p in sorted(rosters[b]):
            blocks_of_patient[p].append(b)
    block_entries = []
    staffed_minutes = 0
    for b, block in enumerate(problem.blocks):
        members = sorted(rosters[b])
        crew = sorted(crews[b]) if members else []
        staffed_minutes += block.minutes * len(crew)
        block_entries.append({
            "id": block.id,
            "patients": [problem.patients[p].id for p in members],
            "clinicians": [problem.clinicians[c].id for c in crew],
        })
    patient_entries = []
    for p, patient in enumerate(problem.patients):
        mine = blocks_of_patient[p]
        patient_entries.append({
            "id": patient.id,
            "placed": bool(mine),
            "blocks": [problem.blocks[b].id for b in mine],
            "weekly_hours": sum(problem.blocks[b].minutes for b in mine) / 60,
            "reasons": [],
            "why": [],
        })
    placed = sum(1 for entry in patient_entries if entry["placed"])
    full_stats = {
        "patients": len(problem.patients),
        "placed": placed,
        "placed_bound": max(placed, int(stats.pop("placed_bound", len(problem.patients)))),
        "open_blocks": sum(1 for entry in block_entries if entry["patients"]),
        "solve_seconds": round(float(stats.pop("solve_seconds", 0.0)), 3),
        "clinician_hours": staffed_minutes / 60,
        **stats,
    }
    document = {
        "format": SCHEDULE_FORMAT,
        "status": status,
        "blocks": block_entries,
        "patients": patient_entries,
        "stats": full_stats,
    }
    unplaced = [entry for entry in patient_entries if not entry["placed"]]
    if unplaced:
        explanations = {}
        if explain:
            from iop_sched.reasons import explain_unplaced

            explanations = explain_unplaced(problem, eligibility, document)
        for entry in unplaced:
            explanation = explanations.get(entry["id"])
            if explanation is not None and explanation.sentences:
                entry["reasons"] = list(explanation.sentences)
                entry["why"] = list(explanation.why)
            else:
                entry["reasons"] = [f"Not placed by the {label} baseline."]
                entry["why"] = [{"code": "not_placed"}]
    return document


def _overlap(first: tuple[int, int], second: tuple[int, int]) -> bool:
    """Blocks lie inside one day of the week (end after start), so plain half-open overlap suffices."""
    return first[0] < second[1] and second[0] < first[1]


# --------------------------------------------------------------------------------------
# Baseline 1: first come, first served
# --------------------------------------------------------------------------------------

def first_come_first_served(
    problem: Problem,
    *,
    max_nodes: int = FCFS_MAX_NODES,
    explain: bool = True,
) -> dict[str, Any]:
    """What a coordinator does by hand: admission order, first week that fits, cancel small groups at the end.

    - Patients in order of `admitted` (missing: the program's start), ties in list order.
    - A patient's eligible blocks are tried groups-already-open first, then by weekday and
      time (then list order); a depth-first search over them takes the first combination
      that makes a whole week (minimum/maximum weekly hours, days, hours per day, no
      overlaps, required topics), at most `max_nodes` combinations per patient.
    - A block can be used when it is open with a seat left and its staff ratio still holds,
      adding a free clinician if needed; or when it can still be opened: its room is free
      then and enough free clinicians (credentials, availability, site, hours left) exist.
      The patient's primary clinician is asked first, then the least-loaded clinician.
    - A group is opened even below `min_size`, in the hope that others come. At the end
      every group still below `min_size` is cancelled; its patients lose that block, and a
      patient whose week no longer holds loses the whole week; repeated until stable.
      Clinicians beyond what each remaining group needs are then released.

    Nothing is proven: `placed_bound` is the number of patients and the status is
    "feasible".
    """
    started = time.monotonic()
    eligibility = compute_eligibility(problem)
    blocks = problem.blocks
    rules = problem.program.rules
    ratio = rules.max_patients_per_clinician
    day_limit = problem.max_minutes_per_day()
    n_blocks = len(blocks)

    minutes = [block.minutes for block in blocks]
    interval = [block.interval for block in blocks]
    day_of = [block.interval[0] // MINUTES_PER_DAY for block in blocks]
    capacity = [problem.capacity_of(block) for block in blocks]
    room_key: list[Optional[str]] = []
    for block in blocks:
        room = problem.room_of(block)
        room_key.append(room.id if room is not None and not room.virtual else None)
    caps = clinician_cap_minutes(problem)
    clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}

    def needed(b: int, size: int) -> int:
        count = blocks[b].clinicians
        if ratio is not None:
            count = max(count, math.ceil(size / ratio))
        return count

    # A block that could never meet (too few patients can reach it, room/max_size below
    # min_size, too few clinicians can ever staff it) is never opened, as in the model.
    can_ever_open = [
        capacity[b] >= blocks[b].min_size
        and len(eligibility.patients_of_block[b]) >= blocks[b].min_size
        and len(eligibility.clinicians_of_block[b]) >= max(blocks[b].clinicians, 1 if ratio is not None else 0)
        for b in range(n_blocks)
    ]

    members: list[list[int]] = [[] for _ in range(n_blocks)]
    crew: list[list[int]] = [[] for _ in range(n_blocks)]
    is_open = [False] * n_blocks
    room_blocks: dict[str, list[int]] = defaultdict(list)
    clinician_blocks: list[list[int]] = [[] for _ in problem.clinicians]
    clinician_used = [0] * len(problem.clinicians)
    week: list[list[int]] = [[] for _ in problem.patients]

    def clinician_free(c: int, b: int, tentative: dict[int, int]) -> bool:
        if c in crew[b]:
            return False
        if clinician_used[c] + tentative.get(c, 0) + minutes[b] > caps[c]:
            return False
        return not any(_overlap(interval[b], interval[o]) for o in clinician_blocks[c])

    def pick_clinicians(b: int, count: int, tentative: dict[int, int], primary: Optional[int]) -> Optional[list[int]]:
        if count <= 0:
            return []
        order = sorted(eligibility.clinicians_of_block[b],
                       key=lambda c: (c != primary, clinician_used[c] + tentative.get(c, 0), c))
        chosen = []
        for c in order:
            if clinician_free(c, b, tentative):
                chosen.append(c)
                if len(chosen) == count:
                    return chosen
        return None

    def action(b: int, tentative: dict[int, int], primary: Optional[int]) -> Optional[list[int]]:
        """Clinicians to add so the patient can be in block b now, or None when b cannot be used."""
        if is_open[b]:
            size = len(members[b]) + 1
            if size > capacity[b]:
                return None
            return pick_clinicians(b, needed(b, size) - len(crew[b]), tentative, primary)
        if not can_ever_open[b]:
            return None
        key = room_key[b]
        if key is not None and any(_overlap(interval[b], interval[o]) for o in room_blocks[key]):
            return None
        return pick_clinicians(b, needed(b, 1), tentative, primary)

    def open_block(b: int) -> None:
        is_open[b] = True
        if room_key[b] is not None:
            room_blocks[room_key[b]].append(b)

    def add_clinician(c: int, b: int) -> None:
        crew[b].append(c)
        clinician_blocks[c].append(b)
        clinician_used[c] += minutes[b]

    def release_clinician(c: int, b: int) -> None:
        crew[b].remove(c)
        clinician_blocks[c].remove(b)
        clinician_used[c] -= minutes[b]

    def close_block(b: int) -> None:
        for c in list(crew[b]):
            release_clinician(c, b)
        for p in members[b]:
            if b in week[p]:
                week[p].remove(b)
        members[b] = []
        is_open[b] = False
        if room_key[b] is not None:
            room_blocks[room_key[b]].remove(b)

    def week_holds(p: int, chosen: list[int]) -> bool:
        """Whether a (reduced) week still makes a placement; overlaps and maxima cannot break by removal."""
        if not chosen:
            return False
        patient = problem.patients[p]
        total = sum(minutes[b] for b in chosen)
        if total < problem.min_minutes_for(patient) or total > problem.max_minutes_for(patient):
            return False
        if len({day_of[b] for b in chosen}) < rules.min_days_per_week:
            return False
        for topic, count in problem.required_topics_for(patient).items():
            if sum(1 for b in chosen if blocks[b].topic == topic) < count:
                return False
        return True

    order = sorted(range(len(problem.patients)),
                   key=lambda p: (problem.patients[p].admitted or problem.program.start, p))
    turn_of = {p: k + 1 for k, p in enumerate(order)}
    total_nodes = 0
    capped = 0
    for p in order:
        patient = problem.patients[p]
        primary = clinician_index.get(patient.primary_clinician) if patient.primary_clinician else None
        low, high = problem.min_minutes_for(patient), problem.max_minutes_for(patient)
        topics = problem.required_topics_for(patient)
        min_days = rules.min_days_per_week
        candidates = [b for b in eligibility.blocks_of_patient[p] if action(b, {}, primary) is not None]
        candidates.sort(key=lambda b: (not is_open[b], interval[b][0], interval[b][1], b))
        if not candidates:
            continue
        count = len(candidates)
        suffix_minutes = [0] * (count + 1)
        suffix_days: list[frozenset] = [frozenset()] * (count + 1)
        suffix_topics: list[dict[str, int]] = [dict.fromkeys(topics, 0) for _ in range(count + 1)]
        for i in range(count - 1, -1, -1):
            b = candidates[i]
            suffix_minutes[i] = suffix_minutes[i + 1] + minutes[b]
            suffix_days[i] = suffix_days[i + 1] | {day_of[b]}
            suffix_topics[i] = dict(suffix_topics[i + 1])
            if blocks[b].topic in suffix_topics[i]:
                suffix_topics[i][blocks[b].topic] += 1

        chosen: list[int] = []
        plan: list[list[int]] = []
        per_day: dict[int, int] = defaultdict(int)
        topic_left = dict(topics)
        tentative: dict[int, int] = defaultdict(int)
        nodes = 0

        def search(start: int, total: int) -> bool:
            nonlocal nodes
            nodes += 1
            days_used = sum(1 for v in per_day.values() if v > 0)
            if chosen and total >= low and days_used >= min_days and all(v <= 0 for v in topic_left.values()):
                return True
            if nodes >= max_nodes:
                return False
            if total + suffix_minutes[start] < low:
                return False
            if days_used + len([d for d in suffix_days[start] if per_day.get(d, 0) == 0]) < min_days:
                return False
            if any(left > suffix_topics[start][topic] for topic, left in topic_left.items()):
                return False
            for i in range(start, count):
                b = candidates[i]
                m = minutes[b]
                if total + m > high:
                    continue
                if day_limit is not None and per_day[day_of[b]] + m > day_limit:
                    continue
                if any(_overlap(interval[b], interval[o]) for o in chosen):
                    continue
                extra = action(b, tentative, primary)
                if extra is None:
                    continue
                chosen.append(b)
                plan.append(extra)
                per_day[day_of[b]] += m
                if blocks[b].topic in topic_left:
                    topic_left[blocks[b].topic] -= 1
                for c in extra:
                    tentative[c] += m
                if search(i + 1, total + m):
                    return True
                for c in extra:
                    tentative[c] -= m
                if blocks[b].topic in topic_left:
                    topic_left[blocks[b].topic] += 1
                per_day[day_of[b]] -= m
                plan.pop()
                chosen.pop()
                if nodes >= max_nodes:
                    return False
            return False

        found = search(0, 0)
        total_nodes += nodes
        if nodes >= max_nodes and not found:
            capped += 1
        if not found:
            continue
        for b, extra in zip(chosen, plan):
            if not is_open[b]:
                open_block(b)
            for c in extra:
                add_clinician(c, b)
            members[b].append(p)
        week[p] = list(chosen)

    # The end of intake: cancel groups below min_size until nothing changes.
    cancelled: dict[int, list[tuple[int, int]]] = defaultdict(list)  # patient -> [(block, size at cancellation)]
    cancelled_blocks = 0
    while True:
        small = [b for b in range(n_blocks) if is_open[b] and len(members[b]) < blocks[b].min_size]
        if not small:
            break
        affected: set[int] = set()
        for b in small:
            for p in members[b]:
                cancelled[p].append((b, len(members[b])))
                affected.add(p)
            close_block(b)
            cancelled_blocks += 1
        for p in sorted(affected):
            if not week_holds(p, week[p]):
                for b in week[p]:
                    members[b].remove(p)
                week[p] = []
        for b in range(n_blocks):
            if is_open[b] and not members[b]:
                close_block(b)
    for b in range(n_blocks):
        if is_open[b]:
            for c in list(crew[b][needed(b, len(members[b])):]):
                release_clinician(c, b)
    seconds = time.monotonic() - started

    stats = {
        "placed_bound": len(problem.patients),
        "solve_seconds": seconds,
        "method": "first_come_first_served",
        "cancelled_blocks": cancelled_blocks,
        "search_nodes": total_nodes,
        "patients_search_capped": capped,
        "parameters": {"max_nodes": int(max_nodes)},
    }
    document = schedule_document(problem, eligibility, members, crew, "feasible", stats, explain=explain,
                         label="first come, first served")
    # Say what a coordinator's hand schedule did to those it left out.
    for p, patient in enumerate(problem.patients):
        entry = document["patients"][p]
        if entry["placed"]:
            continue
        if p in cancelled:
            lost = ", ".join(
                f"{blocks[b].id} ({describe_interval(interval[b])}, {size} of at least {blocks[b].min_size})"
                for b, size in cancelled[p])
            them = "the group was" if len(cancelled[p]) == 1 else "the groups were"
            sentence = (f"First come, first served gave them a week, but at the end of intake too few patients had "
                        f"joined {lost}; {them} cancelled and the week no longer held.")
            _replace_competition(entry, sentence, {"code": "fcfs_cancelled", "blocks": [blocks[b].id for b, _ in cancelled[p]]})
        elif any(w.get("code") == "competition" for w in entry["why"]):
            sentence = (f"First come, first served: at their turn ({turn_of[p]} of {len(problem.patients)} "
                        f"by admission date) no week could be made of the groups they can reach with the seats, "
                        f"rooms and clinicians still free.")
            _replace_competition(entry, sentence, {"code": "fcfs_turn", "turn": turn_of[p]})
    return document


def _replace_competition(entry: dict, sentence: str, why: dict) -> None:
    """Put what FCFS actually did first, in place of the solver's "not in this schedule" reason (reasons and why
    run in parallel, one entry each)."""
    kept = [k for k, item in enumerate(entry["why"]) if item.get("code") != "competition"]
    entry["reasons"] = [sentence] + [entry["reasons"][k] for k in kept]
    entry["why"] = [why] + [entry["why"][k] for k in kept]
