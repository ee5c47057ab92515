"""An independent checker for schedule documents (iop-sched-schedule/1).

`validate_schedule(problem, schedule)` checks every hard rule of the iop-sched/1
exchange format on a schedule document and returns the broken ones as
`Violation`s; an empty list means the schedule is valid.

Independence is the point of this module: it does not import the solver (no
ortools, nothing from `iop_sched.model` or `iop_sched.constraints`) and it does
not reuse the week-time helpers the solver builds on. The interval arithmetic
(half-open overlap in the repeating week, travel widening, coverage by the union
of availability windows) is written again here, so that a bug there cannot hide
a bad schedule. Only the parsed problem (`iop_sched.schema`) is shared, with the
helper methods that state the spec's definitions (a block's modality, site;
a patient's minimum and maximum minutes and required topics).

Choices where the spec is silent (also listed in the project docs):

* an unplaced patient must carry at least one reason; a placed patient at least
  one block (even with a minimum of 0 hours) and no reasons;
* a block without a site fails a patient's or clinician's site list (the site of
  such a group is unknown, so nobody bound to sites can be sent there);
* a clinician's availability is the union of its windows: a block may be covered
  by two adjacent or overlapping windows, also across midnight and across the
  Sunday/Monday wrap of the week;
* busy windows also rule out telehealth blocks, but with no travel widening;
* a clinician's checks (availability, overlap, hours, sites, credentials) apply
  to every block the schedule lists the clinician on, open or not.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from .schema import SCHEDULE_FORMAT, Block, Clinician, Patient, Problem

STATUSES = ("optimal", "feasible", "infeasible", "unknown")
HOURS_TOLERANCE = 1e-6

_MINUTES_PER_DAY = 24 * 60
_WEEK = 7 * _MINUTES_PER_DAY
_DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Interval = tuple[float, float]


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable code, where it is, and a sentence a coordinator understands."""

    rule: str
    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message} [{self.rule}]"


# --------------------------------------------------------------------------------------
# Interval arithmetic in the repeating week (own implementation, see module docstring)
# --------------------------------------------------------------------------------------

def _shifts(first: Interval, second: Interval) -> range:
    """Week shifts k for which `second` moved by k weeks could meet `first`."""
    low = math.floor((first[0] - second[1]) / _WEEK)
    high = math.ceil((first[1] - second[0]) / _WEEK)
    return range(low, high + 1)


def overlaps(first: Interval, second: Interval) -> bool:
    """Half-open intervals overlap somewhere in the repeating week.

    Intervals may run past either end of the week (a Sunday night shift ends after
    minute 10080, a block widened by travel may start before minute 0); the week
    repeats, so they are compared modulo one week.
    """
    if first[1] <= first[0] or second[1] <= second[0]:
        return False
    for k in _shifts(first, second):
        if first[0] < second[1] + k * _WEEK and second[0] + k * _WEEK < first[1]:
            return True
    return False


def uncovered(interval: Interval, windows: Iterable[Interval]) -> list[Interval]:
    """The parts of `interval` outside the union of `windows` (repeating week), in order."""
    start, end = interval
    pieces: list[Interval] = []
    for window in windows:
        if window[1] <= window[0]:
            continue
        for k in _shifts(interval, window):
            low = max(start, window[0] + k * _WEEK)
            high = min(end, window[1] + k * _WEEK)
            if low < high:
                pieces.append((low, high))
    pieces.sort()
    gaps: list[Interval] = []
    reached = start
    for low, high in pieces:
        if low > reached:
            gaps.append((reached, low))
        reached = max(reached, high)
    if reached < end:
        gaps.append((reached, end))
    return gaps


def _clock(minute_of_day: float) -> str:
    minute = int(round(minute_of_day))
    return f"{minute // 60:02d}:{minute % 60:02d}"


def describe(interval: Interval) -> str:
    """'Mon 18:00-21:00' for an interval of the week (a piece past midnight says so)."""
    start, end = interval
    shift = math.floor(start / _WEEK) * _WEEK
    start, end = start - shift, end - shift
    day = int(start // _MINUTES_PER_DAY)
    day_start = day * _MINUTES_PER_DAY
    end_clock = end - day_start
    text = f"{_DAY_LABELS[day % 7]} {_clock(start - day_start)}-"
    if end_clock <= _MINUTES_PER_DAY:
        return text + _clock(end_clock)
    return text + f"{_DAY_LABELS[(day + 1) % 7]} {_clock(end_clock - _MINUTES_PER_DAY)}"


def _window_intervals(window: Any) -> list[tuple[str, Interval]]:
    """(day, week interval) for each day of a window; computed from its text, not from schema helpers."""
    start = _parse_clock(window.start)
    end = _parse_clock(window.end)
    if end <= start:
        end += _MINUTES_PER_DAY
    days = list(window.days) if window.days is not None else [window.day]
    result = []
    for day in days:
        base = _DAY_CODES.index(day) * _MINUTES_PER_DAY
        result.append((day, (base + start, base + end)))
    return result


def _parse_clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _block_interval(block: Block) -> Interval:
    base = _DAY_CODES.index(block.day) * _MINUTES_PER_DAY
    return base + _parse_clock(block.start), base + _parse_clock(block.end)


def _minutes(interval: Interval) -> float:
    return interval[1] - interval[0]


def _hours_text(minutes: float) -> str:
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    return f"{text} hour" if text == "1" else f"{text} hours"


def _number_text(value: float) -> str:
    return f"{value:g}"


def _ids(items: Iterable[str]) -> str:
    return ", ".join(items)


# --------------------------------------------------------------------------------------
# Reading the schedule document defensively
# --------------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    def __init__(self, problem: Problem, schedule: Any):
        self.problem = problem
        self.schedule = schedule
        self.found: list[Violation] = []
        self.blocks = {block.id: block for block in problem.blocks}
        self.patients = {patient.id: patient for patient in problem.patients}
        self.clinicians = {clinician.id: clinician for clinician in problem.clinicians}
        self.rooms = {room.id: room for room in problem.rooms}
        # What the document says, after the shape checks (first entry wins for repeated ids).
        self.block_entries: dict[str, dict] = {}
        self.rosters: dict[str, list[str]] = {}      # block id -> known, distinct patient ids
        self.staff: dict[str, list[str]] = {}        # block id -> known, distinct clinician ids
        self.patient_entries: dict[str, dict] = {}
        self.attends: dict[str, list[str]] = {}      # patient id -> known, distinct block ids
        self.placed: dict[str, Optional[bool]] = {}

    def add(self, rule: str, place: str, message: str) -> None:
        self.found.append(Violation(rule, place, message))

    # ---- document shape -------------------------------------------------------------

    def _string_list(self, entry: dict, key: str, place: str, noun: str) -> list[str]:
        value = entry.get(key)
        if value is None:
            self.add("document.shape", place, f"The entry has no \"{key}\" list.")
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.add("document.shape", place, f"\"{key}\" must be a list of {noun} ids.")
            return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
        repeated = sorted({item for item in value if value.count(item) > 1})
        if repeated:
            self.add("document.repeated_id", place,
                     f"\"{key}\" lists {noun} {_ids(repeated)} more than once.")
        return list(dict.fromkeys(value))

    def read_document(self) -> bool:
        schedule = self.schedule
        if not isinstance(schedule, dict):
            self.add("document.shape", "document",
                     f"A schedule document must be a JSON object, not {type(schedule).__name__}.")
            return False
        if schedule.get("format") != SCHEDULE_FORMAT:
            self.add("document.format", "format",
                     f"The document's format must be \"{SCHEDULE_FORMAT}\", not {schedule.get('format')!r}.")
        if schedule.get("status") not in STATUSES:
            self.add("document.status", "status",
                     f"The status must be one of {', '.join(STATUSES)}, not {schedule.get('status')!r}.")
        self._read_blocks(schedule.get("blocks"))
        self._read_patients(schedule.get("patients"))
        self._check_rosters_agree()
        self._check_stats(schedule.get("stats"))
        return True

    def _read_blocks(self, blocks: Any) -> None:
        if not isinstance(blocks, list):
            self.add("document.shape", "blocks", "The schedule's \"blocks\" must be a list.")
            return
        for index, entry in enumerate(blocks):
            place = f"schedule.blocks[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                self.add("document.shape", place, "Each block entry must be an object with an \"id\".")
                continue
            block_id = entry["id"]
            if block_id not in self.blocks:
                self.add("document.unknown_block", place, f"The problem has no block with id {block_id!r}.")
                continue
            if block_id in self.block_entries:
                self.add("document.duplicate_block", f"blocks[{block_id}]",
                         f"Block {block_id} is listed more than once in the schedule.")
                continue
            place = f"blocks[{block_id}]"
            self.block_entries[block_id] = entry
            roster = self._string_list(entry, "patients", place, "patient")
            staff = self._string_list(entry, "clinicians", place, "clinician")
            for patient_id in roster:
                if patient_id not in self.patients:
                    self.add("document.unknown_patient", place,
                             f"Block {block_id} lists patient {patient_id!r}, who is not in the problem.")
            for clinician_id in staff:
                if clinician_id not in self.clinicians:
                    self.add("document.unknown_clinician", place,
                             f"Block {block_id} lists clinician {clinician_id!r}, who is not in the problem.")
            self.rosters[block_id] = [p for p in roster if p in self.patients]
            self.staff[block_id] = [c for c in staff if c in self.clinicians]

    def _read_patients(self, patients: Any) -> None:
        if not isinstance(patients, list):
            self.add("document.shape", "patients", "The schedule's \"patients\" must be a list.")
            patients = []
        for index, entry in enumerate(patients):
            place = f"schedule.patients[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                self.add("document.shape", place, "Each patient entry must be an object with an \"id\".")
                continue
            patient_id = entry["id"]
            if patient_id not in self.patients:
                self.add("document.unknown_patient", place, f"The problem has no patient with id {patient_id!r}.")
                continue
            place = f"patients[{patient_id}]"
            if patient_id in self.patient_entries:
                self.add("document.duplicate_patient", place,
                         f"Patient {patient_id} is listed more than once in the schedule.")
                continue
            self.patient_entries[patient_id] = entry
            placed = entry.get("placed")
            if not isinstance(placed, bool):
                self.add("document.shape", place, f"\"placed\" must be true or false, not {placed!r}.")
                placed = None
            self.placed[patient_id] = placed
            blocks = self._string_list(entry, "blocks", place, "block")
            for block_id in blocks:
                if block_id not in self.blocks:
                    self.add("document.unknown_block", place,
                             f"Patient {patient_id} is listed in block {block_id!r}, which is not in the problem.")
            self.attends[patient_id] = [b for b in blocks if b in self.blocks]
            reasons = entry.get("reasons")
            if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
                self.add("document.shape", place, "\"reasons\" must be a list of sentences.")
            hours = entry.get("weekly_hours")
            expected = sum(_minutes(_block_interval(self.blocks[b])) for b in self.attends[patient_id]) / 60
            if not _is_number(hours):
                self.add("document.shape", place, f"\"weekly_hours\" must be a number, not {hours!r}.")
            elif abs(hours - expected) > HOURS_TOLERANCE:
                self.add("document.weekly_hours", place,
                         f"Patient {patient_id} is shown with {_number_text(hours)} weekly hours, "
                         f"but the listed groups add up to {_number_text(round(expected, 6))} hours.")
        for patient in self.problem.patients:
            if patient.id not in self.patient_entries:
                self.add("document.missing_patient", f"patients[{patient.id}]",
                         f"Patient {patient.id} is missing from the schedule; every patient must be listed.")

    def _check_rosters_agree(self) -> None:
        for patient_id, blocks in self.attends.items():
            for block_id in blocks:
                if block_id not in self.block_entries:
                    self.add("document.roster_mismatch", f"patients[{patient_id}]",
                             f"Patient {patient_id} is listed in block {block_id}, "
                             f"but the schedule has no entry for block {block_id}.")
                elif patient_id not in self.rosters[block_id]:
                    self.add("document.roster_mismatch", f"patients[{patient_id}]",
                             f"Patient {patient_id} is listed in block {block_id}, "
                             f"but block {block_id}'s patient list does not include them.")
        for block_id, roster in self.rosters.items():
            for patient_id in roster:
                if patient_id in self.patient_entries and block_id not in self.attends.get(patient_id, []):
                    self.add("document.roster_mismatch", f"blocks[{block_id}]",
                             f"Block {block_id} lists patient {patient_id}, "
                             f"but patient {patient_id}'s own block list does not include it.")

    def _check_stats(self, stats: Any) -> None:
        if not isinstance(stats, dict):
            self.add("document.shape", "stats", "The schedule has no \"stats\" object.")
            return
        for key in ("patients", "placed", "placed_bound", "open_blocks"):
            if not _is_number(stats.get(key)):
                self.add("document.shape", f"stats.{key}", f"stats.{key} must be a number, not {stats.get(key)!r}.")
        if not _is_number(stats.get("solve_seconds")) or stats.get("solve_seconds") < 0:
            self.add("document.shape", "stats.solve_seconds",
                     f"stats.solve_seconds must be a number of seconds, not {stats.get('solve_seconds')!r}.")
        entries = self.schedule.get("patients") if isinstance(self.schedule.get("patients"), list) else []
        placed_count = sum(1 for e in entries if isinstance(e, dict) and e.get("placed") is True)
        blocks = self.schedule.get("blocks") if isinstance(self.schedule.get("blocks"), list) else []
        open_count = sum(1 for e in blocks if isinstance(e, dict) and isinstance(e.get("patients"), list)
                         and e["patients"])
        expected = {"patients": len(self.problem.patients), "placed": placed_count, "open_blocks": open_count}
        nouns = {"patients": "patients in the problem", "placed": "patients marked placed",
                 "open_blocks": "blocks with patients"}
        for key, value in expected.items():
            given = stats.get(key)
            if _is_number(given) and given != value:
                self.add("document.stats", f"stats.{key}",
                         f"stats.{key} says {given!r}, but there are {value} {nouns[key]}.")
        bound = stats.get("placed_bound")
        placed = stats.get("placed")
        if _is_number(bound) and _is_number(placed) and bound < placed:
            self.add("document.stats", "stats.placed_bound",
                     f"stats.placed_bound ({bound!r}) cannot be below the number of placed patients ({placed!r}).")

    # ---- patients -------------------------------------------------------------------

    def check_patients(self) -> None:
        for patient in self.problem.patients:
            if patient.id not in self.patient_entries:
                continue
            entry = self.patient_entries[patient.id]
            place = f"patients[{patient.id}]"
            blocks = [self.blocks[b] for b in self.attends[patient.id]]
            reasons = entry.get("reasons") if isinstance(entry.get("reasons"), list) else []
            real_reasons = [r for r in reasons if isinstance(r, str) and r.strip()]
            placed = self.placed[patient.id]
            if placed is False:
                if blocks:
                    self.add("patient.unplaced_with_blocks", place,
                             f"Patient {patient.id} is marked not placed but is listed in "
                             f"{_ids(b.id for b in blocks)}; an unplaced patient gets no groups at all.")
                if not real_reasons:
                    self.add("patient.no_reason", place,
                             f"Patient {patient.id} is not placed and the schedule does not say why.")
            elif placed is True:
                if reasons:
                    self.add("patient.placed_with_reasons", place,
                             f"Patient {patient.id} is placed but still carries reasons for not being placed.")
                if not blocks:
                    self.add("patient.placed_without_blocks", place,
                             f"Patient {patient.id} is marked placed but attends no group.")
            for block in blocks:
                self._check_eligibility(patient, block, place)
            if placed is True and blocks:
                self._check_placement(patient, blocks, place)

    def _check_eligibility(self, patient: Patient, block: Block, place: str) -> None:
        problem = self.problem
        interval = _block_interval(block)
        when = describe(interval)
        missing = [tag for tag in block.audience if tag not in patient.all_tags]
        if missing:
            self.add("patient.audience", place,
                     f"Patient {patient.id} attends block {block.id} ({when}), which is only for patients "
                     f"tagged {_ids(block.audience)}; the patient is not tagged {_ids(missing)}.")
        telehealth = problem.modality_of(block) == "telehealth"
        if telehealth:
            if not patient.telehealth:
                self.add("patient.telehealth", place,
                         f"Patient {patient.id} attends telehealth block {block.id} ({when}) "
                         f"but is not set up for telehealth.")
            travel = 0.0
        else:
            travel = float(patient.travel_minutes)
            site = problem.site_of(block)
            if patient.sites is not None and (site is None or site not in patient.sites):
                where = f"at site {site}" if site is not None else "at no known site"
                self.add("patient.site", place,
                         f"Patient {patient.id} attends in-person block {block.id} ({when}) {where}, but can only "
                         f"come to {_ids(patient.sites) if patient.sites else 'no site'}.")
        widened = (interval[0] - travel, interval[1] + travel)
        for busy in patient.busy:
            for _day, busy_interval in _window_intervals(busy):
                if overlaps(widened, busy_interval):
                    if travel:
                        how = (f"with {_number_text(travel)} minutes of travel each way "
                               f"({describe(widened)}) that collides with")
                    else:
                        how = "that collides with"
                    self.add("patient.busy", place,
                             f"Patient {patient.id} attends block {block.id} ({when}), but {how} their "
                             f"{busy.reason} time {describe(busy_interval)}.")
                    break

    def _check_placement(self, patient: Patient, blocks: list[Block], place: str) -> None:
        problem = self.problem
        rules = problem.program.rules
        total = sum(_minutes(_block_interval(b)) for b in blocks)
        low, high = problem.min_minutes_for(patient), problem.max_minutes_for(patient)
        if total < low:
            self.add("patient.min_hours", place,
                     f"Patient {patient.id} is placed with {_hours_text(total)} of groups a week, "
                     f"below the required {_hours_text(low)}.")
        if total > high:
            self.add("patient.max_hours", place,
                     f"Patient {patient.id} is placed with {_hours_text(total)} of groups a week, "
                     f"above the allowed {_hours_text(high)}.")
        per_day: dict[str, float] = defaultdict(float)
        for block in blocks:
            per_day[block.day] += _minutes(_block_interval(block))
        if len(per_day) < rules.min_days_per_week:
            self.add("patient.min_days", place,
                     f"Patient {patient.id} has groups on {len(per_day)} day(s) a week, "
                     f"but the program requires at least {rules.min_days_per_week}.")
        if rules.max_hours_per_day is not None:
            limit = rules.max_hours_per_day * 60
            for day in _DAY_CODES:
                if per_day.get(day, 0) > limit + 1e-9:
                    self.add("patient.max_hours_per_day", place,
                             f"Patient {patient.id} has {_hours_text(per_day[day])} of groups on "
                             f"{_DAY_LABELS[_DAY_CODES.index(day)]}, above the daily limit of "
                             f"{_hours_text(limit)}.")
        ordered = sorted(blocks, key=lambda b: (_block_interval(b), b.id))
        for i, first in enumerate(ordered):
            for second in ordered[i + 1:]:
                if overlaps(_block_interval(first), _block_interval(second)):
                    self.add("patient.overlap", place,
                             f"Patient {patient.id} attends block {first.id} ({describe(_block_interval(first))}) "
                             f"and block {second.id} ({describe(_block_interval(second))}), which overlap.")
        for topic, count in sorted(problem.required_topics_for(patient).items()):
            attended = sum(1 for b in blocks if b.topic == topic)
            if attended < count:
                self.add("patient.required_topic", place,
                         f"Patient {patient.id} attends {attended} {topic} group(s) a week, "
                         f"but needs at least {count}.")

    # ---- blocks ---------------------------------------------------------------------

    def _capacity(self, block: Block) -> tuple[Optional[int], str]:
        limit, why = None, ""
        if block.max_size is not None:
            limit, why = block.max_size, f"its maximum size is {block.max_size}"
        room = self.rooms.get(block.room) if block.room is not None else None
        if room is not None and not room.virtual and room.capacity is not None:
            if limit is None or room.capacity < limit:
                limit, why = room.capacity, f"room {room.id} holds {room.capacity}"
        return limit, why

    def check_blocks(self) -> None:
        ratio = self.problem.program.rules.max_patients_per_clinician
        for block in self.problem.blocks:
            if block.id not in self.block_entries:
                continue
            place = f"blocks[{block.id}]"
            when = describe(_block_interval(block))
            roster = self.rosters[block.id]
            staff = self.staff[block.id]
            n = len(roster)
            if n == 0:
                if staff:
                    self.add("block.closed_staffed", place,
                             f"Block {block.id} ({when}) has no patients but is staffed by {_ids(staff)}.")
                continue
            if n < block.min_size:
                self.add("block.min_size", place,
                         f"Block {block.id} ({when}) meets with {n} patient(s), "
                         f"below its minimum of {block.min_size}.")
            limit, why = self._capacity(block)
            if limit is not None and n > limit:
                self.add("block.capacity", place,
                         f"Block {block.id} ({when}) has {n} patients, but {why}.")
            needed = block.clinicians
            if ratio is not None:
                needed = max(needed, math.ceil(n / ratio))
            if len(staff) < needed:
                extra = f" (at most {ratio} patients per clinician)" if ratio is not None else ""
                self.add("block.staffing", place,
                         f"Block {block.id} ({when}) has {n} patients and needs at least {needed} "
                         f"clinician(s){extra}, but is staffed by {len(staff)}.")

    def check_rooms(self) -> None:
        by_room: dict[str, list[Block]] = defaultdict(list)
        for block in self.problem.blocks:
            if block.id in self.block_entries and self.rosters[block.id] and block.room is not None:
                room = self.rooms.get(block.room)
                if room is not None and not room.virtual:
                    by_room[room.id].append(block)
        for room_id, blocks in by_room.items():
            ordered = sorted(blocks, key=lambda b: (_block_interval(b), b.id))
            for i, first in enumerate(ordered):
                for second in ordered[i + 1:]:
                    if overlaps(_block_interval(first), _block_interval(second)):
                        self.add("room.double_booked", f"rooms[{room_id}]",
                                 f"Room {room_id} is booked twice: block {first.id} "
                                 f"({describe(_block_interval(first))}) and block {second.id} "
                                 f"({describe(_block_interval(second))}) overlap.")

    # ---- clinicians -----------------------------------------------------------------

    def check_clinicians(self) -> None:
        staffed: dict[str, list[Block]] = defaultdict(list)
        for block in self.problem.blocks:
            for clinician_id in self.staff.get(block.id, []):
                staffed[clinician_id].append(block)
        for clinician in self.problem.clinicians:
            blocks = staffed.get(clinician.id, [])
            if blocks:
                self._check_clinician(clinician, blocks)

    def _check_clinician(self, clinician: Clinician, blocks: list[Block]) -> None:
        problem = self.problem
        place = f"clinicians[{clinician.id}]"
        windows = [interval for window in clinician.available for _d, interval in _window_intervals(window)]
        for block in blocks:
            interval = _block_interval(block)
            when = describe(interval)
            if block.credentials is not None and not set(block.credentials) & set(clinician.credentials):
                held = _ids(clinician.credentials) if clinician.credentials else "none"
                self.add("clinician.credentials", place,
                         f"Clinician {clinician.id} staffs block {block.id} ({when}), which needs one of "
                         f"{_ids(block.credentials)}; the clinician holds {held}.")
            gaps = uncovered(interval, windows)
            if gaps:
                self.add("clinician.availability", place,
                         f"Clinician {clinician.id} staffs block {block.id} ({when}) but is not available "
                         f"{', '.join(describe(gap) for gap in gaps)}.")
            if problem.modality_of(block) != "telehealth" and clinician.sites is not None:
                site = problem.site_of(block)
                if site is None or site not in clinician.sites:
                    where = f"at site {site}" if site is not None else "at no known site"
                    self.add("clinician.site", place,
                             f"Clinician {clinician.id} staffs in-person block {block.id} ({when}) {where}, "
                             f"but works only at {_ids(clinician.sites) if clinician.sites else 'no site'}.")
        ordered = sorted(blocks, key=lambda b: (_block_interval(b), b.id))
        for i, first in enumerate(ordered):
            for second in ordered[i + 1:]:
                if overlaps(_block_interval(first), _block_interval(second)):
                    self.add("clinician.overlap", place,
                             f"Clinician {clinician.id} staffs block {first.id} ({describe(_block_interval(first))}) "
                             f"and block {second.id} ({describe(_block_interval(second))}), which overlap.")
        if clinician.max_weekly_hours is not None:
            total = sum(_minutes(_block_interval(b)) for b in blocks)
            if total > clinician.max_weekly_hours * 60 + 1e-9:
                self.add("clinician.max_hours", place,
                         f"Clinician {clinician.id} staffs {_hours_text(total)} of groups a week, "
                         f"above their limit of {_hours_text(clinician.max_weekly_hours * 60)}.")


def validate_schedule(problem: Problem, schedule: dict) -> list[Violation]:
    """Every hard rule of the spec checked on a schedule document dict; [] means valid."""
    checker = _Checker(problem, schedule)
    if checker.read_document():
        checker.check_patients()
        checker.check_blocks()
        checker.check_rooms()
        checker.check_clinicians()
    return checker.found


__all__ = ["Violation", "validate_schedule", "overlaps", "uncovered", "describe", "SCHEDULE_FORMAT", "STATUSES"]
