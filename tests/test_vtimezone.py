"""The generated VTIMEZONE must give the right offsets on its own.

Readers like vobject and Radicale compute times from the embedded definition
(via dateutil's tzical), so every check here reads the definition back with
tzical and compares it with the IANA zone, never with our own code.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil import tz as dateutil_tz

from iop_sched.vtimezone import YearlyRule, vtimezone_component, zone_transitions

UTC = timezone.utc


def embedded_zone(tzid: str, first: date, last: date):
    """The tzinfo a VTIMEZONE-trusting reader builds from our definition."""
    text = vtimezone_component(tzid, first, last).to_ical().decode()
    return dateutil_tz.tzical(io.StringIO(text)).get(tzid)


def observances(tzid: str, first: date, last: date) -> list[dict]:
    component = vtimezone_component(tzid, first, last)
    rows = []
    for sub in component.subcomponents:
        rule = sub.get("RRULE")
        rows.append({
            "kind": sub.name,
            "dtstart": sub["DTSTART"].dt,
            "rrule": rule.to_ical().decode() if rule is not None else None,
            "from": sub["TZOFFSETFROM"].td,
            "to": sub["TZOFFSETTO"].td,
            "name": str(sub.get("TZNAME", "")),
        })
    return rows


def days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def assert_offsets_match(tzid: str, first: date, last: date) -> None:
    """Local noon and 18:00 every day of the range: the embedded definition agrees with zoneinfo."""
    embedded = embedded_zone(tzid, first, last)
    zone = ZoneInfo(tzid)
    for day in days(first, last):
        for clock in (time(12), time(18)):
            local = datetime.combine(day, clock)
            assert local.replace(tzinfo=embedded).utcoffset() == local.replace(tzinfo=zone).utcoffset(), (tzid, local)


# ---------------------------------------------------------------- the yearly-rule form


def test_chicago_is_written_as_yearly_rules_with_an_early_dtstart():
    rows = observances("America/Chicago", date(2027, 3, 1), date(2027, 5, 23))
    assert rows == [
        {"kind": "STANDARD", "dtstart": datetime(1970, 11, 1, 2, 0), "rrule": "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
         "from": timedelta(hours=-5), "to": timedelta(hours=-6), "name": "CST"},
        {"kind": "DAYLIGHT", "dtstart": datetime(1970, 3, 8, 2, 0), "rrule": "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
         "from": timedelta(hours=-6), "to": timedelta(hours=-5), "name": "CDT"},
    ]


def test_sydney_southern_hemisphere_rules():
    rows = observances("Australia/Sydney", date(2027, 3, 1), date(2027, 5, 23))
    assert [(r["kind"], r["dtstart"], r["rrule"], r["from"], r["to"]) for r in rows] == [
        ("STANDARD", datetime(1970, 4, 5, 3, 0), "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4",
         timedelta(hours=11), timedelta(hours=10)),
        ("DAYLIGHT", datetime(1970, 10, 4, 2, 0), "FREQ=YEARLY;BYDAY=1SU;BYMONTH=10",
         timedelta(hours=10), timedelta(hours=11)),
    ]


def test_london_uses_last_sunday_rules():
    rows = observances("Europe/London", date(2027, 3, 1), date(2027, 5, 23))
    assert [(r["kind"], r["dtstart"], r["rrule"], r["name"]) for r in rows] == [
        ("STANDARD", datetime(1970, 10, 25, 2, 0), "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "GMT"),
        ("DAYLIGHT", datetime(1970, 3, 29, 1, 0), "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "BST"),
    ]


def test_dublin_negative_dst_still_marks_summer_as_daylight():
    rows = observances("Europe/Dublin", date(2027, 3, 1), date(2027, 5, 23))
    daylight = [r for r in rows if r["kind"] == "DAYLIGHT"]
    assert len(daylight) == 1 and daylight[0]["to"] == timedelta(hours=1) and daylight[0]["name"] == "IST"


def test_early_dtstart_is_a_real_occurrence_of_its_rule():
    for tzid in ("America/Chicago", "Australia/Sydney", "Europe/London", "Pacific/Auckland"):
        for row in observances(tzid, date(2027, 1, 1), date(2027, 12, 31)):
            month = int(row["rrule"].split("BYMONTH=")[1])
            byday = row["rrule"].split("BYDAY=")[1].split(";")[0]
            rule = YearlyRule(month=month, weekday=6, ordinal=int(byday[:-2]), at=row["dtstart"].time())
            assert row["dtstart"] == rule.onset(1970), (tzid, row)


@pytest.mark.parametrize("tzid, utc_offset", [("Asia/Tokyo", 9), ("UTC", 0), ("Asia/Kolkata", 5.5)])
def test_zone_without_dst_is_one_fixed_standard(tzid, utc_offset):
    rows = observances(tzid, date(2027, 3, 1), date(2027, 5, 23))
    assert len(rows) == 1
    assert rows[0]["kind"] == "STANDARD" and rows[0]["rrule"] is None
    assert rows[0]["from"] == rows[0]["to"] == timedelta(hours=utc_offset)


# ---------------------------------------------------------------- the fallback form


def test_rule_change_inside_the_range_falls_back_to_one_observance_per_transition():
    """The US moved its DST dates in 2007: no single yearly rule covers 2006-2008."""
    rows = observances("America/Chicago", date(2007, 1, 1), date(2007, 12, 31))
    assert all(row["rrule"] is None for row in rows)
    onsets = [row["dtstart"] for row in rows[1:]]
    assert datetime(2006, 4, 2, 2, 0) in onsets  # old rule: first Sunday of April
    assert datetime(2007, 3, 11, 2, 0) in onsets  # new rule: second Sunday of March
    assert_offsets_match("America/Chicago", date(2007, 1, 1), date(2007, 12, 31))


def test_irregular_zone_falls_back_and_stays_correct():
    """Morocco suspends its offset around Ramadan, which moves every year."""
    rows = observances("Africa/Casablanca", date(2027, 1, 1), date(2027, 12, 31))
    assert all(row["rrule"] is None for row in rows)
    assert len(rows) > 2
    assert_offsets_match("Africa/Casablanca", date(2027, 1, 1), date(2027, 12, 31))


# ---------------------------------------------------------------- correctness, read back with tzical


@pytest.mark.parametrize("tzid, first, last", [
    ("America/Chicago", date(2027, 3, 1), date(2027, 5, 23)),
    ("America/Chicago", date(2027, 9, 6), date(2027, 12, 26)),
    ("Australia/Sydney", date(2027, 3, 1), date(2027, 5, 23)),
    ("Australia/Sydney", date(2027, 9, 6), date(2027, 11, 28)),
    ("Europe/London", date(2027, 3, 1), date(2027, 11, 28)),
    ("Europe/Dublin", date(2027, 3, 1), date(2027, 11, 28)),
    ("America/New_York", date(2026, 1, 5), date(2027, 12, 26)),
    ("America/Phoenix", date(2027, 3, 1), date(2027, 5, 23)),
    ("Pacific/Auckland", date(2027, 3, 1), date(2027, 11, 28)),
    ("Pacific/Chatham", date(2027, 3, 1), date(2027, 11, 28)),
    ("Australia/Lord_Howe", date(2027, 3, 1), date(2027, 11, 28)),
    ("America/Santiago", date(2027, 3, 1), date(2027, 11, 28)),
    ("America/Mexico_City", date(2022, 3, 1), date(2022, 12, 31)),
    ("Africa/Cairo", date(2023, 1, 1), date(2023, 12, 31)),
    ("Europe/Moscow", date(2011, 1, 1), date(2014, 12, 31)),
    ("Asia/Tokyo", date(2027, 3, 1), date(2027, 5, 23)),
])
def test_embedded_definition_agrees_with_the_iana_zone(tzid, first, last):
    assert_offsets_match(tzid, first, last)


def test_exact_transition_instants_in_the_embedded_definition():
    """An hour before and after each real change, the embedded zone gives the IANA offset."""
    tzid, first, last = "America/Chicago", date(2027, 3, 1), date(2027, 12, 26)
    embedded, zone = embedded_zone(tzid, first, last), ZoneInfo(tzid)
    start = datetime.combine(first, time(0), tzinfo=UTC)
    end = datetime.combine(last, time(0), tzinfo=UTC)
    transitions = zone_transitions(zone, start, end)
    assert [t.at for t in transitions] == [datetime(2027, 3, 14, 8, 0, tzinfo=UTC), datetime(2027, 11, 7, 7, 0, tzinfo=UTC)]
    for transition in transitions:
        for instant in (transition.at - timedelta(hours=1), transition.at + timedelta(hours=1)):
            local = instant.astimezone(zone).replace(tzinfo=None)
            assert local.replace(tzinfo=embedded).utcoffset() == instant.astimezone(zone).utcoffset()


def test_only_rfc5545_observance_properties_are_written():
    """dateutil's tzical refuses anything else (e.g. X-LIC-LOCATION) inside STANDARD/DAYLIGHT."""
    for tzid in ("America/Chicago", "Africa/Casablanca", "UTC"):
        component = vtimezone_component(tzid, date(2027, 1, 1), date(2027, 12, 31))
        assert set(component.keys()) == {"TZID"}
        for sub in component.subcomponents:
            assert set(sub.keys()) <= {"DTSTART", "RRULE", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME"}
