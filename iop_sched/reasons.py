"""Why a patient was not placed, in words a coordinator accepts as true.

Two questions, cheapest true answer first:
1. Could the patient be placed with the whole program to themselves? A tiny CP-SAT
   model over the groups they can reach that can open at all (hours, days, hours per
   day, overlaps, topics; no other patients, no staffing) decides it. If not, say what removes
   which groups and what the reachable groups add up to.
2. If they could, what stood in the way alongside the others: the groups they can
   reach were full, did not open, or could not be staffed in the chosen schedule
   (the `competition` entry, a description of the schedule), followed by what
   *binds*, proven with the solver (`iop_sched.binding`).
Every sentence comes with a machine-readable `why` entry (code + details).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Optional

from ortools.sat.python import cp_model

from .binding import (CHECK_WORKERS, FULL_BUDGET_SECONDS, FULL_CHECK_SECONDS, HARD_FAMILIES, MAX_PATIENTS_PROVED,
                      QUICK_BUDGET_SECONDS, QUICK_CHECK_SECONDS, RULES, Prover)
from .constraints.availability import Eligibility, compute_eligibility, patient_refusal
from .constraints.group_size import too_few_patients
from .constraints.staffing import too_few_clinicians
from .explanation import Explanation
from .schema import Patient, Problem
from .week_alone import week_alone_model
from .weektime import DAY_NAMES, DAYS, MINUTES_PER_DAY, describe_interval, format_clock, intervals_overlap


def _groups(count: int) -> str:
    """ "1 group", "3 groups"."""
    return f"{count} group{'' if count == 1 else 's'}"


def _hours(minutes: float) -> str:
    return f"{minutes / 60:g} h"


def _days_text(day_indexes: list[int]) -> str:
    return "/".join(DAY_NAMES[DAYS[d]] for d in sorted(day_indexes)) or "no day"


def _busy_summary(patient: Patient) -> str:
    """ "work Mon/Tue/Wed/Thu/Fri 08:00-16:30" for each busy window."""
    parts = []
    for busy in patient.busy:
        days = [DAYS.index(d) for d in busy.day_list]
        parts.append(f"{busy.reason} {_days_text(days)} {busy.start}-{busy.end}")
    return "; ".join(parts)


#: Seconds the check "could they be placed with the program to themselves?" may take (milliseconds in practice).
ALONE_CHECK_SECONDS = 5.0


def placeable_alone(problem: Problem, patient: Patient, blocks: list[int]) -> Optional[bool]:
    """Whether some week of the reachable blocks meets every rule of a placement; None when not settled in time."""
    if not blocks:
        return False
    model, _ = week_alone_model(problem, patient, blocks)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = ALONE_CHECK_SECONDS
    solver.parameters.num_workers = 1
    code = solver.solve(model)
    if code == cp_model.MODEL_INVALID:  # a fault of ours, not a verdict on the patient
        raise RuntimeError(f"the week model of patient {patient.id!r} is invalid: {model.validate()}")
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if code == cp_model.INFEASIBLE else None


def _explain_outside_dates(problem: Problem, patient: Patient, explanation: Explanation) -> None:
    """Admitted after the program ends or discharged before it starts: seats go first to those who can come."""
    program = problem.program
    if patient.admitted is not None and patient.admitted > program.last_date:
        when = f"Admitted {patient.admitted}, after the program's last date {program.last_date}"
    else:
        when = f"Discharged {patient.discharge}, before the program starts on {program.start}"
    explanation.add(f"{when}: no session falls in their dates, so they are placed only where that takes no seat "
                    "from a patient who can come.",
                    "outside_program_dates", admitted=str(patient.admitted) if patient.admitted else None,
                    discharge=str(patient.discharge) if patient.discharge else None)


def never_opens(problem: Problem, eligibility: Eligibility, b: int) -> Optional[str]:
    """Why block `b` can open in no schedule at all (too few patients can come, too few clinicians), or None.

    The same rules close the block in the model (`group_size`, `staffing`), so a patient whose
    week needs such a block is not "placeable alone" and nobody's place is at stake.
    """
    return too_few_patients(problem, eligibility, b) or too_few_clinicians(problem, eligibility, b)


def _explain_alone(problem: Problem, patient: Patient, blocks: list[int], explanation: Explanation) -> None:
    """The patient cannot be placed even alone: say what removes groups and what is left."""
    if problem.min_minutes_for(patient) > problem.max_minutes_for(patient):
        least, most = problem.min_minutes_for(patient), problem.max_minutes_for(patient)
        explanation.add(f"No week can meet their hours: the minimum of {_hours(least)} a week is above their maximum "
                        f"of {_hours(most)}.", "hours_conflict", min_hours=least / 60, max_hours=most / 60)
        return
    removed: dict[str, list[str]] = defaultdict(list)
    for block in problem.blocks:
        refusal = patient_refusal(problem, patient, block)
        if refusal is not None:
            removed[refusal.code].append(block.id)
    rules = problem.program.rules
    busy = _busy_summary(patient)
    needed_minutes = problem.min_minutes_for(patient)
    reach_minutes = sum(problem.blocks[b].minutes for b in blocks)
    reach_days = sorted({problem.blocks[b].interval[0] // MINUTES_PER_DAY for b in blocks})
    if busy and removed.get("busy"):
        travel = f" (with {patient.travel_minutes:g} min travel each way)" if patient.travel_minutes else ""
        explanation.add(f"Busy {busy}{travel}: {len(removed['busy'])} of {_groups(len(problem.blocks))} collide.",
                        "busy", blocks=removed["busy"], travel_minutes=patient.travel_minutes)
    if removed.get("telehealth"):
        explanation.add(f"No telehealth consent: {_groups(len(removed['telehealth'])).replace('group', 'telehealth group')} out of reach.",
                        "telehealth", blocks=removed["telehealth"])
    if removed.get("site"):
        explanation.add(f"Attends only at {', '.join(patient.sites or [])}: {_groups(len(removed['site']))} elsewhere.",
                        "site", blocks=removed["site"])
    if removed.get("audience"):
        lacking = sorted({tag for b in problem.blocks if b.id in removed["audience"] for tag in b.audience
                          if tag not in patient.all_tags})
        explanation.add(f"{_groups(len(removed['audience']))} for another audience (e.g. {', '.join(lacking)}).",
                        "audience", blocks=removed["audience"])
    # groups the patient may join but no day or week of theirs could hold (the eligibility leaves them out)
    day_limit, weekly_most = problem.max_minutes_per_day(), problem.max_minutes_for(patient)
    refused = {block_id for ids in removed.values() for block_id in ids}
    longer_than_day = [b.id for b in problem.blocks if b.id not in refused and day_limit is not None and b.minutes > day_limit]
    longer_than_week = [b.id for b in problem.blocks if b.id not in refused and b.id not in longer_than_day
                        and b.minutes > weekly_most]
    if longer_than_day:
        explanation.add(f"{_groups(len(longer_than_day))} longer than the {_hours(day_limit)} a day allows: "
                        f"{', '.join(longer_than_day[:5])}{', ...' if len(longer_than_day) > 5 else ''}.",
                        "longer_than_a_day", blocks=longer_than_day, max_hours_per_day=day_limit / 60)
    if longer_than_week:
        explanation.add(f"{_groups(len(longer_than_week))} longer than their weekly maximum of {_hours(weekly_most)}: "
                        f"{', '.join(longer_than_week[:5])}{', ...' if len(longer_than_week) > 5 else ''}.",
                        "longer_than_their_week", blocks=longer_than_week, max_hours=weekly_most / 60)
    if not blocks:
        explanation.add("No group of the week that can open is reachable."
                        if any(entry["code"] == "never_opens" for entry in explanation.why)
                        else "No group of the week is reachable.", "no_reachable_group")
        return
    reachable = ", ".join(f"{problem.blocks[b].id} ({describe_interval(problem.blocks[b].interval)})" for b in blocks)
    short_of_week = reach_minutes < needed_minutes or len(reach_days) < rules.min_days_per_week
    details = dict(blocks=[problem.blocks[b].id for b in blocks], hours=reach_minutes / 60, days=len(reach_days),
                   min_hours=needed_minutes / 60, min_days=rules.min_days_per_week)
    week_text = (f"The reachable groups ({reachable}) give at most {_hours(reach_minutes)} on {len(reach_days)} "
                 f"day{'s' if len(reach_days) != 1 else ''} ({_days_text(reach_days)})")
    needed_text = f"{_hours(needed_minutes)}" + (f" on {rules.min_days_per_week} days" if rules.min_days_per_week else "")
    if short_of_week:
        explanation.add(f"{week_text}, against the minimum of {needed_text}.", "reachable_week", **details)
    missing_topic = False
    for topic, count in problem.required_topics_for(patient).items():
        on_topic = [problem.blocks[b].id for b in blocks if problem.blocks[b].topic == topic]
        if len(on_topic) < count:
            missing_topic = True
            explanation.add(f"Needs {count} {topic.replace('_', ' ')} group{'s' if count > 1 else ''} a week; "
                            f"{len(on_topic) or 'none'} reachable.", "topic", topic=topic, needed=count, reachable=on_topic)
    if not short_of_week and not missing_topic:
        limits = [f"their weekly maximum of {_hours(weekly_most)}"]
        if day_limit is not None:
            limits.append(f"at most {_hours(day_limit)} a day")
        if any(intervals_overlap(problem.blocks[a].interval, problem.blocks[b].interval) for a in blocks for b in blocks if a < b):
            limits.append("no two overlapping groups")
        if any(count > 0 for count in problem.required_topics_for(patient).values()):
            limits.append("their required topics")
        explanation.add(f"{week_text}, but no combination of them meets {needed_text} within "
                        f"{', '.join(limits[:-1]) + ' and ' + limits[-1] if len(limits) > 1 else limits[0]}.",
                        "no_combination", **details)


def _explain_with_others(problem: Problem, blocks: list[int], schedule: dict, explanation: Explanation) -> None:
    """The patient could be placed alone; report the state of their reachable groups in this schedule."""
    rosters = {entry["id"]: entry for entry in schedule["blocks"]}
    full, closed, open_with_room = [], [], []
    for b in blocks:
        block = problem.blocks[b]
        roster = rosters.get(block.id, {"patients": []})
        size, seats = len(roster["patients"]), problem.seats_of(block)
        if size == 0:
            closed.append(block.id)
        elif seats is not None and size >= seats:  # every seat taken
            full.append(block.id)
        else:
            open_with_room.append(block.id)
    parts = []
    if full:
        parts.append(f"full: {', '.join(full)}")
    if closed:
        parts.append(f"not opened (too few patients who can come, or no clinician or room free then): {', '.join(closed)}")
    if open_with_room:
        parts.append(f"open with seats left: {', '.join(open_with_room)}")
    stats = schedule.get("stats", {})
    proven = stats.get("placed_bound") is not None and stats.get("placed_bound") == stats.get("placed")
    tail = (" The number placed is proven to be the most possible, so no schedule places them without leaving out "
            "someone placed here." if proven else "")
    explanation.add(
        "A week of the groups they can reach fits their own rules, but not in this schedule: of those groups, "
        + "; ".join(parts) + "." + tail,
        "competition", full=full, closed=closed, open=open_with_room, proven_optimal=proven)


def explain_unplaced(
    problem: Problem,
    eligibility: Eligibility,
    schedule: dict,
    *,
    prove: bool = True,
    check_seconds: float = QUICK_CHECK_SECONDS,
    budget_seconds: Optional[float] = QUICK_BUDGET_SECONDS,
    max_patients: int = MAX_PATIENTS_PROVED,
    workers: Optional[int] = CHECK_WORKERS,
    seed: int = 0,
    patients: Optional[Iterable[str]] = None,
) -> dict[str, Explanation]:
    """Explanations for every unplaced patient of a schedule document (or those in `patients`).

    `prove`: for a patient who could be placed alone, ask the solver what binds (at most
    `check_seconds` per question, `budget_seconds` for all, the first `max_patients` such
    patients). The defaults are the quick limits `solve()` runs with.
    """
    entries = {entry["id"]: entry for entry in schedule["patients"]}
    wanted = None if patients is None else set(patients)
    prover: Optional[Prover] = None
    analysed = 0
    result = {}
    for p, patient in enumerate(problem.patients):
        if entries[patient.id]["placed"] or (wanted is not None and patient.id not in wanted):
            continue
        never = {b: why for b in eligibility.blocks_of_patient[p] if (why := never_opens(problem, eligibility, b))}
        blocks = [b for b in eligibility.blocks_of_patient[p] if b not in never]
        explanation = Explanation()
        if problem.has_no_date_in_program(patient):
            _explain_outside_dates(problem, patient, explanation)
        if never:
            explanation.add("Groups that can never open, whoever else is placed: "
                            + "; ".join(f"{problem.blocks[b].id} ({why})" for b, why in never.items()) + ".",
                            "never_opens", blocks=[problem.blocks[b].id for b in never],
                            why={problem.blocks[b].id: why for b, why in never.items()})
        alone = placeable_alone(problem, patient, blocks)
        if alone is None:  # neither proven possible nor impossible: nothing more is claimed
            explanation.add(f"Whether any week of their reachable groups meets the rules of a placement, with the "
                            f"program to themselves, was not settled within {ALONE_CHECK_SECONDS:g} s.",
                            "undetermined", rule="placeable_alone", seconds=ALONE_CHECK_SECONDS)
        elif alone:
            _explain_with_others(problem, blocks, schedule, explanation)
            if prove and analysed >= max_patients:
                explanation.add(f"What binds was not checked: these checks stop after {max_patients} "
                                f"patient{'s' if max_patients != 1 else ''}.", "not_checked", reason="max_patients",
                                max_patients=max_patients)
            elif prove:
                if prover is None:
                    prover = Prover(problem, eligibility, schedule, check_seconds=check_seconds,
                                    budget_seconds=budget_seconds, workers=workers, seed=seed)
                prover.analyse(p, explanation)
                analysed += 1
        else:
            _explain_alone(problem, patient, blocks, explanation)
        result[patient.id] = explanation
    return result


def explain(
    problem: Problem,
    schedule: dict,
    patient_id: str | None = None,
    *,
    prove: bool = True,
    check_seconds: float = FULL_CHECK_SECONDS,
    budget_seconds: Optional[float] = FULL_BUDGET_SECONDS,
    max_patients: int = MAX_PATIENTS_PROVED,
    workers: Optional[int] = CHECK_WORKERS,
    seed: int = 0,
) -> dict[str, Explanation]:
    """Reasons for the unplaced patients of a schedule document (or for one of them), what binds proven in full."""
    known = {entry["id"] for entry in schedule["patients"]}
    if patient_id is not None and patient_id not in known:
        raise KeyError(f"no patient {patient_id!r} in the schedule")
    return explain_unplaced(problem, compute_eligibility(problem), schedule, prove=prove, check_seconds=check_seconds,
                            budget_seconds=budget_seconds, max_patients=max_patients, workers=workers, seed=seed,
                            patients=None if patient_id is None else [patient_id])

__all__ = ["Explanation", "HARD_FAMILIES", "RULES", "explain", "explain_unplaced", "placeable_alone", "format_clock"]
