"""Privacy-safe .ics calendars for a schedule: one per placed patient, one per staffing clinician, one for the program.

42 CFR Part 2 protects substance-use treatment records, and a calendar is easily
shared, synced to a phone or glanced at by a family member. So a patient's
calendar says only "Appointment" at a time and an address: no patient id (its own
included), no name, no topic, no program name, no other member of the group.
Staff calendars name patients by id at most. No event carries ATTENDEE or
ORGANIZER, because an attendee list would disclose the other members of a group.

Each open block becomes one weekly series per calendar: DTSTART/DTEND in the
program's TZID (so the local wall-clock time stays put across daylight-saving
changes), RRULE:FREQ=WEEKLY with UNTIL at the UTC instant of the last session,
and an EXDATE for each closure inside the series. The embedded VTIMEZONE comes
from `iop_sched.vtimezone`, so readers that trust it (Outlook, vobject, Radicale)
show the same times as readers that trust the zone's name.

UIDs are a SHA-256 of what identifies the series (kind, program, block, owner),
spelled in lowercase letters only: the same assignment written again keeps its
UIDs, and a patient id (which carries digits, "R101") can never show in one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Optional
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from .schema import Block, Clinician, Patient, Problem
from .vtimezone import vtimezone_component
from .weektime import DAY_NAMES, MINUTES_PER_DAY, day_index, format_clock

__all__ = [
    "PRODID",
    "PATIENT_CALENDAR_NAME",
    "Series",
    "series_for",
    "event_uid",
    "build_calendars",
]

PRODID = "-//iop_sched//iop-sched 0.1//EN"
#: A patient's calendar name: neutral, because the program's name can reveal addiction treatment.
PATIENT_CALENDAR_NAME = "Appointments"
#: LOCATION of a telehealth session in a patient's calendar (a meeting link could name the program).
ONLINE = "Online"
UID_DOMAIN = "iop-sched"

PROGRAM_PATH = "calendars/program.ics"
PATIENT_DIR = "calendars/patients"
CLINICIAN_DIR = "calendars/clinicians"


# ---------------------------------------------------------------- occurrences


@dataclass(frozen=True)
class Series:
    """The dates a block meets in one calendar: weekly from `first` to `last`, skipping `excluded`."""

    first: date
    last: date
    excluded: tuple[date, ...]

    def dates(self) -> list[date]:
        """Every occurrence date (what a correct reader must show)."""
        weeks = (self.last - self.first).days // 7 + 1
        every_week = (self.first + timedelta(weeks=week) for week in range(weeks))
        return [day for day in every_week if day not in self.excluded]


def series_for(block: Block, first: date, last: date, closures: Iterable[date]) -> Optional[Series]:
    """The block's weekly series between two dates, or None when no occurrence is left.

    A closure on the first or last date moves the series' start or end to the
    nearest open week, so DTSTART and UNTIL are always real occurrences; a
    closure strictly inside becomes an EXDATE.
    """
    offset = (day_index(block.day) - first.weekday()) % 7
    weekly = []
    day = first + timedelta(days=offset)
    while day <= last:
        weekly.append(day)
        day += timedelta(weeks=1)
    closed = set(closures)
    open_dates = [day for day in weekly if day not in closed]
    if not open_dates:
        return None
    start, end = open_dates[0], open_dates[-1]
    excluded = tuple(day for day in weekly if start < day < end and day in closed)
    return Series(first=start, last=end, excluded=excluded)


def _local_start(block: Block, day: date) -> datetime:
    """Naive wall-clock start of the block on `day`."""
    minute = block.interval[0] - day_index(block.day) * MINUTES_PER_DAY
    return datetime.combine(day, time(0)) + timedelta(minutes=minute)


def _local_end(block: Block, day: date) -> datetime:
    """Naive wall-clock end; an end of 24:00 is midnight of the next day."""
    return _local_start(block, day) + timedelta(minutes=block.minutes)


def _until(last_start: datetime, tzid: str) -> datetime:
    """UTC instant of the last session's start, for RRULE's UNTIL.

    Where the wall-clock time is ambiguous or skipped (a session at 01:30 on the
    night clocks go back), readers may pick either reading; the later one keeps
    the last session in the series for all of them, and is still a week before
    the next (excluded) one.
    """
    zone = ZoneInfo(tzid)
    readings = (last_start.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc) for fold in (0, 1))
    return max(readings)


def _add_series(event: Event, block: Block, series: Series, tzid: str) -> None:
    """DTSTART/DTEND with the program's TZID, a weekly RRULE to the last session, EXDATEs for closures.

    Local times carry an explicit TZID parameter (rather than an aware datetime)
    so the TZID is always the program's zone name, and every EXDATE has exactly
    DTSTART's TZID and local start time. For a program in "UTC" icalendar writes
    the UTC form (20270301T180000Z) instead, as RFC 5545 forbids TZID on UTC times.
    """
    zone = {"TZID": tzid}
    event.add("dtstart", _local_start(block, series.first), parameters=zone)
    event.add("dtend", _local_end(block, series.first), parameters=zone)
    event.add("rrule", {"freq": "weekly", "until": _until(_local_start(block, series.last), tzid)})
    if series.excluded:
        event.add("exdate", [_local_start(block, day) for day in series.excluded], parameters=zone)


# ---------------------------------------------------------------- UIDs


def _letters(digest: bytes) -> str:
    """Spell a digest in a-z only (base 26), so no id with a digit can appear inside it."""
    number = int.from_bytes(digest, "big")
    letters = []
    while number:
        number, rest = divmod(number, 26)
        letters.append(chr(ord("a") + rest))
    return "".join(letters) or "a"


def event_uid(kind: str, problem: Problem, block: Block, *owner: str, avoid: str = "") -> str:
    """A UID stable across runs for the same assignment, unique per kind, block and owner.

    `owner` is what makes the series someone's (a clinician id; a patient id and
    calendar dates). It is hashed, never written. `avoid` (the patient's id) is
    kept out of the letters even by chance, for ids made of letters only.
    """
    parts = [kind, problem.program.name, problem.program.start.isoformat(), block.id, *owner]
    salt = 0
    while True:
        text = json.dumps(parts + ([salt] if salt else []), ensure_ascii=False)
        letters = _letters(hashlib.sha256(text.encode("utf-8")).digest())
        if not avoid or avoid.lower() not in letters or salt >= 1000:
            return f"{letters}@{UID_DOMAIN}"
        salt += 1


# ---------------------------------------------------------------- calendars


def _new_calendar(name: str, tzid: str, vtimezone: Timezone) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", tzid)
    calendar.add_component(vtimezone)
    return calendar


def _new_event(uid: str, stamp: datetime, summary: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("class", "PRIVATE")
    event.add("summary", summary)
    return event


def _patient_location(problem: Problem, block: Block) -> Optional[str]:
    """Where the patient goes: the room's address, or "Online"; never a meeting link or room name."""
    if problem.modality_of(block) == "telehealth":
        return ONLINE
    room = problem.room_of(block)
    return room.address if room is not None and room.address else None


def _staff_location(problem: Problem, block: Block) -> Optional[str]:
    room = problem.room_of(block)
    if room is not None:
        return room.address or room.id
    return ONLINE if problem.modality_of(block) == "telehealth" else None


def _staff_summary(problem: Problem, block: Block) -> str:
    """Topic (or "Group") and room, e.g. "relapse_prevention (oak)"."""
    title = block.topic or "Group"
    room = block.room or (ONLINE.lower() if problem.modality_of(block) == "telehealth" else None)
    return f"{title} ({room})" if room else title


def _clinician_label(clinician: Clinician) -> str:
    return f"{clinician.name} ({clinician.id})" if clinician.name else clinician.id


def _staff_description(problem: Problem, group: "_OpenBlock", viewer: Optional[str]) -> str:
    """Block, patients by id only (never names), the other clinicians, audience and modality."""
    block = group.block
    lines = [f"Block {block.id}: {DAY_NAMES[block.day]} {format_clock(block.interval[0] % MINUTES_PER_DAY)}"
             f"-{format_clock(block.interval[0] % MINUTES_PER_DAY + block.minutes)}"]
    lines.append(f"Patients (by id): {', '.join(group.patient_ids)}")
    others = [c for c in group.clinicians if c.id != viewer]
    if others:
        label = "Co-clinicians" if viewer else "Clinicians"
        lines.append(f"{label}: {', '.join(_clinician_label(c) for c in others)}")
    if block.audience:
        lines.append(f"Audience: {', '.join(block.audience)}")
    lines.append("Telehealth" if problem.modality_of(block) == "telehealth" else "In person")
    return "\n".join(lines)


@dataclass(frozen=True)
class _OpenBlock:
    block: Block
    patient_ids: tuple[str, ...]
    clinicians: tuple[Clinician, ...]


def _open_blocks(problem: Problem, schedule: dict) -> list[_OpenBlock]:
    """Blocks with at least one patient, in week order; closed blocks are ignored."""
    blocks = {block.id: block for block in problem.blocks}
    clinicians = {clinician.id: clinician for clinician in problem.clinicians}
    patients = {patient.id: patient for patient in problem.patients}
    groups = []
    for entry in schedule.get("blocks", []):
        if not entry.get("patients"):
            continue
        block = _lookup(blocks, entry.get("id"), "block")
        for patient_id in entry["patients"]:
            _lookup(patients, patient_id, "patient")
        staff = tuple(_lookup(clinicians, cid, "clinician") for cid in entry.get("clinicians", []))
        groups.append(_OpenBlock(block, tuple(entry["patients"]), staff))
    return sorted(groups, key=lambda group: (group.block.interval, group.block.id))


def _placed_patients(problem: Problem, schedule: dict) -> list[tuple[Patient, list[Block]]]:
    """Placed patients with blocks, in the problem's order, each with its blocks in week order."""
    blocks = {block.id: block for block in problem.blocks}
    entries = {entry.get("id"): entry for entry in schedule.get("patients", [])}
    known = {patient.id: patient for patient in problem.patients}
    for patient_id in entries:
        _lookup(known, patient_id, "patient")
    placed = []
    for patient in problem.patients:
        entry = entries.get(patient.id)
        if not entry or entry.get("placed") is not True or not entry.get("blocks"):
            continue
        own = {block_id: _lookup(blocks, block_id, "block") for block_id in entry["blocks"]}
        placed.append((patient, sorted(own.values(), key=lambda block: (block.interval, block.id))))
    return placed


def _lookup(items: dict, key: Any, noun: str) -> Any:
    if key not in items:
        raise ValueError(f"the schedule names {noun} {key!r}, which the problem does not have")
    return items[key]


def _patient_calendar(problem: Problem, patient: Patient, blocks: list[Block], stamp: datetime,
                      vtimezone: Timezone) -> Calendar:
    """Only "Appointment", time and address: nothing that names the patient, the program or the group."""
    tzid = problem.program.timezone
    calendar = _new_calendar(PATIENT_CALENDAR_NAME, tzid, vtimezone)
    first, last = problem.calendar_dates_for(patient)
    for block in blocks:
        series = series_for(block, first, last, problem.program.closures)
        if series is None:
            continue
        uid = event_uid("patient", problem, block, patient.id, first.isoformat(), last.isoformat(),
                        avoid=patient.id)
        event = _new_event(uid, stamp, problem.program.patient_event_title)
        _add_series(event, block, series, tzid)
        location = _patient_location(problem, block)
        if location:
            event.add("location", location)
        calendar.add_component(event)
    return calendar


def _staff_calendar(problem: Problem, name: str, groups: list[_OpenBlock], viewer: Optional[Clinician],
                    stamp: datetime, vtimezone: Timezone) -> Calendar:
    """A clinician's calendar (viewer given) or the program's: topic, room, patients by id."""
    tzid = problem.program.timezone
    calendar = _new_calendar(name, tzid, vtimezone)
    first, last = problem.calendar_dates_for(None)
    for group in groups:
        series = series_for(group.block, first, last, problem.program.closures)
        if series is None:
            continue
        owner = ("clinician", viewer.id) if viewer else ("program",)
        uid = event_uid(owner[0], problem, group.block, *owner[1:])
        event = _new_event(uid, stamp, _staff_summary(problem, group.block))
        _add_series(event, group.block, series, tzid)
        location = _staff_location(problem, group.block)
        if location:
            event.add("location", location)
        event.add("description", _staff_description(problem, group, viewer.id if viewer else None))
        calendar.add_component(event)
    return calendar


def _stamp(now: Optional[datetime]) -> datetime:
    """DTSTAMP in UTC, whole seconds; a naive `now` is taken as UTC."""
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def build_calendars(problem: Problem, schedule: dict, now: Optional[datetime] = None) -> dict[str, bytes]:
    """Return {relative path: .ics bytes} for the program, each placed patient and each staffing clinician.

    'calendars/program.ics'; 'calendars/patients/<id>.ics' for every patient whose
    schedule entry has placed true and a non-empty blocks list;
    'calendars/clinicians/<id>.ics' for every clinician staffing an open block.
    A block whose every session falls on a closure (or outside a patient's
    admission) gets no event; the calendar file is still written.
    Raises ValueError when the schedule names a block, patient or clinician the
    problem does not have.
    """
    stamp = _stamp(now)
    program = problem.program
    first, last = problem.calendar_dates_for(None)
    vtimezone = vtimezone_component(program.timezone, first, last)
    groups = _open_blocks(problem, schedule)

    files: dict[str, bytes] = {}
    files[PROGRAM_PATH] = _staff_calendar(problem, program.name, groups, None, stamp, vtimezone).to_ical()
    for clinician in problem.clinicians:
        own = [group for group in groups if clinician.id in {c.id for c in group.clinicians}]
        if own:
            name = f"{program.name}: {clinician.name or clinician.id}"
            calendar = _staff_calendar(problem, name, own, clinician, stamp, vtimezone)
            files[f"{CLINICIAN_DIR}/{clinician.id}.ics"] = calendar.to_ical()
    for patient, blocks in _placed_patients(problem, schedule):
        calendar = _patient_calendar(problem, patient, blocks, stamp, vtimezone)
        files[f"{PATIENT_DIR}/{patient.id}.ics"] = calendar.to_ical()
    return files
