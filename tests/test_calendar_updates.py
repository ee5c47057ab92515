"""Calendars that update in place when a schedule is re-planned from a date (`solve --previous ... --from`).

What a phone subscribed to a calendar, or a CalDAV server holding one resource
per UID, must see after the update: every occurrence before the date as it was;
from the date on, the new plan; the same UID (and bytes, apart from DTSTAMP)
for a series that did not change; SEQUENCE raised on a series that did; a series
that ends cut with UNTIL (or cancelled when none of it is left), never deleted;
no duplicates. Calendars are read with the two readers of test_calendars.py, and
by a real Radicale server started by the test.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time as clock
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Optional

import pytest
from icalendar import Calendar

from iop_sched.calendars import build_calendar_update, build_calendars
from iop_sched.cli import main
from programs import block, build, clinician, patient, program_dict, three_evenings, window
from test_calendars import NOW, make_schedule, read_with_icalendar, read_with_vobject, unfolded_text

TZ = "America/Chicago"
LATER = NOW + timedelta(days=40)  # the re-plan's DTSTAMP
FROM = date(2027, 3, 17)  # a Wednesday, after the March DST change
UTC = timezone.utc


# ---------------------------------------------------------------- the changed week


def old_program() -> dict:
    """Mon/Tue/Wed evenings; c1 leads Monday and Tuesday, c2 Wednesday; P4 is admitted after the re-plan date."""
    return program_dict(
        blocks=[block("mon", "mon", "18:00", "21:00", room="r1", topic="process"),
                block("tue", "tue", "18:00", "21:00", room="r1", topic="skills"),
                block("wed", "wed", "18:00", "21:00", room="r1", topic="relapse_prevention")],
        patients=[patient("P1"), patient("P2"), patient("P3"), patient("P4", admitted="2027-03-22")],
        clinicians=[clinician("c1", [window("mon tue", "17:00", "22:00")], name="Dana Ortiz"),
                    clinician("c2", [window("wed", "17:00", "22:00")])],
        rooms=[{"id": "r1", "site": "north", "capacity": 10, "address": "1 Main St"}],
        weeks=6, closures=["2027-03-31"],
    )


OLD_ASSIGNMENT = {"P1": ["mon", "wed"], "P2": ["mon", "wed"], "P3": ["wed"], "P4": ["wed"]}
OLD_STAFF = {"mon": ["c1"], "wed": ["c2"]}


def new_program() -> dict:
    """P2 discharged and P4's admission called off (both gone from the problem), P5 admitted."""
    data = old_program()
    data["patients"] = [p for p in data["patients"] if p["id"] not in ("P2", "P4")] + [patient("P5")]
    return data


NEW_ASSIGNMENT = {"P1": ["tue", "wed"], "P3": ["wed"], "P5": ["tue", "wed"]}  # P1 moved from Monday to Tuesday
NEW_STAFF = {"tue": ["c1"], "wed": ["c2"]}


@pytest.fixture(scope="module")
def changed_week():
    old_problem, new_problem = build(old_program()), build(new_program())
    old_schedule = make_schedule(old_problem, OLD_ASSIGNMENT, OLD_STAFF)
    new_schedule = make_schedule(new_problem, NEW_ASSIGNMENT, NEW_STAFF)
    before = build_calendars(old_problem, old_schedule, now=NOW)
    started = clock.perf_counter()
    after = build_calendar_update(old_problem, old_schedule, new_problem, new_schedule, FROM, now=LATER,
                                  old_calendars=before)
    seconds = clock.perf_counter() - started
    return {"old_problem": old_problem, "new_problem": new_problem, "old_schedule": old_schedule,
            "new_schedule": new_schedule, "before": before, "after": after, "seconds": seconds}


# ---------------------------------------------------------------- helpers


def without_dtstamp(data: bytes) -> bytes:
    return re.sub(rb"(?m)^DTSTAMP:[^\r\n]*\r\n", b"", data)


def calendar_files(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in files.items() if path.startswith("calendars/")}


def vevents(data: bytes) -> dict[str, object]:
    events = {}
    for event in Calendar.from_ical(data).walk("VEVENT"):
        uid = str(event["UID"])
        assert uid not in events, f"duplicate UID {uid}"
        events[uid] = event
    return events


def sequence(event) -> int:
    return int(event.get("SEQUENCE", 0))


def cancelled(event) -> bool:
    return str(event.get("STATUS", "")).upper() == "CANCELLED"


def active(data: bytes) -> bytes:
    """The file without cancelled events (what a client shows)."""
    text = data.decode("utf-8")
    events = re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, flags=re.S)
    for event in events:
        if re.search(r"(?m)^STATUS:CANCELLED\r$", event):
            text = text.replace(event, "")
    return text.encode("utf-8")


def local_dates(data: bytes, reader: str = "icalendar") -> list[datetime]:
    rows = read_with_icalendar(active(data)) if reader == "icalendar" else read_with_vobject(active(data), TZ)
    return [row.start_local for row in rows]


def split(rows, day: date):
    return [row for row in rows if row.start_local.date() < day], [row for row in rows if row.start_local.date() >= day]


def by_block_time(data: bytes) -> dict[tuple[int, str], object]:
    """Events keyed by weekday and DTSTART date (enough to tell the series of these small programs apart)."""
    return {(event["DTSTART"].dt.weekday(), event["DTSTART"].dt.date().isoformat()): event
            for event in vevents(data).values()}


def until(event) -> datetime:
    return event["RRULE"]["UNTIL"][0]


# ---------------------------------------------------------------- (a) nothing changed


def test_unchanged_schedule_changes_nothing_but_dtstamp(changed_week):
    problem, schedule = changed_week["old_problem"], changed_week["old_schedule"]
    before = changed_week["before"]
    for from_date in (FROM, date(2027, 3, 1), date(2027, 2, 1), date(2027, 6, 1)):
        after = build_calendar_update(problem, schedule, problem, schedule, from_date, now=LATER, old_calendars=before)
        assert set(calendar_files(after)) == set(before)
        for path in before:
            assert without_dtstamp(after[path]) == without_dtstamp(before[path]), (from_date, path)
            assert after[path] != before[path]  # DTSTAMP renewed
            assert set(re.findall(rb"(?m)^DTSTAMP:[^\r\n]*", after[path])) == {b"DTSTAMP:20270313T123015Z"}
        changes = json.loads(after["changes.json"])
        assert changes["format"] == "iop-sched-changes/1" and changes["from"] == from_date.isoformat()
        assert changes["patients"] == {} and changes["clinicians"] == {}
        assert changes["program"]["added"] == changes["program"]["ended"] == changes["program"]["changed"] == []
        assert changes["program"]["unchanged"] == ["mon", "wed"]  # also from a date after the program's end


def test_without_old_calendars_they_are_rebuilt_from_the_previous_schedule(changed_week):
    problem, schedule = changed_week["old_problem"], changed_week["old_schedule"]
    rebuilt = build_calendar_update(problem, schedule, problem, schedule, FROM, now=LATER)
    given = build_calendar_update(problem, schedule, problem, schedule, FROM, now=LATER,
                                  old_calendars={path.removeprefix("calendars/"): data
                                                 for path, data in changed_week["before"].items()})
    assert rebuilt == given


# ---------------------------------------------------------------- (b) a changed week


def test_changes_json_lists_only_whom_to_notify(changed_week):
    changes = json.loads(changed_week["after"]["changes.json"])
    assert changes["from"] == "2027-03-17"

    def entry(added=(), ended=(), changed=(), unchanged=()):
        return {"added": list(added), "ended": list(ended), "changed": list(changed), "unchanged": list(unchanged)}

    def strip(entries):
        return {key: {k: v for k, v in value.items() if k != "calendar"} for key, value in entries.items()}

    assert strip(changes["patients"]) == {
        "P1": entry(added=["tue"], ended=["mon"], unchanged=["wed"]),
        "P5": entry(added=["tue", "wed"]),
        "P2": entry(ended=["mon", "wed"]),
        "P4": entry(ended=["wed"]),
    }  # not P3: their Wednesday group goes on as it was
    assert strip(changes["clinicians"]) == {
        "c1": entry(added=["tue"], ended=["mon"]),
        "c2": entry(changed=["wed"]),  # the patient list in the description changed
    }
    assert changes["patients"]["P1"]["calendar"] == "calendars/patients/P1.ics"
    program = {k: v for k, v in changes["program"].items() if k != "calendar"}
    assert program == entry(added=["tue"], ended=["mon"], changed=["wed"])


def test_every_old_calendar_is_written_again_and_new_ones_added(changed_week):
    before, after = changed_week["before"], calendar_files(changed_week["after"])
    assert set(before) <= set(after)  # P2 and P4 left: their calendars are still written, series ended
    assert set(after) - set(before) == {"calendars/patients/P5.ics", }
    assert set(after) == set(build_calendars(changed_week["new_problem"], changed_week["new_schedule"])) | set(before)


def test_unchanged_series_keep_uid_and_bytes(changed_week):
    before, after = changed_week["before"], changed_week["after"]
    p3 = "calendars/patients/P3.ics"
    assert without_dtstamp(after[p3]) == without_dtstamp(before[p3])
    old_p1, new_p1 = vevents(before["calendars/patients/P1.ics"]), vevents(after["calendars/patients/P1.ics"])
    old_wed = next(uid for uid, e in old_p1.items() if e["DTSTART"].dt.weekday() == 2)
    assert sequence(new_p1[old_wed]) == 0 and "SEQUENCE" not in new_p1[old_wed]
    assert new_p1[old_wed]["DTSTAMP"].dt == LATER
    assert until(new_p1[old_wed]) == until(old_p1[old_wed])


def test_ended_series_is_cut_with_until_and_sequence_raised(changed_week):
    before, after = changed_week["before"], changed_week["after"]
    old_p1, new_p1 = vevents(before["calendars/patients/P1.ics"]), vevents(after["calendars/patients/P1.ics"])
    monday = next(uid for uid, e in old_p1.items() if e["DTSTART"].dt.weekday() == 0)
    cut = new_p1[monday]  # same UID: the series is not deleted
    assert sequence(cut) == 1 and not cancelled(cut)
    assert until(cut) == datetime(2027, 3, 15, 23, 0, tzinfo=UTC)  # Monday 15 March, 18:00 CDT
    assert cut["DTSTART"].dt == old_p1[monday]["DTSTART"].dt
    # P2 was discharged: a calendar still comes, both series cut before the date
    p2 = vevents(after["calendars/patients/P2.ics"])
    assert len(p2) == 2 and {sequence(e) for e in p2.values()} == {1}
    assert max(local_dates(after["calendars/patients/P2.ics"])) == datetime(2027, 3, 15, 18, 0)
    # c1 no longer leads Monday: cut too, in the clinician's and the program's calendar
    for path in ("calendars/clinicians/c1.ics", "calendars/program.ics"):
        monday_events = [e for e in vevents(after[path]).values() if e["DTSTART"].dt.weekday() == 0]
        assert len(monday_events) == 1 and sequence(monday_events[0]) == 1
        assert until(monday_events[0]) == datetime(2027, 3, 15, 23, 0, tzinfo=UTC)


def test_series_with_nothing_before_the_date_is_cancelled(changed_week):
    before, after = changed_week["before"], changed_week["after"]
    old, new = vevents(before["calendars/patients/P4.ics"]), vevents(after["calendars/patients/P4.ics"])
    assert set(old) == set(new) and len(new) == 1
    (event,) = new.values()
    assert cancelled(event) and sequence(event) == 1
    assert read_with_icalendar(active(after["calendars/patients/P4.ics"])) == []


def test_new_series_start_on_or_after_the_date_with_new_uids(changed_week):
    before, after = changed_week["before"], changed_week["after"]
    old_uids = {uid for data in before.values() for uid in vevents(data)}
    new_p1 = vevents(after["calendars/patients/P1.ics"])
    tuesday = [e for e in new_p1.values() if e["DTSTART"].dt.weekday() == 1]
    assert len(tuesday) == 1 and str(tuesday[0]["UID"]) not in old_uids and sequence(tuesday[0]) == 0
    assert tuesday[0]["DTSTART"].dt.replace(tzinfo=None) == datetime(2027, 3, 23, 18, 0)
    p5 = vevents(after["calendars/patients/P5.ics"])
    assert sorted(e["DTSTART"].dt.replace(tzinfo=None) for e in p5.values()) == \
        [datetime(2027, 3, 17, 18, 0), datetime(2027, 3, 23, 18, 0)]
    assert not set(p5) & old_uids
    # the same block for another owner, or from another date, gets another UID
    p1_tuesday_uid = str(tuesday[0]["UID"])
    assert p1_tuesday_uid not in p5
    all_uids = [uid for path, data in calendar_files(after).items() for uid in vevents(data)]
    assert len(all_uids) == len(set(all_uids))


def test_changed_description_splits_the_series_so_the_sessions_held_keep_theirs(changed_week):
    # Wednesday's patient list changes from the date on: the sessions already held keep the old list
    # (the old series is cut, unchanged otherwise) and a new series carries the new one from the date
    before, after = changed_week["before"], changed_week["after"]
    for path in ("calendars/clinicians/c2.ics", "calendars/program.ics"):
        old = {uid: e for uid, e in vevents(before[path]).items() if e["DTSTART"].dt.weekday() == 2}
        new = {uid: e for uid, e in vevents(after[path]).items() if e["DTSTART"].dt.weekday() == 2}
        assert len(old) == 1 and len(new) == 2
        (held,) = old
        cut = new.pop(held)
        (following,) = new.values()
        assert sequence(cut) == 1 and str(cut["DESCRIPTION"]) == str(old[held]["DESCRIPTION"])
        assert "P1, P2, P3, P4" in str(cut["DESCRIPTION"]) and until(cut).date() < FROM
        assert "Patients (by id): P1, P3, P5" in str(following["DESCRIPTION"]) and sequence(following) == 0
        assert following["DTSTART"].dt.date() >= FROM


def test_a_group_moved_to_another_room_keeps_its_room_in_the_sessions_held(tmp_path):
    def program(room: str) -> dict:
        return program_dict(blocks=[block("X", "mon", "18:00", "21:00", room=room)],
                            rooms=[{"id": "r1", "site": "s", "address": "Room One"},
                                   {"id": "r2", "site": "s", "address": "Room Two"}],
                            patients=[patient("P1")], rules={"min_weekly_hours": 3}, weeks=6)

    (tmp_path / "one.json").write_text(json.dumps(program("r1")))
    (tmp_path / "two.json").write_text(json.dumps(program("r2")))
    run = ["--time-limit", "10", "--quiet"]
    assert main(["solve", str(tmp_path / "one.json"), "--out", str(tmp_path / "a"), *run]) == 0
    assert main(["solve", str(tmp_path / "two.json"), "--previous", str(tmp_path / "a" / "schedule.json"),
                 "--from", "2027-03-15", "--out", str(tmp_path / "b"), *run]) == 0
    import vobject

    calendar = vobject.readOne((tmp_path / "b" / "calendars" / "patients" / "P1.ics").read_text())
    places = {occurrence.date(): event.location.value
              for event in calendar.vevent_list for occurrence in event.getrruleset(addRDate=True)}
    assert {places[date(2027, 3, 1)], places[date(2027, 3, 8)]} == {"Room One"}  # as they were held
    assert {place for day, place in places.items() if day >= date(2027, 3, 15)} == {"Room Two"}


@pytest.mark.parametrize("reader", ["icalendar", "vobject"])
def test_history_kept_and_new_plan_from_the_date_in_both_readers(changed_week, reader):
    before, after = changed_week["before"], changed_week["after"]
    planned = build_calendars(changed_week["new_problem"], changed_week["new_schedule"], now=LATER)
    read = read_with_icalendar if reader == "icalendar" else (lambda data: read_with_vobject(data, TZ))
    for path in calendar_files(after):
        old_rows = read(active(before[path])) if path in before else []
        new_rows = read(active(after[path]))
        assert split(new_rows, FROM)[0] == split(old_rows, FROM)[0], path  # history unchanged
        want = split(read(planned[path]), FROM)[1] if path in planned else []
        assert split(new_rows, FROM)[1] == want, path  # the new plan from the date on
    p1 = [row.start_local for row in read(after["calendars/patients/P1.ics"])]
    assert datetime(2027, 3, 15, 18, 0) in p1 and datetime(2027, 3, 22, 18, 0) not in p1
    assert datetime(2027, 3, 23, 18, 0) in p1 and datetime(2027, 3, 31, 18, 0) not in p1  # closure


def test_privacy_rules_hold_in_updated_calendars(changed_week):
    after = changed_week["after"]
    ids = ["P1", "P2", "P3", "P4", "P5"]
    for path, data in calendar_files(after).items():
        text = unfolded_text(data)
        assert "ATTENDEE" not in text and "ORGANIZER" not in text
        for event in vevents(data).values():
            assert re.fullmatch(r"[a-z]+@iop-sched", str(event["UID"]))
            assert str(event["CLASS"]) == "PRIVATE"
            assert event["DTSTAMP"].dt == LATER
        if "/patients/" in path:
            assert not [pid for pid in ids if pid in text or pid.lower() in text.lower()], path
            assert str(Calendar.from_ical(data)["X-WR-CALNAME"]) == "Appointments"
            for word in ("process", "skills", "relapse", "Test IOP", "DESCRIPTION", "Dana"):
                assert word not in text, (path, word)
            for event in vevents(data).values():
                assert set(event.keys()) <= {"UID", "DTSTAMP", "DTSTART", "DTEND", "RRULE", "EXDATE", "CLASS",
                                             "SUMMARY", "LOCATION", "SEQUENCE", "STATUS"}
    name = str(Calendar.from_ical(after["calendars/clinicians/c1.ics"])["X-WR-CALNAME"])
    assert name == "Test IOP: Dana Ortiz"


def test_update_of_an_update_is_stable_and_cancelled_series_come_back(changed_week):
    new_problem, new_schedule = changed_week["new_problem"], changed_week["new_schedule"]
    first = calendar_files(changed_week["after"])
    # the same plan again, from a later date: nothing changes
    again = build_calendar_update(new_problem, new_schedule, new_problem, new_schedule, date(2027, 3, 24),
                                  now=LATER + timedelta(days=1), old_calendars=first)
    assert {p: without_dtstamp(d) for p, d in calendar_files(again).items()} == \
           {p: without_dtstamp(d) for p, d in first.items()}
    assert json.loads(again["changes.json"])["patients"] == {}
    # a correction from the same date: P5 not in the Tuesday group after all -> that series is cancelled
    corrected = make_schedule(new_problem, {**NEW_ASSIGNMENT, "P5": ["wed"]}, NEW_STAFF)
    second = build_calendar_update(new_problem, new_schedule, new_problem, corrected, FROM,
                                   now=LATER + timedelta(days=2), old_calendars=first)
    p5_before, p5 = vevents(first["calendars/patients/P5.ics"]), vevents(second["calendars/patients/P5.ics"])
    tuesday = next(uid for uid, e in p5_before.items() if e["DTSTART"].dt.weekday() == 1)
    assert cancelled(p5[tuesday]) and sequence(p5[tuesday]) == 1
    assert json.loads(second["changes.json"])["patients"]["P5"]["ended"] == ["tue"]
    # and back again: the same UID returns, SEQUENCE raised once more, no longer cancelled
    third = build_calendar_update(new_problem, corrected, new_problem, new_schedule, FROM,
                                  now=LATER + timedelta(days=3), old_calendars=calendar_files(second))
    p5 = vevents(third["calendars/patients/P5.ics"])
    assert set(p5) == set(p5_before)
    assert not cancelled(p5[tuesday]) and sequence(p5[tuesday]) == 2
    assert read_with_icalendar(third["calendars/patients/P5.ics"]) == \
        read_with_icalendar(first["calendars/patients/P5.ics"])


def test_a_block_moved_to_another_time_ends_and_starts_again(changed_week):
    old_problem, old_schedule = changed_week["old_problem"], changed_week["old_schedule"]
    data = old_program()
    data["blocks"][2]["start"], data["blocks"][2]["end"] = "17:00", "20:00"  # Wednesday an hour earlier
    moved = build(data)
    after = build_calendar_update(old_problem, old_schedule, moved, make_schedule(moved, OLD_ASSIGNMENT, OLD_STAFF),
                                  FROM, now=LATER, old_calendars=changed_week["before"])
    p3 = sorted(vevents(after["calendars/patients/P3.ics"]).values(), key=lambda e: e["DTSTART"].dt)
    assert [sequence(e) for e in p3] == [1, 0]
    assert until(p3[0]) == datetime(2027, 3, 11, 0, 0, tzinfo=UTC)  # Wednesday 10 March, 18:00 CST
    assert p3[1]["DTSTART"].dt.replace(tzinfo=None) == datetime(2027, 3, 17, 17, 0)
    assert json.loads(after["changes.json"])["patients"]["P3"]["changed"] == ["wed"]


@pytest.mark.parametrize("tz", ["UTC", "Australia/Sydney", "Europe/London"])
def test_changed_week_in_other_zones(tz):
    """The UTC form (DTSTART ...Z, no TZID) and zones whose DST changes fall elsewhere update just as well."""
    def problem(data):
        data["program"]["timezone"] = tz
        return build(data)

    old_problem, new_problem = problem(old_program()), problem(new_program())
    old_schedule = make_schedule(old_problem, OLD_ASSIGNMENT, OLD_STAFF)
    new_schedule = make_schedule(new_problem, NEW_ASSIGNMENT, NEW_STAFF)
    before = build_calendars(old_problem, old_schedule, now=NOW)
    after = build_calendar_update(old_problem, old_schedule, new_problem, new_schedule, FROM, now=LATER,
                                  old_calendars=before)
    planned = build_calendars(new_problem, new_schedule, now=LATER)
    for path in calendar_files(after):
        for read in (read_with_icalendar, lambda data: read_with_vobject(data, tz)):
            new_rows = read(active(after[path]))
            assert split(new_rows, FROM)[0] == (split(read(before[path]), FROM)[0] if path in before else [])
            assert split(new_rows, FROM)[1] == (split(read(planned[path]), FROM)[1] if path in planned else [])
    assert json.loads(after["changes.json"])["patients"].keys() == {"P1", "P2", "P4", "P5"}
    again = build_calendar_update(new_problem, new_schedule, new_problem, new_schedule, FROM, now=LATER,
                                  old_calendars=calendar_files(after))
    assert {p: without_dtstamp(d) for p, d in calendar_files(again).items()} == \
           {p: without_dtstamp(d) for p, d in calendar_files(after).items()}


# ---------------------------------------------------------------- the command line


def small_program(patient_ids: tuple[str, str] = ("P1", "P2"), clinician_id: str = "c1") -> dict:
    return program_dict(blocks=three_evenings(), patients=[patient(pid) for pid in patient_ids], weeks=4,
                        clinicians=[clinician(clinician_id)])


@pytest.mark.parametrize("patient_ids, clinician_id, nested", [
    (("P1", "P2"), "c1", []),
    # a slash in an id makes folders, as `patients/<id>.ics` says; re-planning reads them back
    (("2027/041", "2027/042"), "team a/ortiz", ["patients/2027/041.ics", "patients/2027/042.ics",
                                                "clinicians/team a/ortiz.ics"]),
])
def test_cli_replan_from_a_date_with_own_schedule_changes_nothing(tmp_path, capsys, patient_ids, clinician_id, nested):
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(small_program(patient_ids, clinician_id)))
    old, new = tmp_path / "old", tmp_path / "new"
    assert main(["solve", str(problem), "--out", str(old), "--time-limit", "10", "--workers", "1", "--quiet"]) == 0
    assert (old / "problem.json").read_bytes() == problem.read_bytes()
    assert not (old / "changes.json").exists()
    assert main(["solve", str(problem), "--out", str(new), "--time-limit", "10", "--workers", "1", "--quiet",
                 "--previous", str(old / "schedule.json"), "--from", "2027-03-10"]) == 0
    assert "0 patient(s) and 0 clinician(s) to notify" in capsys.readouterr().out
    first, second = json.loads((old / "schedule.json").read_text()), json.loads((new / "schedule.json").read_text())
    assert first["blocks"] == second["blocks"]
    old_files = sorted(p.relative_to(old) for p in (old / "calendars").rglob("*.ics"))
    assert old_files == sorted(p.relative_to(new) for p in (new / "calendars").rglob("*.ics"))
    assert all(Path("calendars", relative) in old_files for relative in nested)
    for relative in old_files:
        assert without_dtstamp((new / relative).read_bytes()) == without_dtstamp((old / relative).read_bytes())
    changes = json.loads((new / "changes.json").read_text())
    assert changes["patients"] == {} and changes["clinicians"] == {}
    # and the new run can be re-planned from in turn
    assert (new / "problem.json").exists()


def test_cli_replan_whose_old_and_new_ids_clash_as_paths_writes_nothing(tmp_path, capsys):
    # the previous run's patient 'a.ics/b' needs a folder where the new run's patient 'a' has its file
    old_problem, new_problem = tmp_path / "old.json", tmp_path / "new.json"
    old_problem.write_text(json.dumps(small_program(("a.ics/b", "P2"))))
    new_problem.write_text(json.dumps(small_program(("a", "P2"))))
    old, new = tmp_path / "old", tmp_path / "new"
    assert main(["solve", str(old_problem), "--out", str(old), "--time-limit", "10", "--workers", "1", "--quiet"]) == 0
    assert main(["solve", str(new_problem), "--out", str(new), "--time-limit", "10", "--workers", "1", "--quiet",
                 "--previous", str(old / "schedule.json"), "--from", "2027-03-10"]) == 2
    assert "'calendars/patients/a.ics' would be both a file and a folder" in capsys.readouterr().err
    assert not new.exists()


@pytest.mark.parametrize("arguments, message", [
    (["--from", "2027-03-10"], "--from: needs --previous"),
    (["--from", "10/03/2027", "--previous", "PREVIOUS"], "--from: '10/03/2027' is not a date"),
    (["--from", "2027-02-30", "--previous", "PREVIOUS"], "is not a date"),
    (["--from", "20270310", "--previous", "PREVIOUS"], "is not a date"),
    (["--from", "2027-03-10", "--previous", "BARE"], "problem.json not found"),
])
def test_cli_from_is_refused_when_unusable(tmp_path, capsys, arguments, message):
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(small_program()))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "schedule.json").write_text(json.dumps({"format": "iop-sched-schedule/1", "patients": [], "blocks": []}))
    previous = tmp_path / "prev"
    previous.mkdir()
    (previous / "schedule.json").write_text(json.dumps({"format": "iop-sched-schedule/1", "patients": [], "blocks": []}))
    (previous / "problem.json").write_text(json.dumps(small_program()))
    arguments = [str(bare / "schedule.json") if a == "BARE" else str(previous / "schedule.json") if a == "PREVIOUS"
                 else a for a in arguments]
    out = tmp_path / "out"
    assert main(["solve", str(problem), "--out", str(out), "--quiet", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--from") and message in err, err
    assert not out.exists()


# ---------------------------------------------------------------- (c) a real CalDAV server


class CalDAV:
    """A Radicale server on 127.0.0.1 with its storage in a temporary folder, spoken to with urllib."""

    USER = "clinic"

    def __init__(self, folder: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = open(folder / "radicale.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{self.port}", "--auth-type", "none",
             "--storage-filesystem-folder", str(folder / "collections"), "--logging-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = clock.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"radicale exited: {(folder / 'radicale.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if clock.monotonic() > deadline:
                    raise RuntimeError("radicale did not start within 30 s")
                clock.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def request(self, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes]:
        # auth type none takes any user name; owner_only rights give the user their own collections
        headers = {"Authorization": "Basic Y2xpbmljOng=", **{k.replace("_", "-"): v for k, v in headers.items()}}
        url = f"http://127.0.0.1:{self.port}{path}"
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def collection(self, name: str) -> str:
        return f"/{self.USER}/{name}/"

    def make_calendar(self, name: str) -> None:
        status, body = self.request("MKCALENDAR", self.collection(name))
        assert status == 201, body

    def put(self, name: str, uid: str, data: bytes) -> int:
        path = self.collection(name) + urllib.parse.quote(uid, safe="") + ".ics"
        status, body = self.request("PUT", path, data, Content_Type="text/calendar; charset=utf-8")
        assert status in (201, 204), (status, body)
        return status

    def hrefs(self, name: str) -> list[str]:
        query = b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
        status, body = self.request("PROPFIND", self.collection(name), query, Depth="1",
                                    Content_Type="application/xml; charset=utf-8")
        assert status == 207, body
        found = [urllib.parse.unquote(response.find("{DAV:}href").text)
                 for response in ElementTree.fromstring(body).iter("{DAV:}response")]
        return sorted(h for h in found if h.rstrip("/") != self.collection(name).rstrip("/"))

    def get(self, href: str) -> bytes:
        status, body = self.request("GET", urllib.parse.quote(href))
        assert status == 200, body
        return body

    def expanded(self, name: str) -> list[tuple[str, datetime, bool]]:
        """The server's own expansion of every series: (UID, start in UTC, cancelled), sorted."""
        query = (b'<?xml version="1.0" encoding="utf-8"?>'
                 b'<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                 b'<D:prop><C:calendar-data><C:expand start="20260101T000000Z" end="20290101T000000Z"/>'
                 b'</C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
                 b'<C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>')
        status, body = self.request("REPORT", self.collection(name), query, Depth="1",
                                    Content_Type="application/xml; charset=utf-8")
        assert status == 207, body
        rows = []
        for data in ElementTree.fromstring(body).iter("{urn:ietf:params:xml:ns:caldav}calendar-data"):
            for event in Calendar.from_ical(data.text).walk("VEVENT"):
                start = event["DTSTART"].dt
                rows.append((str(event["UID"]), start.astimezone(UTC), cancelled(event)))
        return sorted(rows)


def one_resource_per_uid(data: bytes) -> dict[str, bytes]:
    """Split a calendar file into one VCALENDAR per UID, each with the header and VTIMEZONE (CalDAV wants that)."""
    text = data.decode("utf-8")
    head = text[:text.index("BEGIN:VEVENT")] if "BEGIN:VEVENT" in text else text[:text.index("END:VCALENDAR")]
    resources = {}
    for event in re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, flags=re.S):
        uid = str(next(iter(Calendar.from_ical(head + event + "END:VCALENDAR\r\n").walk("VEVENT")))["UID"])
        assert uid not in resources
        resources[uid] = (head + event + "END:VCALENDAR\r\n").encode("utf-8")
    return resources


def collection_name(path: str) -> str:
    return path.removeprefix("calendars/").removesuffix(".ics").replace("/", "-")


@pytest.fixture
def caldav(tmp_path):
    pytest.importorskip("radicale")
    server = CalDAV(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_caldav_server_shows_updated_series_without_duplicates_and_history_intact(changed_week, caldav):
    started = clock.perf_counter()
    before, after = changed_week["before"], calendar_files(changed_week["after"])
    from_instant = datetime.combine(FROM, datetime.min.time(), tzinfo=ZoneInfo(TZ)).astimezone(UTC)

    for path, data in before.items():
        caldav.make_calendar(collection_name(path))
        for uid, resource in one_resource_per_uid(data).items():
            assert caldav.put(collection_name(path), uid, resource) == 201
    served_before = {path: caldav.expanded(collection_name(path)) for path in before}
    for path, rows in served_before.items():  # the server reads the old files as the readers do
        assert sorted(start for _, start, _ in rows) == [row.start_utc for row in read_with_icalendar(before[path])], path

    for path, data in after.items():
        name = collection_name(path)
        if path not in before:
            caldav.make_calendar(name)
        for uid, resource in one_resource_per_uid(data).items():
            caldav.put(name, uid, resource)  # 204 replaces the resource of that UID, 201 adds a series

    for path, data in after.items():
        name = collection_name(path)
        events = vevents(data)
        hrefs = caldav.hrefs(name)
        # one resource per UID, nothing left over from before, nothing twice
        assert hrefs == sorted(caldav.collection(name) + uid + ".ics" for uid in events), path
        for href in hrefs:
            served = vevents(caldav.get(href))
            (uid,) = served
            assert sequence(served[uid]) == sequence(events[uid])  # the updated series is what the server holds
            assert cancelled(served[uid]) == cancelled(events[uid])
            if "RRULE" in events[uid]:
                assert until(served[uid]) == until(events[uid])
        rows = caldav.expanded(name)
        shown = [(uid, start) for uid, start, is_cancelled in rows if not is_cancelled and not cancelled(events[uid])]
        starts = [start for _, start in shown]
        assert len(starts) == len(set(starts)), f"{path}: an occurrence shows twice"
        old_rows = [(uid, start) for uid, start, _ in served_before.get(path, [])]
        assert [r for r in shown if r[1] < from_instant] == [r for r in old_rows if r[1] < from_instant], path
        assert sorted(starts) == sorted(row.start_utc for row in read_with_icalendar(active(data))), path

    # spot checks: P1 now meets Tuesday from 23 March; P4's cancelled series shows nothing
    p1 = [start for _, start in ((u, s) for u, s, c in caldav.expanded("patients-P1") if not c)]
    assert datetime(2027, 3, 23, 23, 0, tzinfo=UTC) in p1 and datetime(2027, 3, 22, 23, 0, tzinfo=UTC) not in p1
    assert datetime(2027, 3, 15, 23, 0, tzinfo=UTC) in p1
    p4_events = vevents(after["calendars/patients/P4.ics"])
    assert all(cancelled(e) for e in p4_events.values())
    p4_served = caldav.expanded("patients-P4")
    assert p4_served and all(is_cancelled for _, _, is_cancelled in p4_served)  # the server marks them cancelled
    assert clock.perf_counter() - started < 20


def changes_after_re_plans(tmp_path, programs: list[dict], dates: list[str]) -> dict:
    """Solve programs[0], then re-plan to programs[k] from dates[k - 1], each from the last: its changes.json."""
    run = ["--time-limit", "10", "--quiet"]
    for k, program in enumerate(programs):
        (tmp_path / f"program{k}.json").write_text(json.dumps(program))
        replan = ["--previous", str(tmp_path / f"run{k - 1}" / "schedule.json"), "--from", dates[k - 1]] if k else []
        assert main(["solve", str(tmp_path / f"program{k}.json"), "--out", str(tmp_path / f"run{k}"), *replan, *run]) == 0
    return json.loads((tmp_path / f"run{len(programs) - 1}" / "changes.json").read_text())


def program_changes_after_two_re_plans(tmp_path, first: dict, second: dict, dates: tuple[str, str]) -> dict:
    """Solve `first`, re-plan to `second` from dates[0], re-plan `second` again from dates[1]: the last program changes."""
    return changes_after_re_plans(tmp_path, [first, second, second], list(dates))["program"]


def test_a_series_no_block_matches_any_more_is_named_by_its_weekly_time(tmp_path):
    from programs import acceptance_path

    first = json.loads(acceptance_path().read_text())
    second = json.loads(json.dumps(first))
    second["blocks"] = [b for b in second["blocks"] if b["id"] != "thu-ev"]
    # the Thursday series is cut on 03-22; re-planned again from an earlier date, no block of either
    # program is that series any more
    ended = program_changes_after_two_re_plans(tmp_path, first, second, ("2027-03-22", "2027-03-15"))["ended"]
    assert "?" not in ended
    assert "unidentified series Thu 18:00-21:00" in ended, ended


def test_a_group_moved_to_another_room_is_found_again_by_the_next_re_plan(tmp_path):
    def program(x_room: str) -> dict:
        return program_dict(
            blocks=[block("X", "mon", "18:00", "21:00", room=x_room), block("Y", "mon", "18:00", "21:00", room="r2")],
            rooms=[{"id": room, "site": "s", "capacity": 1} for room in ("r1", "r2", "r3")],
            clinicians=[clinician("c1"), clinician("c2")], patients=[patient("P1"), patient("P2")],
            rules={"min_weekly_hours": 3}, weeks=6)

    # nothing changes in the second re-plan: X, now in r3 under its old UID, is recognised as X
    changes = program_changes_after_two_re_plans(tmp_path, program("r1"), program("r3"), ("2027-03-15", "2027-03-22"))
    assert changes["added"] == changes["ended"] == [] and changes["unchanged"] == ["X", "Y"]


def test_a_group_split_by_one_re_plan_and_ended_by_the_next_is_listed_as_ended_only(tmp_path):
    def program(mon_room: Optional[str]) -> dict:
        blocks = [block("wed", "wed", "18:00", "21:00", room="r1")]
        if mon_room is not None:
            blocks.append(block("mon", "mon", "18:00", "21:00", room=mon_room))
        return program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")], weeks=6,
                            rules={"min_weekly_hours": 6 if mon_room else 3},
                            rooms=[{"id": room, "site": "s", "capacity": 10} for room in ("r1", "r2")])

    # Monday moves room on 03-15 (its series is cut there and goes on as a new one), then goes on 03-29:
    # its sessions held before 03-15 are one series, the ones since another, which ends
    changes = changes_after_re_plans(tmp_path, [program("r1"), program("r2"), program(None)], ["2027-03-15", "2027-03-29"])
    for entry in [changes["program"], *changes["patients"].values(), *changes["clinicians"].values()]:
        assert "mon" in entry["ended"] and "mon" not in entry["unchanged"], entry


def test_a_clinician_who_left_is_shown_by_id_when_a_patient_admitted_since_has_their_name_in_theirs():
    old = program_dict(blocks=three_evenings(), patients=[patient("P1")],
                       clinicians=[clinician("c1", name="Carmen Kowalski"), clinician("c2", name="Lee Park")])
    new = json.loads(json.dumps(old))
    new["clinicians"] = [clinician("c2", name="Lee Park")]  # c1 left
    new["patients"].append(patient("P2", name="Carmen Kowal"))  # admitted since, a name inside c1's
    old_problem, new_problem = build(old), build(new)
    assignment = {"P1": ["mon-ev", "wed-ev", "fri-ev"]}
    files = build_calendar_update(
        old_problem, make_schedule(old_problem, assignment, {b: ["c1"] for b in assignment["P1"]}),
        new_problem, make_schedule(new_problem, {**assignment, "P2": assignment["P1"]},
                                   {b: ["c2"] for b in assignment["P1"]}), FROM, now=LATER)
    header = unfolded_text(files["calendars/clinicians/c1.ics"]).split("BEGIN:VEVENT")[0]
    assert "X-WR-CALNAME:Test IOP: c1" in header and "kowal" not in header.casefold()
    assert "X-WR-CALNAME:Test IOP: Lee Park" in unfolded_text(files["calendars/clinicians/c2.ics"])


def test_sessions_held_lose_a_clinician_name_that_holds_the_name_of_a_patient_admitted_since():
    old = program_dict(blocks=three_evenings(), patients=[patient("P1")],
                       clinicians=[clinician("c1", name="Carmen Kowalski, LCSW")])
    new = json.loads(json.dumps(old))
    new["patients"].append(patient("P2", name="Carmen Kowal"))  # admitted since, a name inside c1's
    old_problem, new_problem = build(old), build(new)
    assignment = {"P1": ["mon-ev", "wed-ev", "fri-ev"]}
    staff = {b: ["c1"] for b in assignment["P1"]}
    before = build_calendars(old_problem, make_schedule(old_problem, assignment, staff), now=NOW)
    assert "Kowalski" in unfolded_text(before["calendars/program.ics"])
    files = build_calendar_update(old_problem, make_schedule(old_problem, assignment, staff), new_problem,
                                  make_schedule(new_problem, {**assignment, "P2": assignment["P1"]}, staff), FROM,
                                  now=LATER, old_calendars=before)
    for path, data in calendar_files(files).items():
        assert "kowal" not in " ".join(unfolded_text(data).casefold().split()), path
    held = [when for when in local_dates(files["calendars/program.ics"]) if when.date() < FROM]
    assert held == [when for when in local_dates(before["calendars/program.ics"]) if when.date() < FROM]


def test_only_clinician_labels_lose_a_hidden_name_also_for_a_clinician_who_left_two_re_plans_ago(tmp_path):
    rooms = [{"id": "r1", "site": "s", "capacity": 10, "address": "12 Leeds Road"}]

    def program(clinicians: list[dict], patients: list[dict]) -> dict:
        return program_dict(blocks=three_evenings(), patients=patients, clinicians=clinicians, rooms=rooms,
                            weeks=6, name="Leeway IOP")

    first = program([clinician("c1", name="Carmen Kowalski"), clinician("c3", name="Lee")], [patient("P1")])
    second = program([clinician("c2", name="Dana Ortiz"), clinician("c3", name="Lee")], [patient("P1")])  # c1 left
    third = program([clinician("c2", name="Dana Ortiz"), clinician("c3", name="Lee")],
                    [patient("P1"), patient("P2", name="Carmen Kowal"), patient("P3", name="Lee")])
    changes_after_re_plans(tmp_path, [first, second, third], ["2027-03-08", "2027-03-15"])
    calendars = tmp_path / "run2" / "calendars"
    texts = {path.relative_to(calendars).as_posix(): " ".join(unfolded_text(path.read_bytes()).split())
             for path in calendars.rglob("*.ics")}
    for path, text in texts.items():
        assert "kowal" not in text.casefold() and "Lee (c3)" not in text and ": Lee\r" not in text, path
        if "LOCATION" in text:
            assert "12 Leeds Road" in text, path  # an address that holds a hidden name is left alone
    assert "X-WR-CALNAME:Leeway IOP" in texts["program.ics"]
    # the same program re-planned again changes nothing
    (tmp_path / "again").mkdir()
    again = changes_after_re_plans(tmp_path / "again", [first, second, third, third],
                                   ["2027-03-08", "2027-03-15", "2027-03-22"])
    assert not again["patients"] and not again["clinicians"] and not again["program"]["changed"]
