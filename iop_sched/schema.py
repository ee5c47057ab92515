"""The iop-sched/1 problem document as strict pydantic v2 models.

Strict on purpose: a clinic system that misspells `travel_minute` or sends
"15" for a number must hear about it, naming the place, rather than have a
patient silently scheduled across their commute. Field-level rules live on the
models; rules that span the document (unique ids, references, dates inside the
program) live in `iop_sched.loading`, which reports every fault with its place.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import cached_property
from datetime import date, timedelta
from typing import Annotated, Any, Literal, Optional
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .weektime import DAYS, MINUTES_PER_DAY, day_index, parse_clock, window_interval

FORMAT = "iop-sched/1"
SCHEDULE_FORMAT = "iop-sched-schedule/1"  # the schedule document (`schedule.json`)
POPULATIONS = ("adult", "adolescent")
DEFAULT_MIN_WEEKLY_HOURS = {"adult": 9.0, "adolescent": 6.0}
DEFAULT_MAX_WEEKLY_HOURS = 19.0

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Population = Literal["adult", "adolescent"]
BusyReason = Literal["work", "school", "childcare", "transport", "other"]
Modality = Literal["in_person", "telehealth"]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only, whole string


def _parse_date(value: Any) -> Any:
    """Dates travel as "YYYY-MM-DD"; strict models would otherwise refuse the string."""
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a calendar date ({exc})") from None
    return value


def _non_negative_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value  # let the declared type report it
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number of at least 0, not {value!r}")
    return value


IsoDate = Annotated[date, BeforeValidator(_parse_date)]
Id = Annotated[str, Field(min_length=1)]


#: Longest file or folder name in UTF-8 bytes (common file systems); an id's last part also takes ".ics".
MAX_NAME_BYTES = 255
#: Longest id in UTF-8 bytes: with its folders, the path stays well within the 4096 bytes Linux allows.
MAX_ID_BYTES = 1024


def _file_name_safe(value: Any) -> Any:
    """Patient and clinician ids name their calendar files `<id>.ics`, so they must stay inside the folder.

    A `/` in an id makes folders, as the format's `patients/<id>.ics` says (id `2027/041`:
    `patients/2027/041.ics`); each part must be a name a file system holds.
    """
    if not isinstance(value, str):
        return value
    parts = value.split("/")
    if any(part in {"", ".", ".."} for part in parts) or any(ord(ch) < 32 or ch in "\x7f\\" for ch in value):
        raise ValueError(f"{value!r} cannot name a calendar file: no control characters or backslashes, and no "
                         f"empty, '.' or '..' part between slashes")
    longest = max(len(part.encode("utf-8")) + (len(".ics") if index == len(parts) - 1 else 0) for index, part in enumerate(parts))
    if longest > MAX_NAME_BYTES:
        raise ValueError(f"is too long to name its calendar file '<id>.ics': {longest} bytes in one name, and file "
                         f"systems hold names of {MAX_NAME_BYTES} bytes (at most {MAX_NAME_BYTES - len('.ics')} before '.ics')")
    if len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise ValueError(f"is {len(value.encode('utf-8'))} bytes long: an id names a calendar file's path, "
                         f"at most {MAX_ID_BYTES} bytes")
    return value


FileId = Annotated[str, Field(min_length=1), BeforeValidator(_file_name_safe)]
Hours = Annotated[float, BeforeValidator(_non_negative_number), Field(ge=0, le=168)]
Tag = Annotated[str, Field(min_length=1)]


class StrictModel(BaseModel):
    """Unknown keys are errors and values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _null_is_not_given(cls, data: Any) -> Any:
        """`"tags": null` reads as no `tags` key: clinic systems write null for what they do not have."""
        if isinstance(data, dict) and any(value is None for value in data.values()):
            optional = {name for name, field in cls.model_fields.items() if not field.is_required()}
            data = {key: value for key, value in data.items() if not (value is None and key in optional)}
        return data


def _clock_field(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a time string HH:MM")
    return value


def _valid_start(value: str) -> str:
    parse_clock(value)
    return value


def _valid_end(value: str) -> str:
    parse_clock(value, allow_midnight_end=True)
    return value


StartClock = Annotated[str, BeforeValidator(_clock_field), AfterValidator(_valid_start)]
EndClock = Annotated[str, BeforeValidator(_clock_field), AfterValidator(_valid_end)]  # "24:00" allowed


class Window(StrictModel):
    """A weekly window: one or more days, start and end wall-clock times; end before start runs past midnight."""

    days: Optional[list[Day]] = None
    day: Optional[Day] = None
    start: StartClock
    end: EndClock

    @field_validator("days")
    @classmethod
    def _days_listed_once(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        if value is None:
            return value
        if not value:
            raise ValueError("must list at least one day")
        repeated = sorted({d for d in value if value.count(d) > 1}, key=day_index)
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return value

    @model_validator(mode="after")
    def _one_day_form_and_real_length(self) -> "Window":
        if self.days is None and self.day is None:
            raise ValueError("give the window's days (\"days\": [...] or \"day\": \"mon\")")
        if self.days is not None and self.day is not None:
            raise ValueError("give either \"days\" or \"day\", not both")
        start = parse_clock(self.start)
        end = parse_clock(self.end, allow_midnight_end=True)
        if end == start:
            raise ValueError(f"end {self.end} equals start {self.start}: a window must have a length")
        return self

    @property
    def day_list(self) -> list[str]:
        return list(self.days) if self.days is not None else [self.day]  # type: ignore[list-item]

    def intervals(self) -> list[tuple[int, int]]:
        """One week interval per day; past-midnight windows extend into the next day."""
        return list(self._intervals)

    @cached_property
    def _intervals(self) -> tuple[tuple[int, int], ...]:
        start, end = parse_clock(self.start), parse_clock(self.end, allow_midnight_end=True)
        return tuple(window_interval(d, start, end) for d in self.day_list)


class BusyWindow(Window):
    """A time the patient cannot come, with the reason a coordinator reads in explanations."""

    reason: BusyReason = "other"


class Rules(StrictModel):
    min_weekly_hours: Any = Field(default_factory=lambda: dict(DEFAULT_MIN_WEEKLY_HOURS))
    max_weekly_hours: Any = DEFAULT_MAX_WEEKLY_HOURS
    max_hours_per_day: Optional[Annotated[float, BeforeValidator(_non_negative_number), Field(gt=0, le=24)]] = None
    min_days_per_week: Annotated[int, Field(ge=0, le=7)] = 0
    max_patients_per_clinician: Optional[Annotated[int, Field(ge=1)]] = None
    required_topics: dict[Tag, Annotated[int, Field(ge=0, le=50)]] = Field(default_factory=dict)

    @field_validator("min_weekly_hours", "max_weekly_hours", mode="before")
    @classmethod
    def _number_or_population_map(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number of hours or a map by population")
        if isinstance(value, (int, float)):
            _non_negative_number(value)
            if value > 168:
                raise ValueError("is more hours than a week has")
            return float(value)
        if isinstance(value, dict):
            for key, hours in value.items():
                if key not in POPULATIONS:
                    raise ValueError(f"{key!r} is not a population (adult, adolescent)")
                if isinstance(hours, bool) or not isinstance(hours, (int, float)):
                    raise ValueError(f"hours for {key!r} must be a number")
                _non_negative_number(hours)
                if hours > 168:
                    raise ValueError(f"hours for {key!r} are more than a week has")
            return {k: float(v) for k, v in value.items()}
        raise ValueError("must be a number of hours or a map by population, e.g. {\"adult\": 9, \"adolescent\": 6}")

    def min_hours_for(self, population: str) -> float:
        """A population missing from a map keeps the ASAM level 2.1 default."""
        if isinstance(self.min_weekly_hours, dict):
            return self.min_weekly_hours.get(population, DEFAULT_MIN_WEEKLY_HOURS[population])
        return float(self.min_weekly_hours)

    def max_hours_for(self, population: str) -> float:
        if isinstance(self.max_weekly_hours, dict):
            return self.max_weekly_hours.get(population, DEFAULT_MAX_WEEKLY_HOURS)
        return float(self.max_weekly_hours)


#: Files a zoneinfo folder holds beside the zones that name no IANA zone.
NOT_IANA_ZONE_FILES = frozenset({"localtime", "posixrules", "Factory"})


#: Program starts accepted (see `Program._calendar_era`).
FIRST_PROGRAM_START = date(1970, 1, 1)
LAST_PROGRAM_START = date(9000, 12, 31)


class Program(StrictModel):
    name: Annotated[str, Field(min_length=1)]
    timezone: Annotated[str, Field(min_length=1)]
    start: IsoDate
    weeks: Annotated[int, Field(ge=1, le=104)] = 12
    closures: list[IsoDate] = Field(default_factory=list)
    patient_event_title: Annotated[str, Field(min_length=1)] = "Appointment"
    rules: Rules = Field(default_factory=Rules)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # ZoneInfo also opens files of the server's zone folder that are no IANA zone: `localtime`
        # (whatever zone the server is set to), `posixrules`, `Factory`, the `posix/` and `right/` copies.
        not_a_zone = value in NOT_IANA_ZONE_FILES or value.startswith(("posix/", "right/"))
        try:
            ZoneInfo(value)
        except Exception:
            not_a_zone = True
        if not_a_zone:
            raise ValueError(f"{value!r} is not an IANA timezone name (e.g. America/Chicago)")
        return value

    @field_validator("start")
    @classmethod
    def _calendar_era(cls, value: date) -> date:
        # Calendar files carry each zone's rules from 1970 on (older rules are not in every reader's
        # database either), and a program must end before year 9999 for its dates to be written.
        if not FIRST_PROGRAM_START <= value <= LAST_PROGRAM_START:
            raise ValueError(f"{value.isoformat()} is outside the years calendars are written for "
                             f"({FIRST_PROGRAM_START.isoformat()} to {LAST_PROGRAM_START.isoformat()})")
        return value

    @property
    def last_date(self) -> date:
        return self.start + timedelta(days=self.weeks * 7 - 1)


class Room(StrictModel):
    id: Id
    site: Optional[Annotated[str, Field(min_length=1)]] = None
    capacity: Optional[Annotated[int, Field(ge=1)]] = None
    virtual: bool = False
    address: Optional[str] = None

    @model_validator(mode="after")
    def _virtual_has_no_place(self) -> "Room":
        if self.virtual and self.site is not None:
            raise ValueError("a virtual room is a telehealth meeting and has no site")
        if self.virtual and self.capacity is not None:
            raise ValueError("a virtual room is a telehealth meeting and has no capacity")
        return self


class Block(StrictModel):
    """A candidate weekly group session."""

    id: Id
    day: Day
    start: StartClock
    end: EndClock
    room: Optional[Id] = None
    topic: Optional[Tag] = None
    audience: list[Tag] = Field(default_factory=list)
    modality: Optional[Modality] = None
    min_size: Annotated[int, Field(ge=1)] = 1
    max_size: Optional[Annotated[int, Field(ge=1)]] = None
    clinicians: Annotated[int, Field(ge=0, le=50)] = 1
    credentials: Optional[list[Tag]] = None
    pinned_clinicians: list[Id] = Field(default_factory=list)  # re-planning: keep these clinicians on the group

    @field_validator("credentials")
    @classmethod
    def _credentials_not_empty(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        if value is not None and not value:
            raise ValueError("list at least one credential, or leave the key out when any clinician may lead")
        return value

    @model_validator(mode="after")
    def _sane_times_and_sizes(self) -> "Block":
        start = parse_clock(self.start)
        end = parse_clock(self.end, allow_midnight_end=True)
        if end <= start:
            raise ValueError(f"end {self.end} must be after start {self.start} on the same day")
        if self.max_size is not None and self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is above max_size {self.max_size}")
        return self

    @cached_property
    def interval(self) -> tuple[int, int]:
        """[start, end) in minutes of the week (Monday 00:00 = 0); parsed once, read often by the model."""
        base = day_index(self.day) * MINUTES_PER_DAY
        return base + parse_clock(self.start), base + parse_clock(self.end, allow_midnight_end=True)

    @cached_property
    def minutes(self) -> int:
        return self.interval[1] - self.interval[0]


class Clinician(StrictModel):
    id: FileId
    name: Optional[str] = None
    email: Optional[str] = None
    credentials: list[Tag] = Field(default_factory=list)
    available: list[Window]
    max_weekly_hours: Optional[Hours] = None
    sites: Optional[list[Tag]] = None


class Patient(StrictModel):
    id: FileId
    name: Optional[str] = None
    email: Optional[str] = None
    population: Population = "adult"
    tags: list[Tag] = Field(default_factory=list)
    busy: list[BusyWindow] = Field(default_factory=list)
    travel_minutes: Annotated[float, BeforeValidator(_non_negative_number), Field(ge=0, le=MINUTES_PER_DAY)] = 0
    telehealth: bool = False
    sites: Optional[list[Tag]] = None
    min_weekly_hours: Optional[Hours] = None
    max_weekly_hours: Optional[Hours] = None
    required_topics: Optional[dict[Tag, Annotated[int, Field(ge=0, le=50)]]] = None
    admitted: Optional[IsoDate] = None
    discharge: Optional[IsoDate] = None
    primary_clinician: Optional[Id] = None
    prefer: list[Window] = Field(default_factory=list)
    pinned_blocks: list[Id] = Field(default_factory=list)  # re-planning: keep the patient in these groups

    @model_validator(mode="after")
    def _own_bounds_consistent(self) -> "Patient":
        # Minimum hours above the maximum are not refused: the patient cannot be placed and the schedule
        # says why (the format: "a patient who cannot be placed gets no blocks at all, and the schedule says why").
        if self.admitted is not None and self.discharge is not None and self.discharge < self.admitted:
            raise ValueError(f"discharge {self.discharge} is before admitted {self.admitted}")
        return self

    @property
    def all_tags(self) -> set[str]:
        """A patient carries its population as a tag."""
        return set(self.tags) | {self.population}


def _normalised_names(text: str) -> tuple[str, str]:
    """The text case and runs of spaces aside, as typed and decomposed (NFKD).

    Decomposed, "José" typed composed or decomposed is one name, and "Ana" still shows inside
    "Ana\u0301lia" (composing would merge the a with its accent). A name found in either form counts.
    """
    plain = " ".join(text.casefold().split())
    return plain, unicodedata.normalize("NFKD", " ".join(unicodedata.normalize("NFKD", text).casefold().split()))


class Problem(StrictModel):
    """A whole iop-sched/1 problem document."""

    format: Literal["iop-sched/1"]
    program: Program
    rooms: list[Room] = Field(default_factory=list)
    blocks: list[Block] = Field(default_factory=list)
    clinicians: list[Clinician] = Field(default_factory=list)
    patients: list[Patient] = Field(default_factory=list)

    # ---- derived look-ups (pure functions of the document) ----
    @cached_property
    def lowercase_patient_ids_and_names(self) -> frozenset[str]:
        """Every patient id, lower-cased, and `letter_only_patient_names`: what no UID may be read to contain
        (`calendars.event_uid`; one object per program, which it caches by)."""
        return frozenset(p.id.lower() for p in self.patients) | self.letter_only_patient_names

    @cached_property
    def letter_only_patient_names(self) -> frozenset[str]:
        """Patient names of one word of letters alone ("Bo", "Ed"), lower-cased: the only names a UID's
        letters could spell by chance (`calendars.event_uid`)."""
        return frozenset(p.name.strip().lower() for p in self.patients
                         if p.name and p.name.strip().isascii() and p.name.strip().isalpha())

    @cached_property
    def letter_only_patient_ids(self) -> frozenset[str]:
        """Patient ids made of letters alone, lower-cased: the ones a string of letters could spell by chance."""
        return frozenset(p.id.lower() for p in self.patients if p.id.isascii() and p.id.isalpha())

    @cached_property
    def patient_names_normalised(self) -> frozenset[str]:
        """Patient names as `names_a_patient` compares them."""
        return frozenset(form for p in self.patients if p.name for form in _normalised_names(p.name) if form)

    def names_a_patient(self, text: str) -> bool:
        """Whether a patient's name appears in `text` (case, runs of spaces and Unicode forms aside, even inside a longer word)."""
        forms = _normalised_names(text)
        return any(name in mine for name in self.patient_names_normalised for mine in forms)

    @cached_property
    def clinician_shown_names(self) -> dict[str, str]:
        """What calendars call each clinician: their name, or their id when the name holds a patient's name.

        A clinician and a patient may share a name, or a clinician's name may contain a patient's
        ("Carmen Kowalski" holds "Carmen Kowal"); no calendar may carry a patient's name, not even
        inside a longer word, so such a clinician is shown by id.
        """
        return {c.id: c.name if c.name and not self.names_a_patient(c.name) else c.id for c in self.clinicians}

    def room_of(self, block: Block) -> Optional[Room]:
        if block.room is None:
            return None
        for room in self.rooms:
            if room.id == block.room:
                return room
        return None

    def site_of(self, block: Block) -> Optional[str]:
        room = self.room_of(block)
        return room.site if room is not None else None

    def modality_of(self, block: Block) -> str:
        """Telehealth in a virtual room unless the block says otherwise; otherwise in person."""
        if block.modality is not None:
            return block.modality
        room = self.room_of(block)
        return "telehealth" if room is not None and room.virtual else "in_person"

    def seats_of(self, block: Block) -> Optional[int]:
        """The block's seats: max_size and the room's capacity, whichever is less (None: no limit given)."""
        limits = []
        if block.max_size is not None:
            limits.append(block.max_size)
        room = self.room_of(block)
        if room is not None and not room.virtual and room.capacity is not None:
            limits.append(room.capacity)
        return min(limits) if limits else None

    def capacity_of(self, block: Block) -> int:
        """Most patients the block may hold: its seats, and never more than there are patients."""
        seats = self.seats_of(block)
        return len(self.patients) if seats is None else min(seats, len(self.patients))

    def min_minutes_for(self, patient: Patient) -> int:
        hours = patient.min_weekly_hours
        if hours is None:
            hours = self.program.rules.min_hours_for(patient.population)
        return math.ceil(round(hours * 60, 6))

    def max_minutes_for(self, patient: Patient) -> int:
        hours = patient.max_weekly_hours
        if hours is None:
            hours = self.program.rules.max_hours_for(patient.population)
        return math.floor(round(hours * 60, 6))

    def max_minutes_per_day(self) -> Optional[int]:
        """The program's daily limit in whole minutes (None when there is none)."""
        hours = self.program.rules.max_hours_per_day
        return None if hours is None else math.floor(round(hours * 60, 6))

    def required_topics_for(self, patient: Patient) -> dict[str, int]:
        """The program's topics, overridden topic by topic by the patient's own (0 drops a topic)."""
        topics = dict(self.program.rules.required_topics)
        topics.update(patient.required_topics or {})
        return {topic: count for topic, count in topics.items() if count > 0}

    def calendar_dates_for(self, patient: Optional[Patient]) -> tuple[date, date]:
        """First and last date of a calendar: the program's, narrowed by admission and discharge."""
        first, last = self.program.start, self.program.last_date
        if patient is not None:
            if patient.admitted is not None:
                first = max(first, patient.admitted)
            if patient.discharge is not None:
                last = min(last, patient.discharge)
        return first, last

    def has_no_date_in_program(self, patient: Patient) -> bool:
        """Admitted after the program's last date, or discharged before its start (accepted; no session)."""
        first, last = self.calendar_dates_for(patient)
        return first > last


_PYDANTIC_TO_JSON_SCHEMA = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _standard_keywords(node: Any) -> None:
    """Pydantic leaves `ge`/`le`/`gt` as they are behind a before-validator; JSON Schema says minimum/maximum."""
    if isinstance(node, dict):
        for short, standard in _PYDANTIC_TO_JSON_SCHEMA.items():
            if short in node and isinstance(node[short], (int, float)) and not isinstance(node[short], bool):
                node[standard] = node.pop(short)
        for value in node.values():
            _standard_keywords(value)
    elif isinstance(node, list):
        for value in node:
            _standard_keywords(value)


def problem_json_schema() -> dict:
    """The problem document's JSON Schema, saying what the loader reads: `null` for an optional key too."""
    schema = Problem.model_json_schema()
    _standard_keywords(schema)
    hours = {"type": "number", "minimum": 0, "maximum": 168}
    by_population = {"type": "object", "properties": {population: hours for population in POPULATIONS},
                     "additionalProperties": False}
    definitions = schema.get("$defs", {})
    for name in ("min_weekly_hours", "max_weekly_hours"):
        definitions["Rules"]["properties"][name]["anyOf"] = [hours, by_population]
    for model in ("Window", "BusyWindow", "Block"):
        for name in ("start", "end"):
            prop = definitions.get(model, {}).get("properties", {}).get(name)
            if prop is not None and prop.get("type") == "string":
                prop["pattern"] = "^[0-9]{2}:[0-9]{2}$"
    for definition in [schema, *schema.get("$defs", {}).values()]:
        required = set(definition.get("required", ()))
        for name, prop in definition.get("properties", {}).items():
            if name in required:
                continue
            choices = prop.get("anyOf")
            if choices is None:
                meta = {key: prop.pop(key) for key in ("title", "description", "default") if key in prop}
                definition["properties"][name] = {"anyOf": [prop, {"type": "null"}], **meta}
            elif {"type": "null"} not in choices:
                choices.append({"type": "null"})
    return schema


__all__ = [
    "problem_json_schema", "FORMAT", "DAYS", "Window", "BusyWindow", "Rules", "Program", "Room", "Block",
    "Clinician", "Patient", "Problem",
]
