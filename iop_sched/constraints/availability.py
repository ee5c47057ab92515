"""Who can be in which block at all: the patient's week and the clinician's.

This family decides which variables exist. A (patient, block) pair gets a
Boolean only when the patient can reach the block: audience tags, telehealth
consent, sites, and no busy window overlapping the block widened by travel time
on both sides. A (clinician, block) pair gets one only when the clinician holds
a required credential, is available for the whole block and may work at its
site. Every refusal carries a plain-language reason for the explanations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from ..schema import Block, BusyWindow, Clinician, Patient, Problem
from ..weektime import covered_by, describe_interval, intervals_overlap


@dataclass(frozen=True)
class Refusal:
    """Why a patient or clinician cannot be in a block: a code for machines, a sentence for people."""

    code: str
    text: str
    busy: Optional[BusyWindow] = None


def patient_refusal(problem: Problem, patient: Patient, block: Block) -> Optional[Refusal]:
    """None when the patient may attend the block; otherwise the first rule that keeps them out."""
    missing = [tag for tag in block.audience if tag not in patient.all_tags]
    if missing:
        return Refusal("audience", f"{block.id} is for {', '.join(block.audience)} patients only")
    if problem.modality_of(block) == "telehealth":
        if not patient.telehealth:
            return Refusal("telehealth", f"{block.id} is a telehealth group and there is no telehealth consent")
        widen = 0
    else:
        site = problem.site_of(block)
        if patient.sites is not None and site not in patient.sites:
            where = f"at site {site}" if site else "at no named site"
            return Refusal("site", f"{block.id} meets {where}, outside the patient's sites ({', '.join(patient.sites) or 'none'})")
        widen = math.ceil(patient.travel_minutes)
    start, end = block.interval
    reach = (start - widen, end + widen)
    for busy in patient.busy:
        for interval in busy.intervals():
            if intervals_overlap(reach, interval):
                travel = f" with {widen} min travel each way" if widen else ""
                return Refusal(
                    "busy",
                    f"{block.id} ({describe_interval(block.interval)}){travel} collides with {busy.reason} "
                    f"{describe_interval(interval)}",
                    busy,
                )
    return None


def clinician_refusal(problem: Problem, clinician: Clinician, block: Block) -> Optional[Refusal]:
    """None when the clinician may staff the block; otherwise the rule that stops them."""
    if block.credentials is not None and not set(block.credentials) & set(clinician.credentials):
        return Refusal("credentials", f"{clinician.id} holds none of {', '.join(block.credentials)}")
    windows = [interval for window in clinician.available for interval in window.intervals()]
    if not covered_by(block.interval, windows):
        return Refusal("unavailable", f"{clinician.id} is not available for all of {describe_interval(block.interval)}")
    if problem.modality_of(block) == "in_person" and clinician.sites is not None:
        site = problem.site_of(block)
        if site not in clinician.sites:
            return Refusal("site", f"{clinician.id} does not work at {site or 'an unnamed site'}")
    if clinician.max_weekly_hours is not None and block.minutes > clinician.max_weekly_hours * 60 + 1e-9:
        return Refusal("hours", f"{block.id} is longer than {clinician.id}'s weekly hours")
    return None


@dataclass
class Eligibility:
    """Index of eligible pairs, by position in the problem's lists."""

    blocks_of_patient: list[list[int]] = field(default_factory=list)
    patients_of_block: list[list[int]] = field(default_factory=list)
    blocks_of_clinician: list[list[int]] = field(default_factory=list)
    clinicians_of_block: list[list[int]] = field(default_factory=list)


def compute_eligibility(problem: Problem) -> Eligibility:
    """Eligible (patient, block) and (clinician, block) pairs; blocks too long for a patient are left out."""
    result = Eligibility(
        blocks_of_patient=[[] for _ in problem.patients],
        patients_of_block=[[] for _ in problem.blocks],
        blocks_of_clinician=[[] for _ in problem.clinicians],
        clinicians_of_block=[[] for _ in problem.blocks],
    )
    day_limit = problem.max_minutes_per_day()
    for p, patient in enumerate(problem.patients):
        most = problem.max_minutes_for(patient)
        for b, block in enumerate(problem.blocks):
            if block.minutes > most or (day_limit is not None and block.minutes > day_limit):
                continue
            if patient_refusal(problem, patient, block) is None:
                result.blocks_of_patient[p].append(b)
                result.patients_of_block[b].append(p)
    for c, clinician in enumerate(problem.clinicians):
        for b, block in enumerate(problem.blocks):
            if clinician_refusal(problem, clinician, block) is None:
                result.blocks_of_clinician[c].append(b)
                result.clinicians_of_block[b].append(c)
    return result
