"""Tier 2, the patients' wishes and continuity (soft: never at the cost of a placement).

Counted in minutes of a patient's week, so the terms can be weighed against each other:
- each attended block outside the patient's `prefer` windows (when they gave any): 60;
- each attended block not led by their `primary_clinician` (when they named one): 60;
- each track: a track is the same room at the same time of day, so a week of
  Mon/Wed/Fri 18:00 in Oak is one track and mixing mornings and evenings is two: 60;
- each minute of group attended: 1, so nobody sits in more groups than their week
  needs unless that places someone else (tier 1) or serves a wish;
- each placed patient whose admission and discharge leave no date inside the program
  (accepted, and placed like anyone, since the dates bound only the calendar): 1200, a
  whole week of groups, so when seats are short a patient who can come takes them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable, Collection, Optional

from ortools.sat.python import cp_model

from ..schema import Block, Patient, Problem
from ..week_alone import week_alone_model
from ..weektime import MINUTES_PER_DAY, covered_by
from .availability import Eligibility
from .base import TIER_WISHES, ObjectiveTerm, Variables

WISH_WEIGHT = 60  # a missed wish or an extra track weighs as much as an hour more in groups
OUTSIDE_PROGRAM_WEIGHT = 1200  # a patient with no date in the program placed: 20 h of groups


def track_of(problem: Problem, block: Block) -> tuple[str, int, int, str]:
    """Blocks in the same room at the same clock time form one track (a cohort a patient can stay in)."""
    start, end = block.interval
    return (block.room or "", start % MINUTES_PER_DAY, end - start, problem.modality_of(block))


def blocks_outside_preference(problem: Problem, patient: Patient, blocks: list[int]) -> list[int]:
    """Of `blocks`, those not wholly inside the patient's `prefer` windows (none when they gave no windows)."""
    if not patient.prefer:
        return []
    preferred = [interval for window in patient.prefer for interval in window.intervals()]
    return [b for b in blocks if not covered_by(problem.blocks[b].interval, preferred)]


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
    outside_preference: list[cp_model.IntVar] = []
    without_primary: list[cp_model.LinearExprT] = []
    tracks_used: list[cp_model.IntVar] = []
    for p, patient in enumerate(problem.patients):
        blocks = eligibility.blocks_of_patient[p]
        if not blocks:
            continue
        outside_preference += [variables.attend[p, b] for b in blocks_outside_preference(problem, patient, blocks)]
        if patient.primary_clinician is not None:
            c = clinician_index[patient.primary_clinician]
            for b in blocks:
                attend = variables.attend[p, b]
                staff = variables.staff.get((c, b))
                if staff is None:
                    without_primary.append(attend)
                    continue
                with_primary = model.new_bool_var(f"with_primary[{patient.id},{problem.blocks[b].id}]")
                model.add_implication(with_primary, attend)
                model.add_implication(with_primary, staff)
                without_primary.append(attend - with_primary)
        by_track: dict[tuple, list[int]] = defaultdict(list)
        for b in blocks:
            by_track[track_of(problem, problem.blocks[b])].append(b)
        for track, track_blocks in sorted(by_track.items()):
            if len(track_blocks) == 1:
                tracks_used.append(variables.attend[p, track_blocks[0]])
                continue
            used = model.new_bool_var(f"track[{patient.id},{track}]")
            for b in track_blocks:
                model.add_implication(variables.attend[p, b], used)
            model.add(cp_model.LinearExpr.sum([variables.attend[p, b] for b in track_blocks]) >= used)
            tracks_used.append(used)
    outside_program = [variables.placed[p] for p, patient in enumerate(problem.patients)
                       if eligibility.blocks_of_patient[p] and problem.has_no_date_in_program(patient)]
    attend_keys = sorted(variables.attend)
    minutes_attended = cp_model.LinearExpr.weighted_sum(
        [variables.attend[key] for key in attend_keys], [problem.blocks[key[1]].minutes for key in attend_keys])
    return [
        ObjectiveTerm(TIER_WISHES, "blocks outside preferred times", cp_model.LinearExpr.sum(outside_preference), WISH_WEIGHT),
        ObjectiveTerm(TIER_WISHES, "blocks without the primary clinician", cp_model.LinearExpr.sum(without_primary), WISH_WEIGHT),
        ObjectiveTerm(TIER_WISHES, "tracks per patient", cp_model.LinearExpr.sum(tracks_used), WISH_WEIGHT),
        ObjectiveTerm(TIER_WISHES, "minutes in groups", minutes_attended),
        ObjectiveTerm(TIER_WISHES, "patients placed with no date in the program",
                      cp_model.LinearExpr.sum(outside_program), OUTSIDE_PROGRAM_WEIGHT),
    ]


def block_charges(problem: Problem, patient: Patient, blocks: list[int],
                  primary_can_lead: Callable[[int], bool]) -> dict[int, int]:
    """What attending each of `blocks` charges `patient` apart from tracks: its minutes, 60 outside their
    preferred times, 60 when their primary clinician does not lead it (`primary_can_lead(block)` false)."""
    charge = {b: problem.blocks[b].minutes for b in blocks}
    for b in blocks_outside_preference(problem, patient, blocks):
        charge[b] += WISH_WEIGHT
    if patient.primary_clinician is not None:
        for b in blocks:
            if not primary_can_lead(b):
                charge[b] += WISH_WEIGHT
    return charge


def week_charge(problem: Problem, patient: Patient, week: Collection[int],
                primary_leads: Callable[[int], bool]) -> int:
    """What this family charges `patient` for attending `week` (blocks), given who leads each block.

    The terms of `add` for one patient, without the constant for a patient with no date in the program.
    """
    charge = block_charges(problem, patient, list(week), primary_leads)
    tracks = {track_of(problem, problem.blocks[b]) for b in week}
    return sum(charge.values()) + WISH_WEIGHT * len(tracks)


def week_charge_model(problem: Problem, patient: Patient, blocks: list[int], primary_can_lead: Callable[[int], bool]
                      ) -> tuple[cp_model.CpModel, dict[int, cp_model.IntVar], cp_model.LinearExprT]:
    """`week_alone_model` with what the patient's week charges (as `week_charge`) as an expression to minimise.

    The expression equals `week_charge` of the chosen week once minimised (a track's indicator is only
    forced up by its groups); at any solution it is at least that, so a row `charge <= c` is sound.
    """
    model, attend = week_alone_model(problem, patient, blocks)
    charge = block_charges(problem, patient, blocks, primary_can_lead)
    by_track: dict[tuple, list[int]] = defaultdict(list)
    for b in blocks:
        by_track[track_of(problem, problem.blocks[b])].append(b)
    tracks_used = []
    for track_blocks in by_track.values():
        used = model.new_bool_var("")
        for b in track_blocks:
            model.add_implication(attend[b], used)
        tracks_used.append(used)
    total = (cp_model.LinearExpr.weighted_sum(list(attend.values()), [charge[b] for b in attend])
             + WISH_WEIGHT * cp_model.LinearExpr.sum(tracks_used))
    return model, attend, total


def one_patient_solver(seconds: float) -> cp_model.CpSolver:
    """A solver for a model of one patient's week: one worker, no presolve.

    Presolve, probing and symmetry detection cost more than the search there
    (large program, 570 patients: 0.98 s against 2.46 s, the same floors).
    """
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = max(0.01, seconds)
    solver.parameters.cp_model_presolve = False
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.symmetry_level = 0
    return solver


def cheapest_week_alone(problem: Problem, patient: Patient, blocks: list[int],
                        primary_can_lead: Callable[[int], bool], seconds: float) -> Optional[int]:
    """The least this family charges `patient` when placed: their cheapest week with the program to themselves.

    The same terms as `add`, on the rules `week_alone` keeps; where a term depends on
    others it is taken at its cheapest: a block their primary clinician could lead
    (`primary_can_lead(block)`) counts as led by them. Every schedule placing the patient
    charges at least this, so it bounds the tier from below. When the search is cut short
    by `seconds`, its proven bound is returned, which holds as well; None when no week
    meets the rules (the patient is placed in no schedule).
    """
    model, _, charge = week_charge_model(problem, patient, blocks, primary_can_lead)
    model.minimize(charge)
    solver = one_patient_solver(seconds)
    code = solver.solve(model)
    if code == cp_model.INFEASIBLE:
        return None  # never placed, in any schedule
    if code == cp_model.OPTIMAL:
        return int(round(solver.objective_value)) + _outside_program_charge(problem, patient)
    floor = least_charge(problem, patient)
    if math.isfinite(solver.best_objective_bound):
        floor = max(floor, math.ceil(solver.best_objective_bound - 1e-6) + _outside_program_charge(problem, patient))
    return floor


def week_alone_signature(problem: Problem, patient: Patient, blocks: list[int]) -> tuple:
    """Everything `cheapest_week_alone` reads of a patient: two patients with the same signature have the same floor."""
    preferred = tuple(interval for window in patient.prefer or () for interval in window.intervals())
    return (tuple(blocks), problem.min_minutes_for(patient), problem.max_minutes_for(patient),
            tuple(sorted(problem.required_topics_for(patient).items())), bool(patient.prefer), preferred,
            patient.primary_clinician, problem.has_no_date_in_program(patient))


def least_charge(problem: Problem, patient: Patient) -> int:
    """What this family charges any placed patient, without looking at their groups: their weekly minimum and one track."""
    return problem.min_minutes_for(patient) + WISH_WEIGHT + _outside_program_charge(problem, patient)


def _outside_program_charge(problem: Problem, patient: Patient) -> int:
    return OUTSIDE_PROGRAM_WEIGHT if problem.has_no_date_in_program(patient) else 0
