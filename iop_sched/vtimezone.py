"""VTIMEZONE components that readers trusting the embedded definition get right.

Outlook, vobject and the Radicale CalDAV server compute event times from the
VTIMEZONE in the file, not from the zone's name. icalendar's own
`add_missing_timezones()` writes an RDATE-style definition that those readers
misread (a weekly 18:00 America/Chicago group shows at 19:00 after the March
change), so this module derives the definition from the IANA zone itself and
writes it the way Google, Outlook and Apple do: one STANDARD and one DAYLIGHT
observance with a yearly rule (``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU``) and an
early DTSTART. When the zone's transitions around the calendar do not follow one
yearly rule (a rule change, Ramadan suspensions, an abolished DST), it writes one
observance per real transition instead: less pretty, equally correct.

Only offsets matter for correctness, so a change of abbreviation or DST flag
without a change of UTC offset is not treated as a transition.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional, Union
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

__all__ = ["Transition", "YearlyRule", "zone_transitions", "yearly_rules", "vtimezone_component"]

#: The definition is exact over the calendar's dates widened by this margin on each side.
MARGIN = timedelta(days=366)
#: Transitions are found by sampling the offset this often, then bisecting to the second.
SCAN_STEP = timedelta(hours=6)
#: Year of the "early DTSTART" of yearly-rule observances (what Google and Apple write).
EARLY_YEAR = 1970
SUNDAY = 6

Observance = Union[TimezoneStandard, TimezoneDaylight]


@dataclass(frozen=True)
class Transition:
    """One change of UTC offset of a zone."""

    at: datetime  # the UTC instant of the change (aware)
    offset_from: timedelta
    offset_to: timedelta
    name: str  # the abbreviation in force after the change
    daylight: bool  # the period after the change is daylight-saving time

    @property
    def local_onset(self) -> datetime:
        """RFC 5545 writes an observance's onset as local time in the offset before it."""
        return (self.at + self.offset_from).replace(tzinfo=None)


@dataclass(frozen=True)
class YearlyRule:
    """A transition on the n-th (or last, n = -1) given weekday of a month, at a local time."""

    month: int
    weekday: int  # Monday = 0 ... Sunday = 6
    ordinal: int  # 1..4, or -1 for the last one
    at: time

    def onset(self, year: int) -> datetime:
        """The local onset (in the offset before the change) in `year`."""
        first_weekday, days_in_month = _calendar.monthrange(year, self.month)
        first_match = 1 + (self.weekday - first_weekday) % 7
        if self.ordinal > 0:
            day = first_match + 7 * (self.ordinal - 1)
        else:
            day = first_match + 7 * ((days_in_month - first_match) // 7)
        return datetime.combine(date(year, self.month, day), self.at)

    @property
    def byday(self) -> str:
        return f"{self.ordinal}{('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[self.weekday]}"

    def as_rrule(self) -> dict:
        return {"freq": "yearly", "bymonth": self.month, "byday": self.byday}


def _offset_at(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _is_daylight(zone: ZoneInfo, before: datetime, after: datetime) -> bool:
    """Daylight time, also in zones with negative DST (Europe/Dublin's winter has dst() < 0)."""
    dst_after = after.astimezone(zone).dst() or timedelta(0)
    dst_before = before.astimezone(zone).dst() or timedelta(0)
    return dst_after > timedelta(0) or (dst_after == timedelta(0) and dst_before < timedelta(0))


def _first_instant_with_new_offset(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """Bisect (to the second) for the first instant after `low` whose offset is that of `high`."""
    target = _offset_at(zone, high)
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if _offset_at(zone, middle) == target:
            high = middle
        else:
            low = middle
    return high


def zone_transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """The zone's real offset changes in (start, end], from the IANA data via zoneinfo."""
    transitions: list[Transition] = []
    instant, offset = start, _offset_at(zone, start)
    while instant < end:
        following = min(instant + SCAN_STEP, end)
        new_offset = _offset_at(zone, following)
        if new_offset != offset:
            at = _first_instant_with_new_offset(zone, instant, following)
            before = at - timedelta(seconds=1)
            transitions.append(Transition(
                at=at,
                offset_from=offset,
                offset_to=new_offset,
                name=at.astimezone(zone).tzname() or "",
                daylight=_is_daylight(zone, before, at),
            ))
        instant, offset = following, new_offset
    return transitions


def _ordinals(day: date) -> set[int]:
    """The n-th-weekday descriptions a date fits: 1..4 from the front and/or -1 (the last)."""
    ordinals = set()
    if day.day <= 28:
        ordinals.add((day.day - 1) // 7 + 1)
    if day.day + 7 > _calendar.monthrange(day.year, day.month)[1]:
        ordinals.add(-1)
    return ordinals


def _group_key(transition: Transition) -> tuple:
    onset = transition.local_onset
    return (transition.daylight, onset.month, onset.weekday(), onset.time(),
            transition.offset_from, transition.offset_to, transition.name)


def _rule_for(group: list[Transition]) -> Optional[YearlyRule]:
    """One n-th-weekday rule every transition of the group fits ("last" preferred, as in IANA's lastSun)."""
    common = set.intersection(*(_ordinals(t.local_onset.date()) for t in group))
    if not common:
        return None
    ordinal = -1 if -1 in common else min(common)
    onset = group[0].local_onset
    return YearlyRule(month=onset.month, weekday=onset.weekday(), ordinal=ordinal, at=onset.time())


def _rule_instants(rule: YearlyRule, offset_from: timedelta, start: datetime, end: datetime) -> set[datetime]:
    """The UTC instants the rule claims in (start, end]."""
    instants = set()
    for year in range(start.year - 1, end.year + 2):
        instant = (rule.onset(year) - offset_from).replace(tzinfo=timezone.utc)
        if start < instant <= end:
            instants.add(instant)
    return instants


def yearly_rules(zone: ZoneInfo, transitions: list[Transition], start: datetime,
                 end: datetime) -> Optional[list[tuple[YearlyRule, Transition]]]:
    """Yearly rules reproducing exactly the transitions in (start, end], or None when there are none.

    Each rule is paired with its earliest transition (offsets, name, kind). The
    rules are checked, not assumed: they must claim exactly the real transition
    instants of the range, and the last onset they put before `start` must give
    the offset really in force there.
    """
    if not transitions:
        return None
    groups: dict[tuple, list[Transition]] = {}
    for transition in transitions:
        groups.setdefault(_group_key(transition), []).append(transition)
    rules: list[tuple[YearlyRule, Transition]] = []
    for group in groups.values():
        rule = _rule_for(group)
        if rule is None:
            return None
        if _rule_instants(rule, group[0].offset_from, start, end) != {t.at for t in group}:
            return None
        rules.append((rule, group[0]))
    if _offset_by_rules(rules, start) != _offset_at(zone, start):
        return None
    return sorted(rules, key=lambda pair: (pair[1].daylight, pair[0].month))


def _offset_by_rules(rules: list[tuple[YearlyRule, Transition]], instant: datetime) -> Optional[timedelta]:
    """The offset the rules give at `instant`: that of the last onset at or before it."""
    latest: Optional[tuple[datetime, timedelta]] = None
    for rule, sample in rules:
        for year in (instant.year - 2, instant.year - 1, instant.year):
            onset = (rule.onset(year) - sample.offset_from).replace(tzinfo=timezone.utc)
            if onset <= instant and (latest is None or onset > latest[0]):
                latest = (onset, sample.offset_to)
    return latest[1] if latest else None


def _observance(daylight: bool, onset: datetime, offset_from: timedelta, offset_to: timedelta,
                name: str, rule: Optional[YearlyRule] = None) -> Observance:
    """A STANDARD or DAYLIGHT sub-component; `onset` is naive local time in `offset_from`."""
    observance: Observance = TimezoneDaylight() if daylight else TimezoneStandard()
    observance.add("dtstart", onset)
    if rule is not None:
        observance.add("rrule", rule.as_rrule())
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    if name:
        observance.add("tzname", name)
    return observance


def _early_onset(rule: YearlyRule) -> datetime:
    return rule.onset(EARLY_YEAR)


def vtimezone_component(tzid: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE for `tzid`, exact for every instant from `first` to `last` (and a year beyond each).

    Yearly-rule observances when the zone's transitions over that span follow
    rules; one STANDARD with the fixed offset when it has none; otherwise one
    observance per real transition after an initial one holding the offset at
    the start of the span (never +00:00 from 1970: see below), and, when the span
    ends at +00:00, one after it that leaves +00:00.
    """
    zone = ZoneInfo(tzid)
    start = datetime.combine(first - MARGIN, time(0), tzinfo=timezone.utc)
    end = datetime.combine(last + MARGIN + timedelta(days=1), time(0), tzinfo=timezone.utc)
    transitions = zone_transitions(zone, start, end)

    component = Timezone()
    component.add("tzid", tzid)
    initial_offset = _offset_at(zone, start)
    initial_name = start.astimezone(zone).tzname() or ""
    if not transitions:
        component.add_component(_observance(False, datetime(EARLY_YEAR, 1, 1), initial_offset,
                                            initial_offset, initial_name))
        return component

    rules = yearly_rules(zone, transitions, start, end)
    if rules is not None:
        for rule, sample in rules:
            component.add_component(_observance(sample.daylight, _early_onset(rule), sample.offset_from,
                                                sample.offset_to, sample.name, rule))
        return component

    initial_daylight = (start.astimezone(zone).dst() or timedelta(0)) > timedelta(0)
    if initial_offset == timedelta(0):
        # vobject drops a definition that matches UTC from 2000 to 2020 and reads the zone's name
        # instead, without its offsets. So before the span, where no event falls, the definition
        # holds the offset of the first transition, and the span starts with the offset it has.
        early_offset, early_name = transitions[0].offset_to, transitions[0].name
        component.add_component(_observance(False, datetime(EARLY_YEAR, 1, 1), early_offset, early_offset, early_name))
        span_onset = (start + early_offset).replace(tzinfo=None)
        component.add_component(_observance(initial_daylight, span_onset, early_offset, initial_offset, initial_name))
    else:
        component.add_component(_observance(initial_daylight, datetime(EARLY_YEAR, 1, 1), initial_offset,
                                            initial_offset, initial_name))
    for transition in transitions:
        component.add_component(_observance(transition.daylight, transition.local_onset,
                                            transition.offset_from, transition.offset_to, transition.name))
    last = transitions[-1]
    if last.offset_to == timedelta(0):
        # Likewise at the other end (a span before 2000 ending at +00:00, as Britain's in the 1970s): after the
        # span, where no event falls, the definition goes back to the offset before its last change.
        before = transitions[-2] if len(transitions) > 1 else None
        late_daylight = before.daylight if before is not None else not last.daylight
        late_name = before.name if before is not None else ""
        component.add_component(_observance(late_daylight, end.replace(tzinfo=None), timedelta(0),
                                            last.offset_from, late_name))
    return component
