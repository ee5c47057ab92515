"""Calendars: RFC 5545 that every reader shows at the right time, and that discloses nothing about patients.

Every calendar is read back with two readers that disagree on what to trust:
icalendar + zoneinfo (trusts the TZID's name) and vobject (trusts the file's own
VTIMEZONE, as Outlook and the Radicale server do). Both must give, for every
occurrence, the expected local wall-clock time and UTC instant, on both sides
of daylight-saving changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

import pytest
import vobject
import vobject.icalendar
from dateutil.rrule import rrulestr
from dateutil.tz.tz import _tzicalvtz
from icalendar import Calendar

from iop_sched.calendars import PATIENT_CALENDAR_NAME, PRODID, build_calendars, event_uid, series_for
from iop_sched.loading import load_problem, problem_from_data
from iop_sched.schema import Problem

UTC = timezone.utc
UTC_NAMES = ("UTC", "Etc/UTC")
NOW = datetime(2027, 2, 1, 12, 30, 15, tzinfo=UTC)
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PROGRAM_NAME = "Lakeside Recovery Intensive Outpatient"

PATIENTS = [
    {"id": "P0001", "name": "Ana Rivera", "email": "ana.rivera@mail.example"},
    {"id": "P0002", "name": "Ben Nguyen", "email": "ben@mail.example", "admitted": "2027-03-10",
     "discharge": "2027-04-23", "telehealth": True},
    {"id": "P0003", "name": "Carla Okafor", "telehealth": True},
    {"id": "P0004", "name": "Dev Schmidt"},
    {"id": "P0005", "name": "Eli Park"},
]
PATIENT_NAMES = ["Ana Rivera", "Ben Nguyen", "Carla Okafor", "Dev Schmidt", "Eli Park", "Rivera", "Nguyen", "Okafor"]
PATIENT_EMAILS = ["ana.rivera@mail.example", "ben@mail.example"]
TOPICS = ["relapse_prevention", "mindfulness", "skills", "process"]


def problem_data(tz: str = "America/Chicago", start: str = "2027-03-01", weeks: int = 12,
                 closures: Iterable[str] = (), title: Optional[str] = None, bounded: bool = True) -> dict:
    """A small program; `bounded=False` drops admission dates (for programs starting later in the year)."""
    program = {"name": PROGRAM_NAME, "timezone": tz, "start": start, "weeks": weeks, "closures": list(closures)}
    if title is not None:
        program["patient_event_title"] = title
    return {
        "format": "iop-sched/1",
        "program": program,
        "rooms": [
            {"id": "oak", "site": "main", "capacity": 12, "address": "12 Lake Rd, Room Oak"},
            {"id": "cedar", "site": "main", "capacity": 8},
            {"id": "zoom", "virtual": True},
        ],
        "blocks": [
            {"id": "mon-ev", "day": "mon", "start": "18:00", "end": "21:00", "room": "oak", "topic": "relapse_prevention"},
            {"id": "wed-zoom", "day": "wed", "start": "19:30", "end": "22:00", "room": "zoom", "topic": "mindfulness"},
            {"id": "sat-am", "day": "sat", "start": "09:00", "end": "12:00", "room": "cedar"},
            {"id": "sun-early", "day": "sun", "start": "00:30", "end": "00:50", "room": "cedar", "topic": "skills"},
            {"id": "sun-late", "day": "sun", "start": "03:30", "end": "04:30", "room": "cedar", "topic": "skills"},
            {"id": "thu-am", "day": "thu", "start": "09:00", "end": "12:00", "room": "oak", "topic": "process"},
        ],
        "clinicians": [
            {"id": "ortiz", "name": "Dana Ortiz", "email": "dortiz@lakeside.example",
             "available": [{"days": ALL_DAYS, "start": "00:00", "end": "23:59"}]},
            {"id": "chen", "name": "Wei Chen", "available": [{"days": ALL_DAYS, "start": "00:00", "end": "23:59"}]},
            {"id": "idle", "available": [{"days": ALL_DAYS, "start": "00:00", "end": "23:59"}]},
        ],
        "patients": [{key: value for key, value in patient.items()
                      if bounded or key not in ("admitted", "discharge")} for patient in PATIENTS],
    }


def make_problem(**kwargs) -> Problem:
    return problem_from_data(problem_data(**kwargs))


def make_schedule(problem: Problem, patient_blocks: dict[str, list[str]], staff: dict[str, list[str]]) -> dict:
    """A schedule document: every patient listed, every block listed (closed ones with empty patients)."""
    blocks = []
    for block in problem.blocks:
        members = [pid for pid, own in patient_blocks.items() if block.id in own]
        blocks.append({"id": block.id, "patients": members, "clinicians": staff.get(block.id, [])})
    patients = []
    for patient in problem.patients:
        own = patient_blocks.get(patient.id)
        patients.append({"id": patient.id, "placed": own is not None, "blocks": own or [],
                         "weekly_hours": 0.0, "reasons": [] if own is not None else ["cannot be placed"]})
    return {"format": "iop-sched-schedule/1", "status": "optimal", "blocks": blocks, "patients": patients}


DEFAULT_ASSIGNMENT = {
    "P0001": ["mon-ev", "sat-am"],
    "P0002": ["mon-ev", "wed-zoom"],
    "P0003": ["wed-zoom"],
    "P0005": [],  # placed with no blocks: no calendar
}
DEFAULT_STAFF = {"mon-ev": ["ortiz", "chen"], "wed-zoom": ["chen"], "sat-am": ["ortiz"], "thu-am": ["idle"]}


def default_files(**kwargs) -> dict[str, bytes]:
    problem = make_problem(**kwargs)
    return build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)


# ---------------------------------------------------------------- the two readers


@dataclass(frozen=True, order=True)
class Occurrence:
    start_local: datetime  # naive wall-clock time in the program's zone
    start_utc: datetime
    end_local: datetime
    end_utc: datetime


def read_with_icalendar(data: bytes) -> list[Occurrence]:
    """Reader 1: icalendar parses, zoneinfo resolves the TZID by name, dateutil expands RRULE minus EXDATE."""
    occurrences = []
    for event in Calendar.from_ical(data).walk("VEVENT"):
        tzid = event["DTSTART"].params.get("TZID") or utc_name(event["DTSTART"].dt)
        assert (event["DTEND"].params.get("TZID") or utc_name(event["DTEND"].dt)) == tzid
        zone = ZoneInfo(tzid)
        local_start = event["DTSTART"].dt.replace(tzinfo=None)
        length = event["DTEND"].dt.replace(tzinfo=None) - local_start
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=local_start.replace(tzinfo=zone))
        starts = [start.replace(tzinfo=None) for start in rule]
        excluded = set()
        for tzid_of_exdate, local in exdates(event):
            assert tzid_of_exdate == tzid
            assert local in starts, f"EXDATE {local} matches no occurrence exactly"
            excluded.add(local)
        for local in starts:
            if local not in excluded:
                occurrences.append(Occurrence(
                    local, local.replace(tzinfo=zone).astimezone(UTC),
                    local + length, (local + length).replace(tzinfo=zone).astimezone(UTC)))
    return sorted(occurrences)


def utc_name(value: datetime) -> str:
    """A time without TZID must be in UTC form (...Z): floating times are not allowed."""
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), f"{value} is neither TZID nor UTC"
    return "UTC"


def exdates(event) -> list[tuple[str, datetime]]:
    values = event.get("EXDATE")
    if values is None:
        return []
    lists = values if isinstance(values, list) else [values]
    return [(item.params.get("TZID") or utc_name(item.dt), item.dt.replace(tzinfo=None))
            for group in lists for item in group.dts]


def forget_vobject_timezone(tzid: str) -> None:
    """vobject keeps the first VTIMEZONE it saw for a TZID for the whole process; each file must bring its own."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    if tzid != "UTC":
        registry.pop(tzid, None)


def read_with_vobject(data: bytes, tzid: str) -> list[Occurrence]:
    """Reader 2: vobject builds the tzinfo from the file's VTIMEZONE and expands with it."""
    forget_vobject_timezone(tzid)
    calendar = vobject.readOne(data.decode("utf-8"))
    occurrences = []
    for event in getattr(calendar, "vevent_list", []):
        start = event.dtstart.value
        if tzid not in UTC_NAMES:  # vobject treats a VTIMEZONE equal to UTC as UTC
            assert isinstance(start.tzinfo, _tzicalvtz), "vobject must use the file's VTIMEZONE"
        length = event.dtend.value - start
        for occurrence in event.getrruleset(addRDate=True):
            end = occurrence + length
            occurrences.append(Occurrence(occurrence.replace(tzinfo=None), occurrence.astimezone(UTC),
                                          end.replace(tzinfo=None), end.astimezone(UTC)))
    forget_vobject_timezone(tzid)
    return sorted(occurrences)


def expected(tz: str, dates: Iterable[date], start: str, end: str) -> list[Occurrence]:
    """What a correct reader shows: the same wall-clock time on every date, converted with the IANA zone."""
    zone = ZoneInfo(tz)
    start_time, end_time = time.fromisoformat(start), time.fromisoformat(end)
    rows = []
    for day in dates:
        local_start, local_end = datetime.combine(day, start_time), datetime.combine(day, end_time)
        rows.append(Occurrence(local_start, local_start.replace(tzinfo=zone).astimezone(UTC),
                               local_end, local_end.replace(tzinfo=zone).astimezone(UTC)))
    return sorted(rows)


def weekly(first: date, last: date, skip: Iterable[date] = ()) -> list[date]:
    skipped = set(skip)
    days = []
    while first <= last:
        if first not in skipped:
            days.append(first)
        first += timedelta(weeks=1)
    return days


def assert_both_readers(data: bytes, tz: str, want: list[Occurrence]) -> None:
    assert read_with_icalendar(data) == want
    assert read_with_vobject(data, tz) == want


def events(data: bytes) -> list:
    return list(Calendar.from_ical(data).walk("VEVENT"))


def unfolded_text(data: bytes) -> str:
    """The content lines, unfolded, one per "\\n"-terminated line."""
    return data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "").replace("\r\n", "\n")


# ---------------------------------------------------------------- files and headers


def test_one_file_per_placed_patient_and_staffing_clinician():
    files = default_files()
    assert set(files) == {
        "calendars/program.ics",
        "calendars/patients/P0001.ics", "calendars/patients/P0002.ics", "calendars/patients/P0003.ics",
        "calendars/clinicians/ortiz.ics", "calendars/clinicians/chen.ics",
    }  # not P0004 (unplaced), P0005 (no blocks) or idle (only on a closed block)
    assert all(isinstance(data, bytes) for data in files.values())


def test_calendar_headers():
    files = default_files()
    for path, data in files.items():
        calendar = Calendar.from_ical(data)
        assert str(calendar["VERSION"]) == "2.0"
        assert str(calendar["PRODID"]) == PRODID
        assert str(calendar["CALSCALE"]) == "GREGORIAN"
        assert "METHOD" not in calendar
        assert str(calendar["X-WR-TIMEZONE"]) == "America/Chicago"
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    names = {path: str(Calendar.from_ical(data)["X-WR-CALNAME"]) for path, data in files.items()}
    assert names["calendars/program.ics"] == PROGRAM_NAME
    assert PROGRAM_NAME in names["calendars/clinicians/ortiz.ics"] and "Dana Ortiz" in names["calendars/clinicians/ortiz.ics"]
    assert names["calendars/patients/P0001.ics"] == PATIENT_CALENDAR_NAME == "Appointments"


@pytest.mark.parametrize("program_name, clinician_name", [
    ("Riverside Recovery, Inc.", "Smith, Jane"),
    ("Evening track\nRiverside", "Jane Smith\nLADC"),
    ("Back\\slash; semi", "Jane\rSmith"),
])
def test_calendar_names_are_escaped_text_both_readers_read_whole(program_name, clinician_name):
    data = problem_data()
    data["program"]["name"] = program_name
    data["clinicians"][0]["name"] = clinician_name
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)
    want_program = program_name.replace("\r", "\n")
    want_clinician = f"{program_name}: {clinician_name}".replace("\r", "\n")
    for path, want in (("calendars/program.ics", want_program), ("calendars/clinicians/ortiz.ics", want_clinician)):
        text = files[path].decode("utf-8")
        assert "\r" not in text.replace("\r\n", "")  # no bare CR: vobject refuses such a file
        assert vobject.readOne(text).contents["x-wr-calname"][0].value == want
        raw = str(Calendar.from_ical(files[path])["X-WR-CALNAME"])  # icalendar keeps an X- property as written
        escaped = want.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        assert raw == escaped  # RFC 5545 3.3.11 TEXT


def test_control_characters_in_names_addresses_and_topics_never_reach_a_calendar():
    # RFC 5545 TEXT allows no control character but tab; names come from clinic systems as they are
    weird = "A\x01B\x7fC\tD\x0bE"
    data = problem_data()
    data["program"]["name"] = f"Lakeside{weird}"
    data["clinicians"][0]["name"] = f"Dana{weird}"
    data["rooms"][0]["address"] = f"12 Lake Rd{weird}"
    data["blocks"][0]["topic"] = f"relapse{weird}"
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)
    for path, blob in files.items():
        text = unfolded_text(blob)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), path
        vobject.readOne(blob.decode("utf-8"))
    assert "12 Lake RdABC\tDE" in str(events(files["calendars/patients/P0001.ics"])[0]["LOCATION"])


def test_crlf_line_ends_and_75_octet_folding():
    data = problem_data()
    data["clinicians"][0]["name"] = "Dana Ortiz-Ångström Łukasiewicz Ñúñez " * 4
    data["rooms"][0]["address"] = "Straße der Pariser Kommune 12, Gebäude Ö, Raum 3.14 — Eingang Süd " * 3
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)
    folded = 0
    for data_bytes in files.values():
        assert data_bytes.endswith(b"\r\n")
        assert b"\n" not in data_bytes.replace(b"\r\n", b"")
        assert b"\r" not in data_bytes.replace(b"\r\n", b"")
        lines = data_bytes.split(b"\r\n")[:-1]
        assert all(len(line) <= 75 for line in lines)
        for line in lines:
            line.decode("utf-8")  # folding never splits a multi-byte character
        folded += sum(line.startswith(b" ") for line in lines)
    assert folded > 0
    assert data["rooms"][0]["address"].strip() in str(events(files["calendars/patients/P0001.ics"])[0]["LOCATION"])


# ---------------------------------------------------------------- event properties


def test_every_event_has_the_required_properties_and_nothing_disclosing():
    files = default_files()
    for path, data in files.items():
        text = unfolded_text(data)
        assert "ATTENDEE" not in text and "ORGANIZER" not in text
        for event in events(data):
            assert str(event["CLASS"]) == "PRIVATE"
            assert event["DTSTAMP"].dt == NOW
            assert re.search(r"^DTSTAMP:20270201T123015Z$", text, re.M)
            assert event["DTSTART"].params["TZID"] == "America/Chicago"
            assert event["DTEND"].params["TZID"] == "America/Chicago"
            rule = event["RRULE"]
            assert rule["FREQ"] == ["WEEKLY"]
            assert rule["UNTIL"][0].utcoffset() == timedelta(0)
            assert re.fullmatch(r"[a-z]+@iop-sched", str(event["UID"]))
        assert re.findall(r"^RRULE:FREQ=WEEKLY;UNTIL=\d{8}T\d{6}Z$", text, re.M)
        assert re.findall(r"^DTSTART;TZID=America/Chicago:\d{8}T\d{6}$", text, re.M)


def test_dtstamp_defaults_to_now_in_utc():
    problem = make_problem()
    before = datetime.now(UTC).replace(microsecond=0)
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF))
    after = datetime.now(UTC)
    stamp = events(files["calendars/program.ics"])[0]["DTSTAMP"].dt
    assert before <= stamp <= after


def test_uids_are_stable_across_builds_and_unique_across_calendars():
    first = default_files()
    problem = make_problem()
    second = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF),
                             now=NOW + timedelta(days=3))
    uids = {path: [str(e["UID"]) for e in events(data)] for path, data in first.items()}
    assert uids == {path: [str(e["UID"]) for e in events(data)] for path, data in second.items()}
    everything = [uid for path_uids in uids.values() for uid in path_uids]
    assert len(everything) == len(set(everything)) == 12  # 3 program + 2+2 clinician + 2+2+1 patient events


def test_uid_changes_with_the_assignment_and_never_spells_the_patient_id():
    problem = make_problem()
    block = problem.blocks[0]
    patient_uid = event_uid("patient", problem, block, "P0001", "2027-03-01", "2027-05-23", avoid="P0001")
    assert patient_uid == event_uid("patient", problem, block, "P0001", "2027-03-01", "2027-05-23", avoid="P0001")
    assert patient_uid != event_uid("patient", problem, block, "P0002", "2027-03-01", "2027-05-23", avoid="P0002")
    assert patient_uid != event_uid("patient", problem, block, "P0001", "2027-03-08", "2027-05-23", avoid="P0001")
    assert patient_uid != event_uid("clinician", problem, block, "P0001")
    # the same block id at another time is another series: a new UID, not the old one with a new time that a
    # client holding SEQUENCE 0 may keep showing; in another room it is the same series (a re-plan raises SEQUENCE)
    for change in ({"start": "17:30", "end": "20:30"}, {"day": "tue"}):
        moved = block.model_copy(update=change)
        assert patient_uid != event_uid("patient", problem, moved, "P0001", "2027-03-01", "2027-05-23", avoid="P0001")
    elsewhere = block.model_copy(update={"room": "r2"})
    assert patient_uid == event_uid("patient", problem, elsewhere, "P0001", "2027-03-01", "2027-05-23", avoid="P0001")
    for letters_only_id in ("ab", "abc", "zq"):
        uid = event_uid("patient", problem, block, letters_only_id, avoid=letters_only_id)
        assert letters_only_id not in uid


def test_no_uid_spells_any_patients_id():
    # twenty two-letter ids: a string of 55 random letters would spell one of them about two times in three
    data = problem_data()
    short_ids = [a + b for a, b in zip("abcdefghijklmnopqrst", "uvwxyzuvwxyzuvwxyzuv")]
    data["patients"] += [{"id": pid} for pid in short_ids]
    problem = problem_from_data(data)
    for block in problem.blocks:
        for owner in ("P0001", *short_ids[:5]):
            uid = event_uid("patient", problem, block, owner, "2027-03-01", "2027-05-23", avoid=owner)
            assert not any(pid in uid for pid in short_ids)
    # every UID, not only a patient's own: the format says UIDs "carry no patient id or name"
    for block in problem.blocks:
        for kind, owner in (("clinician", ("ortiz",)), ("program", ())):
            uid = event_uid(kind, problem, block, *owner)
            assert not any(pid in uid for pid in short_ids)


def test_no_uid_spells_a_patient_id_even_when_no_salt_avoids_them():
    # 130 two-letter ids and a one-letter one: salts run out, the letters are spelled apart
    data = problem_data()
    short_ids = [first + second for first in "aeiou" for second in "abcdefghijklmnopqrstuvwxyz"] + ["q"]
    data["patients"] += [{"id": pid} for pid in short_ids]
    problem = problem_from_data(data)
    for block in problem.blocks:
        for kind, owner in (("patient", (short_ids[0], "2027-03-01", "2027-05-23")), ("clinician", ("ortiz",)),
                            ("program", ())):
            uid = event_uid(kind, problem, block, *owner, avoid=owner[0] if kind == "patient" else "")
            assert uid == event_uid(kind, problem, block, *owner, avoid=owner[0] if kind == "patient" else "")
            assert not any(pid in uid for pid in short_ids), uid


SPELLED_APART = [first + second for first in "aeiou" for second in "abcdefghijklmnopqrstuvwxyz"] + ["q"]


@pytest.mark.parametrize("ids", [["sched", "R77"], ["Ed"], ["d"], [f"{letter}@iop" for letter in "abcdefghijklmnopqrstuvwxyz"],
                                 ["y@iop-sched"], ["a-b", "c.d"],
                                 SPELLED_APART + [f"{letter}@iop" for letter in "abcdefghijklmnopqrstuvwxyz"],
                                 # no salt avoids these: the letters are spelled apart, by neither "-" nor "."
                                 SPELLED_APART + [f"{a}{separator}{b}" for separator in "-." for a in "bcdfg"
                                                  for b in "bcdfghjklmnprstvwxyz"]])
def test_no_uid_holds_a_patient_id_in_its_domain_or_across_its_separators(ids):
    """The domain "@iop-sched" holds "sched", "ed", "d"...: left out then; ids with "@" or separators are avoided."""
    data = problem_data()
    data["patients"] += [{"id": pid} for pid in ids]
    problem = problem_from_data(data)
    for block in problem.blocks:
        for kind, owner in (("patient", (ids[0], "2027-03-01", "2027-05-23")), ("clinician", ("ortiz",)), ("program", ())):
            uid = event_uid(kind, problem, block, *owner, avoid=owner[0] if kind == "patient" else "")
            assert not any(pid.lower() in uid for pid in ids), uid
            assert uid == event_uid(kind, problem, block, *owner, avoid=owner[0] if kind == "patient" else "")
    assert event_uid("program", problem_from_data(problem_data()), problem.blocks[0]).endswith("@iop-sched")


def test_no_uid_spells_a_patients_one_word_name():
    """A name of one word ("Bo") could be spelled by a UID's letters by chance, and "Ed" is in "@iop-sched"."""
    data = problem_data()
    names = ["Bo", "Ed", "Al", "Jo", "Vi", "Ty", "Cy", "Di"]
    data["patients"] += [{"id": f"R{k}", "name": name} for k, name in enumerate(names)]
    data["patients"][0]["name"] = " Li "
    problem = problem_from_data(data)
    for block in problem.blocks:
        for kind, owner in (("patient", ("R0", "2027-03-01", "2027-05-23")), ("clinician", ("ortiz",)), ("program", ())):
            uid = event_uid(kind, problem, block, *owner, avoid=owner[0] if kind == "patient" else "")
            assert not any(name.lower() in uid for name in names + ["li"]), uid


# ---------------------------------------------------------------- occurrences and DST, two readers


DST_CASES = [
    # zone, program start, a Monday before and a Monday after the change, the Sunday of the change
    ("America/Chicago", "2027-03-01", date(2027, 3, 14)),   # northern spring forward
    ("America/Chicago", "2027-10-04", date(2027, 11, 7)),   # northern fall back
    ("Australia/Sydney", "2027-03-01", date(2027, 4, 4)),   # southern autumn: back
    ("Australia/Sydney", "2027-09-06", date(2027, 10, 3)),  # southern spring: forward
    ("Europe/London", "2027-03-01", date(2027, 3, 28)),
    ("Europe/London", "2027-10-04", date(2027, 10, 31)),
    # +00:00 a year before the start (Ramadan): a definition that looks like UTC over 2000-2020 is
    # not used by vobject, which then reads the zone's name without its offsets
    ("Africa/Casablanca", "2027-03-01", date(2027, 3, 14)),
    # +00:00 from the last change of a definition written change by change (the British rules of the 1970s):
    # over 2000-2020 it would look like UTC to vobject as well
    ("Europe/London", "1978-09-04", date(1978, 10, 29)),
    ("Europe/Lisbon", "1980-09-01", date(1980, 9, 28)),
]


@pytest.mark.parametrize("tz, start, change", DST_CASES)
def test_same_wall_clock_time_on_both_sides_of_dst_in_both_readers(tz, start, change):
    problem = make_problem(tz=tz, start=start, bounded=False)
    assignment = {"P0001": ["mon-ev", "sun-early", "sun-late"]}
    staff = {"mon-ev": ["ortiz"], "sun-early": ["ortiz"], "sun-late": ["chen"]}
    files = build_calendars(problem, make_schedule(problem, assignment, staff), now=NOW)
    first, last = problem.calendar_dates_for(None)
    mondays = weekly(first, last)
    sundays = weekly(first + timedelta(days=6), last)
    assert mondays[0] < change < mondays[-1] and change in sundays
    want_patient = sorted(expected(tz, mondays, "18:00", "21:00") + expected(tz, sundays, "00:30", "00:50")
                          + expected(tz, sundays, "03:30", "04:30"))
    assert_both_readers(files["calendars/patients/P0001.ics"], tz, want_patient)
    assert_both_readers(files["calendars/program.ics"], tz, want_patient)
    assert_both_readers(files["calendars/clinicians/chen.ics"], tz, expected(tz, sundays, "03:30", "04:30"))
    # the UTC offset really differs across the change (the test would be empty otherwise)
    offsets = {row.start_local - row.start_utc.replace(tzinfo=None) for row in want_patient}
    assert len(offsets) == 2


def test_chicago_spot_values_independent_of_zoneinfo():
    """18:00 Chicago is 00:00Z the next day before 14 March 2027 and 23:00Z after it, in both readers."""
    problem = make_problem()
    files = build_calendars(problem, make_schedule(problem, {"P0001": ["mon-ev"]}, {"mon-ev": ["ortiz"]}), now=NOW)
    for rows in (read_with_icalendar(files["calendars/patients/P0001.ics"]),
                 read_with_vobject(files["calendars/patients/P0001.ics"], "America/Chicago")):
        assert rows[0].start_utc == datetime(2027, 3, 2, 0, 0, tzinfo=UTC)
        assert rows[1].start_utc == datetime(2027, 3, 9, 0, 0, tzinfo=UTC)
        assert rows[2].start_utc == datetime(2027, 3, 15, 23, 0, tzinfo=UTC)
        assert rows[-1].start_utc == datetime(2027, 5, 17, 23, 0, tzinfo=UTC)
        assert {row.start_local.time() for row in rows} == {time(18, 0)}
        assert len(rows) == 12


def test_last_session_at_an_ambiguous_time_is_kept():
    """The program ends on the night clocks go back; 01:30 happens twice, and the session must stay."""
    tz = "America/Chicago"
    data = problem_data(tz=tz, start="2027-08-16", bounded=False)
    data["blocks"].append({"id": "sun-night", "day": "sun", "start": "01:30", "end": "01:50", "room": "cedar"})
    problem = problem_from_data(data)
    assert problem.calendar_dates_for(None)[1] == date(2027, 11, 7)
    files = build_calendars(problem, make_schedule(problem, {"P0001": ["sun-night"]}, {"sun-night": ["ortiz"]}),
                            now=NOW)
    sundays = weekly(date(2027, 8, 22), date(2027, 11, 7))
    want = expected(tz, sundays, "01:30", "01:50")
    assert want[-1].start_utc == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # the first 01:30 (CDT), per RFC 5545
    assert_both_readers(files["calendars/patients/P0001.ics"], tz, want)


@pytest.mark.parametrize("tz, dtstart", [
    ("Asia/Tokyo", "DTSTART;TZID=Asia/Tokyo:20270301T180000"),
    ("Etc/UTC", "DTSTART;TZID=Etc/UTC:20270301T180000"),
    ("UTC", "DTSTART:20270301T180000Z"),  # RFC 5545 forbids TZID on UTC times; icalendar writes the Z form
])
def test_zone_without_dst(tz, dtstart):
    problem = make_problem(tz=tz)
    files = build_calendars(problem, make_schedule(problem, {"P0001": ["mon-ev"]}, {"mon-ev": ["ortiz"]}), now=NOW)
    data = files["calendars/patients/P0001.ics"]
    assert dtstart in unfolded_text(data)
    first, last = problem.calendar_dates_for(None)
    assert_both_readers(data, tz, expected(tz, weekly(first, last), "18:00", "21:00"))


def test_vobject_really_trusts_the_embedded_vtimezone():
    """Sanity check of the reader: a deliberately wrong VTIMEZONE moves vobject's times, not icalendar's."""
    problem = make_problem()
    files = build_calendars(problem, make_schedule(problem, {"P0001": ["mon-ev"]}, {"mon-ev": ["ortiz"]}), now=NOW)
    text = files["calendars/patients/P0001.ics"].decode()
    wrong = re.sub(r"BEGIN:VTIMEZONE.*END:VTIMEZONE\r\n",
                   "BEGIN:VTIMEZONE\r\nTZID:America/Chicago\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
                   "TZOFFSETFROM:-0300\r\nTZOFFSETTO:-0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n", text, flags=re.S)
    assert wrong != text
    by_file = read_with_vobject(wrong.encode(), "America/Chicago")
    assert {row.start_utc.time() for row in by_file} == {time(21, 0)}  # 18:00 at -03:00
    by_name = read_with_icalendar(wrong.encode())
    assert by_name[0].start_utc == datetime(2027, 3, 2, 0, 0, tzinfo=UTC)
    # and the real file is read with its own (correct) definition afterwards
    right = read_with_vobject(text.encode(), "America/Chicago")
    assert right[2].start_utc == datetime(2027, 3, 15, 23, 0, tzinfo=UTC)


# ---------------------------------------------------------------- closures and admission


def test_closures_on_first_last_and_middle_date():
    closures = ["2027-03-01", "2027-04-05", "2027-05-17", "2027-03-03", "2027-05-31"]
    problem = make_problem(closures=closures)
    files = build_calendars(problem, make_schedule(problem, {"P0001": ["mon-ev"], "P0003": ["wed-zoom"]},
                                                   {"mon-ev": ["ortiz"], "wed-zoom": ["chen"]}), now=NOW)
    data = files["calendars/patients/P0001.ics"]
    text = unfolded_text(data)
    assert "DTSTART;TZID=America/Chicago:20270308T180000" in text  # first Monday closed: moved a week on
    assert "UNTIL=20270510T230000Z" in text  # last Monday closed: ends a week early (18:00 CDT)
    assert "EXDATE;TZID=America/Chicago:20270405T180000" in text  # exact match of DTSTART's TZID and time
    closed = {date.fromisoformat(day) for day in closures}
    mondays = weekly(date(2027, 3, 1), date(2027, 5, 17), skip=closed)
    assert len(mondays) == 9
    assert_both_readers(data, "America/Chicago", expected("America/Chicago", mondays, "18:00", "21:00"))
    wednesdays = weekly(date(2027, 3, 3), date(2027, 5, 19), skip=closed)
    assert_both_readers(files["calendars/patients/P0003.ics"], "America/Chicago",
                        expected("America/Chicago", wednesdays, "19:30", "22:00"))
    assert "EXDATE" not in unfolded_text(files["calendars/patients/P0003.ics"])  # only its first date closed
    program_rows = read_with_icalendar(files["calendars/program.ics"])
    assert not {row.start_local.date() for row in program_rows} & closed


def test_no_event_when_every_occurrence_is_closed():
    data = problem_data(closures=["2027-03-29"])
    data["patients"][3].update({"admitted": "2027-03-29", "discharge": "2027-04-04"})
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, {"P0004": ["mon-ev", "sat-am"]},
                                                   {"mon-ev": ["ortiz"], "sat-am": ["ortiz"]}), now=NOW)
    patient_events = events(files["calendars/patients/P0004.ics"])
    assert len(patient_events) == 1  # mon-ev (only 29 March, closed) is gone; sat-am on 3 April stays
    assert read_with_icalendar(files["calendars/patients/P0004.ics"])[0].start_local == datetime(2027, 4, 3, 9, 0)
    assert series_for(problem.blocks[0], date(2027, 3, 29), date(2027, 4, 4), problem.program.closures) is None


@pytest.mark.parametrize("dates", [{"admitted": "2027-06-01"}, {"discharge": "2027-02-15"}])
def test_a_patient_outside_the_program_dates_gets_a_calendar_without_sessions(dates):
    # accepted (the format does not make it an error); the calendar is written, both readers read it empty
    data = problem_data()
    data["patients"][3].update(dates)
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, {"P0004": ["mon-ev"]}, {"mon-ev": ["ortiz"]}), now=NOW)
    data_file = files["calendars/patients/P0004.ics"]
    assert events(data_file) == []
    assert read_with_icalendar(data_file) == [] and read_with_vobject(data_file, "America/Chicago") == []
    assert len(read_with_icalendar(files["calendars/program.ics"])) == 12


def test_admitted_and_discharge_bound_the_patient_calendar():
    files = default_files()
    data = files["calendars/patients/P0002.ics"]  # admitted Wed 10 March, discharged Fri 23 April
    mondays = weekly(date(2027, 3, 15), date(2027, 4, 19))
    wednesdays = weekly(date(2027, 3, 10), date(2027, 4, 21))
    want = sorted(expected("America/Chicago", mondays, "18:00", "21:00")
                  + expected("America/Chicago", wednesdays, "19:30", "22:00"))
    assert_both_readers(data, "America/Chicago", want)
    # staff calendars keep the whole program range
    program_mondays = [row for row in read_with_icalendar(files["calendars/clinicians/ortiz.ics"])
                       if row.start_local.weekday() == 0]
    assert len(program_mondays) == 12


def test_series_for_handles_every_edge():
    problem = make_problem(closures=["2027-03-01", "2027-03-15", "2027-03-22"])
    monday = problem.blocks[0]
    series = series_for(monday, date(2027, 3, 1), date(2027, 3, 22), problem.program.closures)
    assert series is not None
    assert (series.first, series.last, series.excluded) == (date(2027, 3, 8), date(2027, 3, 8), ())
    assert series.dates() == [date(2027, 3, 8)]
    series = series_for(monday, date(2027, 3, 2), date(2027, 4, 5), problem.program.closures)
    assert series.first == date(2027, 3, 8) and series.last == date(2027, 4, 5)
    assert series.excluded == (date(2027, 3, 15), date(2027, 3, 22))


# ---------------------------------------------------------------- privacy


def test_no_calendar_carries_a_patient_name_or_email():
    for data in default_files().values():
        text = unfolded_text(data)
        for secret in PATIENT_NAMES + PATIENT_EMAILS:
            assert secret not in text
            assert secret.replace(" ", "\\ ") not in text


def test_patient_calendar_is_neutral():
    files = default_files(title="Visit")
    patient_ids = [patient["id"] for patient in PATIENTS]
    for path, data in files.items():
        if not path.startswith("calendars/patients/"):
            continue
        text = unfolded_text(data)
        for patient_id in patient_ids:
            assert patient_id not in text and patient_id.lower() not in text.lower()
        for word in TOPICS + [PROGRAM_NAME, "Lakeside", "Recovery", "oak", "cedar", "zoom", "Dana Ortiz", "ortiz",
                              "Wei Chen", "DESCRIPTION", "CATEGORIES", "COMMENT", "URL", "CONTACT"]:
            assert word not in text, (path, word)
        calendar = Calendar.from_ical(data)
        assert str(calendar["X-WR-CALNAME"]) == "Appointments"
        for event in calendar.walk("VEVENT"):
            assert str(event["SUMMARY"]) == "Visit"
            assert set(event.keys()) <= {"UID", "DTSTAMP", "DTSTART", "DTEND", "RRULE", "EXDATE", "CLASS",
                                         "SUMMARY", "LOCATION"}
    locations = [str(e.get("LOCATION")) for e in events(files["calendars/patients/P0002.ics"])]
    assert locations == ["12 Lake Rd, Room Oak", "Online"]  # in person: the address; telehealth: "Online"


def test_patient_calendar_without_room_address_has_no_location():
    files = default_files()
    by_summary = {e["DTSTART"].dt.weekday(): e for e in events(files["calendars/patients/P0001.ics"])}
    assert "LOCATION" not in by_summary[5]  # sat-am meets in cedar, which has no address


def test_staff_calendars_name_topic_room_and_patients_by_id_only():
    files = default_files()
    program = {e["DTSTART"].dt.weekday(): e for e in events(files["calendars/program.ics"])}
    monday = program[0]
    assert str(monday["SUMMARY"]) == "relapse_prevention (oak)"
    assert str(monday["LOCATION"]) == "12 Lake Rd, Room Oak"
    description = str(monday["DESCRIPTION"])
    assert "P0001" in description and "P0002" in description and "P0003" not in description
    assert "Dana Ortiz" in description and "Wei Chen" in description
    assert str(program[5]["SUMMARY"]) == "Group (cedar)"  # sat-am has no topic
    assert str(program[5]["LOCATION"]) == "cedar"  # no address: the room id
    assert str(program[2]["LOCATION"]) == "zoom" and "Telehealth" in str(program[2]["DESCRIPTION"])
    chen = {e["DTSTART"].dt.weekday(): e for e in events(files["calendars/clinicians/chen.ics"])}
    assert set(chen) == {0, 2}
    assert "Co-clinicians: Dana Ortiz (ortiz)" in str(chen[0]["DESCRIPTION"])
    assert "Co-clinicians" not in str(chen[2]["DESCRIPTION"])  # chen staffs wed-zoom alone


def test_schedule_naming_unknown_ids_is_refused():
    problem = make_problem()
    schedule = make_schedule(problem, {"P0001": ["mon-ev"]}, {"mon-ev": ["ortiz"]})
    for mutate in (
        lambda s: s["blocks"].append({"id": "nope", "patients": ["P0001"], "clinicians": []}),
        lambda s: s["blocks"][0]["clinicians"].append("ghost"),
        lambda s: s["patients"][0]["blocks"].append("nope"),
        lambda s: s["patients"].append({"id": "P9999", "placed": True, "blocks": ["mon-ev"]}),
    ):
        broken = make_schedule(problem, {"P0001": ["mon-ev"]}, {"mon-ev": ["ortiz"]})
        mutate(broken)
        with pytest.raises(ValueError):
            build_calendars(problem, broken, now=NOW)
    assert build_calendars(problem, schedule, now=NOW)


# ---------------------------------------------------------------- the acceptance program


def riverside_path() -> Optional[Path]:
    repo = Path(__file__).resolve().parents[1]
    for candidate in (repo / "examples" / "riverside.json", repo / ".." / "shared" / "acceptance" / "riverside.json"):
        if candidate.exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def riverside() -> Problem:
    path = riverside_path()
    if path is None:
        pytest.skip("riverside.json is neither in examples/ nor in ../shared/acceptance/")
    return load_problem(path)


def test_riverside_calendars(riverside):
    schedule = make_schedule(riverside, {
        "R101": ["mon-ev", "tue-ev-es", "thu-ev"],
        "R104": ["mon-ev", "wed-late-zoom", "thu-ev"],  # admitted 2027-03-10
        "R109": ["wed-late-zoom", "mon-ev", "thu-ev"],  # discharge 2027-04-23
    }, {"mon-ev": ["kowal"], "tue-ev-es": ["chen"], "wed-late-zoom": ["chen"], "thu-ev": ["chen"]})
    files = build_calendars(riverside, schedule, now=NOW)
    assert set(files) == {"calendars/program.ics", "calendars/clinicians/kowal.ics", "calendars/clinicians/chen.ics",
                          "calendars/patients/R101.ics", "calendars/patients/R104.ics", "calendars/patients/R109.ics"}
    tz = "America/Chicago"
    # the closure (Mon 31 May) is after the 12 weeks: no EXDATE, twelve Mondays at 18:00 across 14 March
    mondays = weekly(date(2027, 3, 1), date(2027, 5, 17))
    assert_both_readers(files["calendars/clinicians/kowal.ics"], tz, expected(tz, mondays, "18:00", "21:00"))
    assert "EXDATE" not in unfolded_text(files["calendars/program.ics"])
    r104 = read_with_vobject(files["calendars/patients/R104.ics"], tz)
    assert r104 == read_with_icalendar(files["calendars/patients/R104.ics"])
    assert min(row.start_local for row in r104) == datetime(2027, 3, 10, 19, 30)
    assert min(row.start_local for row in r104 if row.start_local.weekday() == 0) == datetime(2027, 3, 15, 18, 0)
    r109 = read_with_vobject(files["calendars/patients/R109.ics"], tz)
    assert max(row.start_local for row in r109) == datetime(2027, 4, 22, 18, 0)
    assert r109 == read_with_icalendar(files["calendars/patients/R109.ics"])
    names = [patient.name for patient in riverside.patients if patient.name]
    ids = [patient.id for patient in riverside.patients]
    for path, data in files.items():
        text = unfolded_text(data)
        assert not [name for name in names if name in text]
        if "/patients/" in path:
            assert not [pid for pid in ids if pid in text]
            assert riverside.program.name not in text and "relapse" not in text
            assert {str(e["SUMMARY"]) for e in events(data)} == {"Appointment"}
    r101 = {str(e.get("LOCATION")) for e in events(files["calendars/patients/R101.ics"])}
    assert r101 == {"410 River St, Room 2 (Oak)", "410 River St, Room 3 (Elm)"}


def test_a_clinician_whose_name_holds_a_patients_name_is_shown_by_id():
    # a clinician and a patient sharing a name: the clinician's calendars would carry a patient's name
    data = problem_data()
    data["clinicians"][0]["name"] = "Dr. ana RIVERA"     # holds patient P0001's name, word for word, case aside
    data["clinicians"][1]["name"] = "Wei Chen-Riveras"   # holds no patient's name as whole words
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)
    everything = b"".join(files.values()).decode("utf-8").replace("\r\n ", "").casefold()
    assert "ana rivera" not in everything
    assert "wei chen-riveras" in everything  # the other clinician keeps their name
    assert problem.clinician_shown_names == {"ortiz": "ortiz", "chen": "Wei Chen-Riveras", "idle": "idle"}


def test_a_clinician_whose_name_holds_a_patients_name_inside_a_longer_word_is_shown_by_id():
    # a checker that looks for the patient's name as text finds "Ana Rivera" in "Ana Riveraslo" too
    data = problem_data()
    data["clinicians"][1]["name"] = "Dr  ANA  Riveraslo"
    problem = problem_from_data(data)
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)
    everything = b"".join(files.values()).decode("utf-8").replace("\r\n ", "").casefold()
    assert "ana rivera" not in " ".join(everything.split())
    assert problem.clinician_shown_names["chen"] == "chen"


def test_a_patients_name_is_found_in_a_clinicians_name_written_in_another_unicode_form():
    # "José" composed (U+00E9) in the patient's record, decomposed (e + U+0301) in the clinician's: one name
    data = problem_data()
    data["patients"][0]["name"] = "Jos\u00e9 Pe\u00f1a"
    data["clinicians"][1]["name"] = "Dr. JOSE\u0301 PEN\u0303A-Ruiz"
    problem = problem_from_data(data)
    assert problem.clinician_shown_names["chen"] == "chen"
    files = build_calendars(problem, make_schedule(problem, DEFAULT_ASSIGNMENT, DEFAULT_STAFF), now=NOW)
    everything = unicodedata.normalize("NFC", b"".join(files.values()).decode("utf-8").replace("\r\n ", "").casefold())
    assert "jos\u00e9 pe\u00f1a" not in everything


@pytest.mark.parametrize("patient_name, clinician_name", [
    ("Ana", "Ana\u0301lia Reyes"),          # composing would merge the a with its accent: still found
    ("Ren\u00e9", "Rene\u0301e Dubois"),    # composed in one record, decomposed in the other
    ("Ana Rivera", "Dr. ANA  rivera"),       # case and spaces, as before
])
def test_patient_names_are_found_in_either_unicode_form(patient_name, clinician_name):
    data = problem_data()
    data["patients"][0]["name"] = patient_name
    data["clinicians"][1]["name"] = clinician_name
    assert problem_from_data(data).clinician_shown_names["chen"] == "chen"
