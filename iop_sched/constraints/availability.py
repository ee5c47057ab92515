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

import numpy as np

from ..schema import Block, BusyWindow, Clinician, Patient, Problem
from ..weektime import MINUTES_PER_WEEK, covered_by, describe_interval, intervals_overlap


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
    """Eligible (patient, block) and (clinician, block) pairs; blocks too long for a patient are left out.

    The same rules as `patient_refusal` / `clinician_refusal`, evaluated for all blocks
    at once per patient with numpy (a 1,500-patient network has ~900,000 pairs); the
    tests check that both paths agree on generated programs.
    """
    result = Eligibility(
        blocks_of_patient=[[] for _ in problem.patients],
        patients_of_block=[[] for _ in problem.blocks],
        blocks_of_clinician=[[] for _ in problem.clinicians],
        clinicians_of_block=[[] for _ in problem.blocks],
    )
    if not problem.blocks:
        return result
    blocks = problem.blocks
    starts = np.array([block.interval[0] for block in blocks], dtype=np.int64)
    ends = np.array([block.interval[1] for block in blocks], dtype=np.int64)
    minutes = ends - starts
    telehealth = np.array([problem.modality_of(block) == "telehealth" for block in blocks])
    sites = [problem.site_of(block) for block in blocks]
    audiences: dict[frozenset, np.ndarray] = {}
    for b, block in enumerate(blocks):
        key = frozenset(block.audience)
        audiences.setdefault(key, np.zeros(len(blocks), dtype=bool))[b] = True
    day_limit = problem.max_minutes_per_day()
    short_enough = np.ones(len(blocks), dtype=bool) if day_limit is None else minutes <= day_limit
    shifts = (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK)

    for p, patient in enumerate(problem.patients):
        allowed = short_enough & (minutes <= problem.max_minutes_for(patient))
        tags = patient.all_tags
        for audience, members in audiences.items():
            if not audience <= tags:
                allowed &= ~members
        if not patient.telehealth:
            allowed &= ~telehealth
        if patient.sites is not None:
            at_site = np.array([site in patient.sites for site in sites])
            allowed &= telehealth | at_site
        busy = [(start + shift, end + shift) for window in patient.busy
                for start, end in window.intervals() for shift in shifts]
        if busy and allowed.any():
            widen = np.where(telehealth, 0, math.ceil(patient.travel_minutes))
            reach_start, reach_end = starts - widen, ends + widen
            busy_start = np.array([start for start, _ in busy])
            busy_end = np.array([end for _, end in busy])
            collides = ((reach_start[:, None] < busy_end[None, :]) & (busy_start[None, :] < reach_end[:, None])).any(axis=1)
            allowed &= ~collides
        for b in np.flatnonzero(allowed).tolist():
            result.blocks_of_patient[p].append(b)
            result.patients_of_block[b].append(p)

    for c, clinician in enumerate(problem.clinicians):
        windows = [interval for window in clinician.available for interval in window.intervals()]
        credentials = set(clinician.credentials)
        cap = None if clinician.max_weekly_hours is None else clinician.max_weekly_hours * 60 + 1e-9
        for b, block in enumerate(blocks):
            if block.credentials is not None and not credentials.intersection(block.credentials):
                continue
            if cap is not None and block.minutes > cap:
                continue
            if not telehealth[b] and clinician.sites is not None and sites[b] not in clinician.sites:
                continue
            if covered_by(block.interval, windows):
                result.blocks_of_clinician[c].append(b)
                result.clinicians_of_block[b].append(c)
    return result
