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
spelled in lowercase letters only, then "@iop-sched": the same assignment written
again keeps its UIDs, a patient id with a digit ("R101") can never show in one, one
of letters alone is avoided by a salt, and the domain is left out of a program with
a patient id it holds ("sched", "ed").
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vText

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
    "build_calendar_update",
    "CHANGES_PATH",
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
        _add_exdates(event, [_local_start(block, day) for day in series.excluded], tzid)


def _add_exdates(event: Event, starts: list[datetime], tzid: str) -> None:
    """EXDATE in DTSTART's form: with its TZID, or for "UTC" in the UTC form (...Z).

    icalendar writes a naive time with TZID=UTC in the UTC form for DTSTART but
    as a floating time for EXDATE, which matches no occurrence; so UTC ones are
    given as aware UTC times.
    """
    if tzid == "UTC":
        event.add("exdate", [start.replace(tzinfo=timezone.utc) for start in starts])
    else:
        event.add("exdate", starts, parameters={"TZID": tzid})


# ---------------------------------------------------------------- UIDs


def _letters(digest: bytes, alphabet: str = string.ascii_lowercase) -> str:
    """Spell a digest in the alphabet's letters (a-z: base 26), so no id with a digit can appear inside it."""
    number = int.from_bytes(digest, "big")
    letters = []
    while number:
        number, rest = divmod(number, len(alphabet))
        letters.append(alphabet[rest])
    return "".join(letters) or alphabet[0]


#: Salts tried before a UID is spelled letter by letter (`event_uid`).
MAX_UID_SALTS = 200


def event_uid(kind: str, problem: Problem, block: Block, *owner: str, avoid: str = "") -> str:
    """A UID stable across runs for the same assignment, unique per kind, block (and its times) and owner.

    `owner` is what makes the series someone's (a clinician id; a patient id and
    calendar dates). It is hashed, never written. No UID spells a patient id or name of
    the program even by chance, in any calendar (the format: UIDs "carry no patient id
    or name"), whatever the case: only ids and names made of letters alone could be
    spelled (a name of one word: "Bo"), and the first salt that spells none of them,
    nor `avoid`, is taken. When no salt does (very many short ids, or an id of one
    letter), the letters are kept apart by a separator no id holds and those that are
    ids on their own are left out. The domain "@iop-sched" follows unless an id or
    name could be read in it ("Ed"; `_uid_domain`).
    """
    # the block's day and times too: a group moved to another time is a new series (a new UID), so no client
    # keeps the old time under the same UID with no SEQUENCE raised. Not its room: a re-plan (--from) finds a
    # series by this UID, and one with nothing before the date goes on to another room under it.
    parts = [kind, problem.program.name, problem.program.start.isoformat(), block.id, block.day, block.start,
             block.end, *owner]
    avoided = frozenset({avoid.lower()} if avoid else ())
    banned = problem.letter_only_patient_ids | problem.letter_only_patient_names | avoided
    domain, spanning = _uid_domain(problem.lowercase_patient_ids_and_names)
    if not avoided <= problem.lowercase_patient_ids_and_names:  # (a patient no longer in the program)
        avoided_domain, avoided_spanning = _uid_domain(avoided)
        domain, spanning = domain if avoided_domain else "", spanning | avoided_spanning
    unreadable = banned | spanning
    for salt in range(MAX_UID_SALTS):
        text = json.dumps(parts + ([salt] if salt else []), ensure_ascii=False)
        uid = _letters(hashlib.sha256(text.encode("utf-8")).digest()) + domain
        if not any(word in uid for word in unreadable):
            return uid
    alphabet = "".join(letter for letter in string.ascii_lowercase if letter not in banned) or string.ascii_lowercase
    digest = hashlib.sha256(json.dumps(parts + ["apart"], ensure_ascii=False).encode("utf-8")).digest()
    # No id is one letter of the alphabet, and none spans a separator it does not hold; only one with "@"
    # could span the letters and the domain. (Ids holding every separator: the letters are written together.)
    ids = problem.lowercase_patient_ids_and_names | avoided
    separator = next((mark for mark in UID_SEPARATORS if not any(mark in word for word in ids)), "")
    uid = separator.join(_letters(digest, alphabet))
    return uid if any(word in uid + domain for word in spanning) else uid + domain


#: What keeps the letters of a UID apart when no salt avoids every id (`event_uid`): the first no id holds.
UID_SEPARATORS = ("-", ".", "_", "~", "+", "=")


@functools.lru_cache(maxsize=8)
def _uid_domain(ids: frozenset[str]) -> tuple[str, frozenset[str]]:
    """The domain after a UID's letters ("@iop-sched", or none when one of `ids` could be read in it), and
    the ids that could be read across the letters and the domain (letters, "@", the domain's beginning)."""
    domain = f"@{UID_DOMAIN}"
    if any(word in domain for word in ids):
        return "", frozenset()
    spanning = set()
    for word in ids:
        before, at, after = word.partition("@")
        if at and UID_DOMAIN.startswith(after) and before.isascii() and before.isalpha():
            spanning.add(word)
    return domain, frozenset(spanning)


# ---------------------------------------------------------------- calendars


#: Characters RFC 5545 forbids in TEXT (CONTROL but tab; line ends are escaped by vText).
_FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> vText:
    """A TEXT value: escaped by vText, with the control characters a name or address may carry dropped."""
    return vText(_FORBIDDEN_IN_TEXT.sub("", value))


def _new_calendar(name: str, tzid: str, vtimezone: Timezone) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # An X- property is written as given, so escape it as TEXT (RFC 5545 3.3.11): a comma, a
    # semicolon or a newline in a program's or clinician's name must not end or split the line.
    calendar.add("x-wr-calname", _text(name))
    calendar.add("x-wr-timezone", tzid)
    calendar.add_component(vtimezone)
    return calendar


def _new_event(uid: str, stamp: datetime, summary: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("class", "PRIVATE")
    event.add("summary", _text(summary))
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


def _clinician_label(problem: Problem, clinician: Clinician) -> str:
    shown = problem.clinician_shown_names[clinician.id]  # never a name that holds a patient's
    return f"{shown} ({clinician.id})" if shown != clinician.id else clinician.id


def _staff_description(problem: Problem, group: "_OpenBlock", viewer: Optional[str]) -> str:
    """Block, patients by id only (never names), the other clinicians, audience and modality."""
    block = group.block
    lines = [f"Block {block.id}: {DAY_NAMES[block.day]} {format_clock(block.interval[0] % MINUTES_PER_DAY)}"
             f"-{format_clock(block.interval[0] % MINUTES_PER_DAY + block.minutes)}"]
    lines.append(f"Patients (by id): {', '.join(group.patient_ids)}")
    others = [c for c in group.clinicians if c.id != viewer]
    if others:
        label = "Co-clinicians" if viewer else "Clinicians"
        lines.append(f"{label}: {', '.join(_clinician_label(problem, c) for c in others)}")
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
            event.add("location", _text(location))
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
            event.add("location", _text(location))
        event.add("description", _text(_staff_description(problem, group, viewer.id if viewer else None)))
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
            name = f"{program.name}: {problem.clinician_shown_names[clinician.id]}"
            calendar = _staff_calendar(problem, name, own, clinician, stamp, vtimezone)
            files[f"{CLINICIAN_DIR}/{clinician.id}.ics"] = calendar.to_ical()
    for patient, blocks in _placed_patients(problem, schedule):
        calendar = _patient_calendar(problem, patient, blocks, stamp, vtimezone)
        files[f"{PATIENT_DIR}/{patient.id}.ics"] = calendar.to_ical()
    return files


# ---------------------------------------------------------------- updating calendars in place
#
# A re-plan "from a date" must not rewrite history: every occurrence before the
# date stays as the old calendar had it, and phones subscribed to a calendar
# must update in place. So the update is computed series by series, from the
# old calendar files themselves (UID, SEQUENCE, occurrences), per RFC 5545:
#
# - a series that goes on unchanged keeps its bytes; only DTSTAMP is renewed;
# - a series that goes on with other dates (a closure, a new discharge date) keeps
#   its UID, SEQUENCE + 1; one with another title, room or description (a
#   clinician's patient list) does so only with nothing before the date: with
#   sessions already held, it is cut (below) and goes on as a new series, so
#   the sessions held keep their room and patient list;
# - a series that stops (or cannot go on at the same wall-clock time) is cut:
#   UNTIL its last occurrence before the date, SEQUENCE + 1; with no occurrence
#   before the date left, STATUS:CANCELLED, SEQUENCE + 1;
# - a new series starts at the first occurrence on or after the date, with a
#   UID of its own derived from owner, block and first occurrence, so a
#   patient added again later gets yet another UID;
# - every other event of the old file (history) is kept byte for byte, DTSTAMP
#   renewed, and a calendar whose owner left the schedule is still written.

CHANGES_PATH = "changes.json"
CHANGES_FORMAT = "iop-sched-changes/1"
_END_CALENDAR = b"END:VCALENDAR\r\n"


def _unidentified(event: "_OldEvent") -> str:
    """How changes.json names an ended series no block of either program matches: by its weekly time."""
    end = event.start + event.length
    return (f"unidentified series {event.start.strftime('%a')} "
            f"{event.start.strftime('%H:%M')}-{end.strftime('%H:%M')}")


@dataclass(frozen=True)
class _Owner:
    """Whose calendar: the program's, a clinician's or a patient's."""

    kind: str  # "program" | "clinician" | "patient"
    id: Optional[str] = None

    @property
    def path(self) -> str:
        if self.kind == "program":
            return PROGRAM_PATH
        folder = PATIENT_DIR if self.kind == "patient" else CLINICIAN_DIR
        return f"{folder}/{self.id}.ics"

    @property
    def parts(self) -> tuple[str, ...]:
        return () if self.id is None else (self.id,)

    @property
    def avoid(self) -> str:
        return self.id if self.kind == "patient" and self.id else ""

    @staticmethod
    def from_path(path: str) -> Optional["_Owner"]:
        if path == PROGRAM_PATH:
            return _Owner("program")
        for folder, kind in ((PATIENT_DIR, "patient"), (CLINICIAN_DIR, "clinician")):
            prefix = folder + "/"
            if path.startswith(prefix) and path.endswith(".ics") and len(path) > len(prefix) + len(".ics"):
                return _Owner(kind, path[len(prefix):-len(".ics")])
        return None


@dataclass(frozen=True)
class _Wanted:
    """A series the new schedule asks for, from the re-plan date on (`series` None: no occurrence left)."""

    block: Block
    series: Optional[Series]
    summary: str
    location: Optional[str]
    description: Optional[str]


@dataclass
class _OldEvent:
    """One VEVENT of an old calendar file: what it says, and its raw lines to keep it byte for byte."""

    uid: str
    sequence: int
    cancelled: bool
    tzid: str  # "UTC" for the UTC form (...Z)
    tzid_parameter: Optional[str]
    start: datetime  # naive wall-clock time of DTSTART
    length: timedelta
    occurrences: list[datetime]  # naive wall-clock starts, none when cancelled
    component: Event
    blob: bytes
    key: tuple[str, ...]


def _from_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _physical_lines(data: bytes) -> list[bytes]:
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = text.split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def _logical_lines(lines: list[bytes]) -> list[list[bytes]]:
    """Group folded continuation lines (starting with a space or tab) with the line they continue."""
    logical: list[list[bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and logical:
            logical[-1].append(line)
        else:
            logical.append([line])
    return logical


def _unfold(physical: list[bytes]) -> str:
    return (physical[0] + b"".join(line[1:] for line in physical[1:])).decode("utf-8")


def _name(content: str) -> str:
    return re.split(r"[:;]", content, maxsplit=1)[0].upper()


def _event_key(blob: bytes) -> tuple[str, ...]:
    """An event's content lines without DTSTAMP and SEQUENCE: equal keys mean the same event."""
    return tuple(line for line in (_unfold(p) for p in _logical_lines(_physical_lines(blob)))
                 if _name(line) not in ("DTSTAMP", "SEQUENCE"))


def _event_blobs(data: bytes) -> list[bytes]:
    """The raw bytes (CRLF line ends) of each top-level VEVENT, in file order."""
    blobs, current, depth = [], None, 0
    for physical in _logical_lines(_physical_lines(data)):
        content = _unfold(physical).strip().upper()
        if content == "BEGIN:VEVENT" and current is None:
            current, depth = [], 0
        if current is not None:
            current.extend(physical)
            if content.startswith("BEGIN:"):
                depth += 1
            elif content.startswith("END:"):
                depth -= 1
                if depth == 0:
                    blobs.append(b"".join(line + b"\r\n" for line in current))
                    current = None
    return blobs


def _restamp(blob: bytes, stamp: datetime) -> bytes:
    """The same event bytes with DTSTAMP renewed."""
    new_line = b"DTSTAMP:" + stamp.strftime("%Y%m%dT%H%M%SZ").encode("ascii")
    out = []
    for physical in _logical_lines(_physical_lines(blob)):
        out.append([new_line] if _name(_unfold(physical)) == "DTSTAMP" else physical)
    return b"".join(line + b"\r\n" for group in out for line in group)


def _naive(value: Any) -> datetime:
    if not isinstance(value, datetime):  # an all-day value: midnight
        return datetime.combine(value, time(0))
    return value.replace(tzinfo=None)


def _parse_old_file(data: bytes) -> tuple[Optional[str], list[_OldEvent]]:
    """X-WR-CALNAME and the events of an old calendar file."""
    from dateutil.rrule import rrulestr

    calendar = Calendar.from_ical(data)
    raw_name = calendar.get("X-WR-CALNAME")  # icalendar keeps an X- property as written: unescape the TEXT
    name = None if raw_name is None else re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], str(raw_name))
    components = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    blobs = _event_blobs(data)
    if len(blobs) != len(components):
        raise ValueError("cannot split the old calendar into its events")
    events = []
    for component, blob in zip(components, blobs):
        dtstart = component["DTSTART"]
        tzid_parameter = dtstart.params.get("TZID")
        if tzid_parameter:
            tzid = str(tzid_parameter)
        elif isinstance(dtstart.dt, datetime) and dtstart.dt.tzinfo is not None and dtstart.dt.utcoffset() == timedelta(0):
            tzid = "UTC"
        else:
            raise ValueError(f"event {component.get('UID')}: DTSTART is neither in a TZID nor in UTC")
        start = _naive(dtstart.dt)
        if "DTEND" in component:
            length = _naive(component["DTEND"].dt) - start
        else:
            length = component["DURATION"].dt if "DURATION" in component else timedelta(0)
        cancelled = str(component.get("STATUS", "")).upper() == "CANCELLED"
        excluded = set()
        values = component.get("EXDATE")
        for group in (values if isinstance(values, list) else [values] if values is not None else []):
            excluded.update(_naive(item.dt) for item in group.dts)
        occurrences: list[datetime] = []
        if not cancelled:
            if "RRULE" in component:
                zone = ZoneInfo(tzid)
                rule = rrulestr(component["RRULE"].to_ical().decode(), dtstart=start.replace(tzinfo=zone))
                starts = []
                for occurrence in rule:
                    starts.append(occurrence.replace(tzinfo=None))
                    if len(starts) >= 10_000:  # a rule without end: far more than any program's weeks
                        break
            else:
                starts = [start]
            occurrences = [day for day in starts if day not in excluded]
        events.append(_OldEvent(
            uid=str(component["UID"]), sequence=int(component.get("SEQUENCE", 0)), cancelled=cancelled,
            tzid=tzid, tzid_parameter=str(tzid_parameter) if tzid_parameter else None, start=start,
            length=length, occurrences=occurrences, component=component, blob=blob, key=_event_key(blob)))
    return (str(name) if name is not None else None), events


def _legacy_uid(problem: Problem, owner: _Owner, block: Block) -> Optional[str]:
    """The UID `build_calendars` gives the owner's series of the block (None: the owner is not in `problem`)."""
    if owner.kind == "patient":
        patient = next((p for p in problem.patients if p.id == owner.id), None)
        if patient is None:
            return None
        first, last = problem.calendar_dates_for(patient)
        return event_uid("patient", problem, block, owner.id, first.isoformat(), last.isoformat(), avoid=owner.id)
    return event_uid(owner.kind, problem, block, *owner.parts)


def _since_uid(problem: Problem, owner: _Owner, block: Block, first_start: datetime, salt: int = 0) -> str:
    """The UID of a series that begins at a re-plan: owner, block and its first occurrence (local time)."""
    extra = (str(salt),) if salt else ()
    return event_uid(owner.kind, problem, block, *owner.parts, "since", first_start.isoformat(timespec="minutes"),
                     *extra, avoid=owner.avoid)


def _wanted_by_owner(problem: Problem, schedule: dict, from_date: date) -> dict[_Owner, list[_Wanted]]:
    """Every calendar the new schedule has, with its series from `from_date` on (same owners as `build_calendars`)."""
    closures = problem.program.closures
    first, last = problem.calendar_dates_for(None)
    groups = _open_blocks(problem, schedule)

    def staff(group: _OpenBlock, viewer: Optional[str]) -> _Wanted:
        return _Wanted(group.block, series_for(group.block, max(from_date, first), last, closures),
                       _staff_summary(problem, group.block), _staff_location(problem, group.block),
                       _staff_description(problem, group, viewer))

    wanted: dict[_Owner, list[_Wanted]] = {_Owner("program"): [staff(group, None) for group in groups]}
    for clinician in problem.clinicians:
        own = [group for group in groups if clinician.id in {c.id for c in group.clinicians}]
        if own:
            wanted[_Owner("clinician", clinician.id)] = [staff(group, clinician.id) for group in own]
    for patient, blocks in _placed_patients(problem, schedule):
        start, end = problem.calendar_dates_for(patient)
        wanted[_Owner("patient", patient.id)] = [
            _Wanted(block, series_for(block, max(from_date, start), end, closures),
                    problem.program.patient_event_title, _patient_location(problem, block), None)
            for block in blocks]
    return wanted


def _old_blocks_by_owner(problem: Problem, schedule: dict) -> dict[_Owner, list[Block]]:
    """Which blocks each calendar of the old schedule had (for events whose UID is not recognised)."""
    groups = _open_blocks(problem, schedule)
    owners: dict[_Owner, list[Block]] = {_Owner("program"): [group.block for group in groups]}
    for group in groups:
        for clinician in group.clinicians:
            owners.setdefault(_Owner("clinician", clinician.id), []).append(group.block)
    for patient, blocks in _placed_patients(problem, schedule):
        owners[_Owner("patient", patient.id)] = list(blocks)
    return owners


def _identify(event: _OldEvent, owner: _Owner, problems: list[Problem], old_blocks: list[Block]) -> Optional[str]:
    """The block id an old event is the series of: by its UID, else by its unique weekday, time and length."""
    weekday = event.start.weekday()
    own = {block.id for block in old_blocks}
    for problem in problems:
        # the blocks the owner had first: almost always the answer
        for block in sorted(problem.blocks, key=lambda b: b.id not in own):
            if day_index(block.day) != weekday:
                continue
            if event.uid in (_legacy_uid(problem, owner, block), _since_uid(problem, owner, block, event.start)):
                return block.id
    same_time = {block.id for block in old_blocks
                 if _local_start(block, event.start.date()) == event.start
                 and timedelta(minutes=block.minutes) == event.length}
    return same_time.pop() if len(same_time) == 1 else None


def _continued(event: _OldEvent, wanted: _Wanted, tzid: str, history: list[datetime]) -> Optional[Series]:
    """The series an old event becomes when it goes on as `wanted`, or None when it cannot go on.

    It goes on when it keeps its DTSTART: same zone, same weekday and wall-clock
    time (and, with occurrences before the date, the same length), and, with
    none, a first occurrence exactly at its DTSTART.
    """
    if wanted.series is None or event.cancelled or event.tzid != tzid:
        return None
    first_new = _local_start(wanted.block, wanted.series.first)
    if first_new.time() != event.start.time() or first_new.weekday() != event.start.weekday():
        return None
    if history:
        if event.length != timedelta(minutes=wanted.block.minutes):
            return None
        dates = [day.date() for day in history] + wanted.series.dates()
    elif first_new != event.start:
        return None
    else:
        dates = wanted.series.dates()
    present = set(dates)
    weeks = (dates[-1] - dates[0]).days // 7 + 1
    grid = [dates[0] + timedelta(weeks=week) for week in range(weeks)]
    return Series(first=dates[0], last=dates[-1], excluded=tuple(day for day in grid if day not in present))


def _same_details(event: _OldEvent, wanted: _Wanted) -> bool:
    """Whether the old event already says what `wanted` says: title, place and description (not the dates)."""
    for key, value in (("SUMMARY", wanted.summary), ("LOCATION", wanted.location), ("DESCRIPTION", wanted.description)):
        if str(event.component.get(key, "")) != str(_text(value or "")):
            return False
    return True


def _wanted_event(uid: str, stamp: datetime, wanted: _Wanted, series: Series, tzid: str, sequence: int) -> Event:
    """The same event `build_calendars` writes, with SEQUENCE when above 0."""
    event = _new_event(uid, stamp, wanted.summary)
    if sequence:
        event.add("sequence", sequence)
    _add_series(event, wanted.block, series, tzid)
    if wanted.location:
        event.add("location", _text(wanted.location))
    if wanted.description:
        event.add("description", _text(wanted.description))
    return event


def _old_span(event: _OldEvent, history: Optional[list[datetime]] = None) -> tuple[Optional[str], date, date]:
    """Zone (TZID parameter; None for the UTC form), first and last date an old event spans (cut after `history`)."""
    days = [day.date() for day in (event.occurrences if history is None else history)] + [event.start.date()]
    return event.tzid_parameter, min(days), max(days)


def _cut_event(event: _OldEvent, history: list[datetime], stamp: datetime) -> bytes:
    """The old event ended after its last occurrence in `history`, or cancelled when there is none; SEQUENCE + 1."""
    component = Event.from_ical(event.blob.decode("utf-8"))
    for name in ("DTSTAMP", "SEQUENCE"):
        component.pop(name, None)
    component.add("dtstamp", stamp)
    component.add("sequence", event.sequence + 1)
    if not history:
        component.pop("STATUS", None)
        component.add("status", "CANCELLED")
        return component.to_ical()
    last = history[-1]
    component.pop("RRULE", None)
    component.add("rrule", {"freq": "weekly", "until": _until(last, event.tzid)})
    values = component.pop("EXDATE", None)
    kept = []
    for group in (values if isinstance(values, list) else [values] if values is not None else []):
        kept.extend(_naive(item.dt) for item in group.dts if event.start < _naive(item.dt) < last)
    if kept:
        _add_exdates(component, sorted(set(kept)), event.tzid)
    return component.to_ical()


@dataclass
class _FileChanges:
    added: set = field(default_factory=set)
    ended: set = field(default_factory=set)
    changed: set = field(default_factory=set)
    unchanged: set = field(default_factory=set)

    def any(self) -> bool:
        return bool(self.added or self.ended or self.changed)

    def to_dict(self, path: str) -> dict:
        return {"calendar": path, **{key: sorted(getattr(self, key))
                                     for key in ("added", "ended", "changed", "unchanged")}}


def _update_events(owner: _Owner, old_events: list[_OldEvent], wanted: list[_Wanted], old_blocks: list[Block],
                   old_problem: Problem, new_problem: Problem, from_date: date,
                   stamp: datetime) -> tuple[list[bytes], _FileChanges, list[tuple[str, date, date]]]:
    """The events of one updated calendar (old ones in place, new ones after), what changed, and the zones and
    dates they span."""
    tzid = new_problem.program.timezone
    changes = _FileChanges()
    problems = [old_problem] if old_problem is new_problem else [old_problem, new_problem]

    def history_of(event: _OldEvent) -> list[datetime]:
        return [day for day in event.occurrences if day.date() < from_date]

    current = [event for event in old_events if any(day.date() >= from_date for day in event.occurrences)]
    block_of = {id(event): _identify(event, owner, problems, old_blocks) for event in current}
    matched: dict[str, _OldEvent] = {}
    for event in sorted(current, key=lambda e: e.start):  # two series of one block: the later one goes on
        if block_of[id(event)] is not None:
            matched[block_of[id(event)]] = event

    by_uid = {event.uid: event for event in old_events}
    result: dict[str, bytes] = {}  # UID -> new bytes
    spans: dict[str, tuple[Optional[str], date, date]] = {}  # UID -> zone, first and last date
    appended: list[str] = []

    def cut(event: _OldEvent, history: list[datetime]) -> None:
        result[event.uid] = _cut_event(event, history, stamp)
        spans[event.uid] = _old_span(event, history)

    def keep(event: _OldEvent) -> None:
        result[event.uid] = _restamp(event.blob, stamp)
        spans[event.uid] = _old_span(event)

    def emit(uid: str, wanted_series: _Wanted, series: Series, old: Optional[_OldEvent]) -> bool:
        """Write the wanted series under `uid`; True when it differs from the old event of that UID."""
        sequence = old.sequence + 1 if old is not None else 0
        blob = _wanted_event(uid, stamp, wanted_series, series, tzid, sequence).to_ical()
        if old is not None and _event_key(blob) == old.key:
            keep(old)
            return False
        result[uid] = blob
        spans[uid] = (tzid, series.first, series.last)
        if old is None:
            appended.append(uid)
        return True

    for item in wanted:
        event = matched.pop(item.block.id, None)
        if event is not None:
            history = history_of(event)
            series = _continued(event, item, tzid, history)
            # With occurrences before the date, only a series whose details stay goes on under its UID: a new
            # room, title or patient list on the same event would rewrite the sessions already held too.
            if series is not None and (not history or _same_details(event, item)):
                (changes.changed if emit(event.uid, item, series, event) else changes.unchanged).add(item.block.id)
                continue
            cut(event, history)
            (changes.changed if item.series is not None else changes.ended).add(item.block.id)
        elif item.series is None:
            continue
        else:
            changes.added.add(item.block.id)
        if item.series is None:
            continue
        first_start = _local_start(item.block, item.series.first)
        salt = 0
        uid = _since_uid(new_problem, owner, item.block, first_start)
        while uid in result:  # already written in this update (cut, or the same block twice)
            salt += 1
            uid = _since_uid(new_problem, owner, item.block, first_start, salt)
        emit(uid, item, item.series, by_uid.get(uid))  # an old cancelled series of that UID comes back

    held: list[_OldEvent] = []
    for event in old_events:
        if event.uid in result:
            continue
        if id(event) in block_of:  # it had occurrences on or after the date
            cut(event, history_of(event))
            changes.ended.add(block_of[id(event)] or _unidentified(event))
        else:  # all held before the date (or cancelled): it stays as it was
            keep(event)
            if event.occurrences:
                held.append(event)
    # a group whose sessions were all held is unchanged, unless another series of it changed (known only now)
    moved = changes.added | changes.changed | changes.ended
    changes.unchanged |= {block_id for block_id in (_identify(event, owner, problems, old_blocks) for event in held)
                          if block_id is not None and block_id not in moved}

    order = [event.uid for event in old_events] + appended
    unique = list(dict.fromkeys(order))
    return [result[uid] for uid in unique], changes, [spans[uid] for uid in unique]


def _names_a_patient(name: str, problems: tuple[Problem, ...]) -> bool:
    return any(problem.names_a_patient(name) for problem in problems)


def _clinician_part(calendar_name: str, problems: tuple[Problem, ...]) -> Optional[str]:
    """The clinician's name in a clinician calendar's name ("Program: Name"), None when no program's name leads it."""
    for problem in problems:
        prefix = f"{problem.program.name}: "
        if calendar_name.startswith(prefix):
            return calendar_name[len(prefix):]
    return None


def _clinician_names_to_hide(old_problem: Problem, new_problem: Problem,
                             old_names: dict[_Owner, Optional[str]]) -> dict[str, str]:
    """Clinician label written in events ("Name (id)") -> id, for every name that holds a patient's name.

    Sessions held before the re-plan date keep their text, which named clinicians as they were
    shown then; a patient admitted since may have a name inside one of them, and no calendar may
    carry a patient's name. The names come from both problems and, for clinicians in neither (who
    left two re-plans ago), from the names of their old calendar files (`old_names`).
    """
    problems = (old_problem, new_problem)
    named: set[tuple[str, str]] = {(c.name, c.id) for problem in problems for c in problem.clinicians if c.name}
    for owner, calendar_name in old_names.items():
        name = _clinician_part(calendar_name, problems) if owner.kind == "clinician" and calendar_name else None
        if name is not None:
            named.add((name, owner.id or ""))
    return {f"{name} ({cid})": cid for name, cid in named if name != cid and _names_a_patient(name, problems)}


def _without_names(blob: bytes, hidden: dict[str, str]) -> bytes:
    """The event with each hidden clinician label in its DESCRIPTION replaced by the id (else the same bytes)."""
    if not hidden:
        return blob
    unfolded = blob.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").decode("utf-8")
    found = {label: cid for label, cid in hidden.items() if _text(label).to_ical().decode("utf-8") in unfolded}
    if not found:
        return blob
    component = Event.from_ical(blob.decode("utf-8"))
    if "DESCRIPTION" not in component:
        return blob
    value = str(component["DESCRIPTION"])
    for label, cid in sorted(found.items(), key=lambda item: -len(item[0])):
        value = value.replace(_FORBIDDEN_IN_TEXT.sub("", label), cid)
    component["DESCRIPTION"] = _text(value)
    return component.to_ical()


def _calendar_name(owner: _Owner, new_problem: Problem, old_problem: Problem, old_name: Optional[str]) -> str:
    program = new_problem.program
    if owner.kind == "program":
        return program.name
    if owner.kind == "patient":
        return PATIENT_CALENDAR_NAME
    by_id = f"{program.name}: {owner.id}"
    problems = (new_problem, old_problem)
    for problem in problems:
        clinician = next((c for c in problem.clinicians if c.id == owner.id), None)
        if clinician is not None:
            shown = problem.clinician_shown_names[clinician.id]
            # a clinician who left (named by the old problem) may hold the name of a patient admitted since
            return by_id if _names_a_patient(shown, problems) else f"{program.name}: {shown}"
    if old_name is None:
        return by_id
    clinician_part = _clinician_part(old_name, problems)  # the old file's own name: the clinician's part of it
    return by_id if _names_a_patient(old_name if clinician_part is None else clinician_part, problems) else old_name


def _assemble(name: str, problem: Problem, blobs: list[bytes], spans: list[tuple[Optional[str], date, date]],
              vtimezone: Callable[[str, date, date], Timezone]) -> bytes:
    """Header and VTIMEZONE(s) as `build_calendars` writes them, then the events as given."""
    tzid = problem.program.timezone
    first, last = problem.calendar_dates_for(None)
    zones: dict[str, tuple[date, date]] = {tzid: (first, last)}
    for zone, start, end in spans:
        if zone is None:
            continue
        low, high = zones.get(zone, (start, end))
        zones[zone] = (min(low, start), max(high, end))
    calendar = _new_calendar(name, tzid, vtimezone(tzid, *zones.pop(tzid)))
    for zone in sorted(zones):
        calendar.add_component(vtimezone(zone, *zones[zone]))
    frame = calendar.to_ical()
    if not frame.endswith(_END_CALENDAR):
        raise AssertionError("unexpected calendar serialisation")
    return frame[:-len(_END_CALENDAR)] + b"".join(blobs) + _END_CALENDAR


def build_calendar_update(old_problem: Problem, old_schedule: dict, new_problem: Problem, new_schedule: dict,
                          from_date: Any, now: Optional[datetime] = None,
                          old_calendars: Optional[dict[str, bytes]] = None) -> dict[str, bytes]:
    """Calendars that update in place from `from_date` on, and `changes.json`: {relative path: bytes}.

    `old_calendars` are the previous run's calendar files ({path: bytes}, paths
    as `build_calendars` gives them, with or without the leading "calendars/");
    None rebuilds them from `old_problem` and `old_schedule`. UIDs, SEQUENCE and
    occurrences are read from them, so the result is deterministic and the
    update of an update works the same way. Occurrences before `from_date` stay
    as they were; see the comment above for what happens to each series. Every
    old calendar file is written again, also when its owner left the schedule.

    `changes.json` (format iop-sched-changes/1) lists, per patient and clinician
    whose calendar changed, the block ids `added`, `ended`, `changed` (the
    group goes on, updated: in place, or as its old series cut and a new one)
    and `unchanged`; `program` does the same for
    program.ics. It is for the clinic (it names patients by id), not for patients.
    """
    from_day = _from_date(from_date)
    stamp = _stamp(now)
    if old_calendars is None:
        old_calendars = build_calendars(old_problem, old_schedule, now=stamp)
    old_files: dict[str, bytes] = {}
    for path, data in old_calendars.items():
        path = str(path).replace("\\", "/")
        path = path if path.startswith("calendars/") else f"calendars/{path}"
        if _Owner.from_path(path) is not None:
            old_files[path] = bytes(data)

    wanted = _wanted_by_owner(new_problem, new_schedule, from_day)
    old_blocks = _old_blocks_by_owner(old_problem, old_schedule)
    owners = list(wanted)
    known = {owner.path for owner in owners}
    departed = sorted((_Owner.from_path(path) for path in old_files if path not in known),
                      key=lambda owner: (("program", "clinician", "patient").index(owner.kind), owner.id or ""))
    owners += departed

    vtimezone = functools.lru_cache(maxsize=None)(vtimezone_component)
    parsed: dict[_Owner, tuple[Optional[str], list[_OldEvent]]] = {}
    for owner in owners:
        if owner.path in old_files:
            try:
                parsed[owner] = _parse_old_file(old_files[owner.path])
            except (ValueError, KeyError) as error:
                raise ValueError(f"{owner.path}: cannot read the old calendar ({error})") from None
    hidden = _clinician_names_to_hide(old_problem, new_problem, {owner: name for owner, (name, _) in parsed.items()})
    files: dict[str, bytes] = {}
    report: dict[str, Any] = {"format": CHANGES_FORMAT, "from": from_day.isoformat(), "program": None,
                              "patients": {}, "clinicians": {}}
    for owner in sorted(owners, key=lambda o: ("program", "clinician", "patient").index(o.kind)):
        old_name, old_events = parsed.get(owner, (None, []))
        blobs, changes, spans = _update_events(owner, old_events, wanted.get(owner, []), old_blocks.get(owner, []),
                                               old_problem, new_problem, from_day, stamp)
        blobs = [_without_names(blob, hidden) for blob in blobs]
        name = _calendar_name(owner, new_problem, old_problem, old_name)
        files[owner.path] = _assemble(name, new_problem, blobs, spans, vtimezone)
        if owner.kind == "program":
            report["program"] = changes.to_dict(owner.path)
        elif changes.any():
            report["patients" if owner.kind == "patient" else "clinicians"][owner.id] = changes.to_dict(owner.path)
    files[CHANGES_PATH] = (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return files
