"""Wall-clock times as minutes of a week (Monday 00:00 = 0).

Everything the scheduler compares happens inside one repeating week, so times are
parsed once into integers here and every later check is integer arithmetic.
A window that runs past midnight simply extends beyond its day (and a Sunday
night window beyond the end of the week); `intervals_overlap` compares intervals
modulo one week so such windows wrap into Monday.
"""

from __future__ import annotations

import re

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES: dict[str, str] = {
    "mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu",
    "fri": "Fri", "sat": "Sat", "sun": "Sun",
}
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

_CLOCK = re.compile(r"([0-9]{2}):([0-9]{2})")  # ASCII digits only, whole string


def parse_clock(text: str, *, allow_midnight_end: bool = False) -> int:
    """Minutes after midnight of a 24-hour "HH:MM" time; "24:00" only where an end may be midnight."""
    match = _CLOCK.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a time of the form HH:MM (24-hour clock)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if allow_midnight_end and hours == 24 and minutes == 0:
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00 to 23:59)")
    return hours * 60 + minutes


def format_clock(minute_of_day: int) -> str:
    """ "HH:MM" for minutes after midnight (1440 prints as 24:00)."""
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def day_index(day: str) -> int:
    return DAYS.index(day)


def window_interval(day: str, start: int, end: int) -> tuple[int, int]:
    """Week interval [start, end) of a window on `day`; an end at or before the start runs into the next day."""
    base = day_index(day) * MINUTES_PER_DAY
    if end <= start:
        end += MINUTES_PER_DAY
    return base + start, base + end


def intervals_overlap(first: tuple[int, int], second: tuple[int, int]) -> bool:
    """Half-open intervals overlap in the repeating week (intervals may extend past either end of the week)."""
    a_start, a_end = first
    b_start, b_end = second
    for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK):
        if a_start < b_end + shift and b_start + shift < a_end:
            return True
    return False


def covered_by(interval: tuple[int, int], windows: list[tuple[int, int]]) -> bool:
    """Whether every minute of `interval` lies in the union of `windows` (cyclic week)."""
    start, end = interval
    pieces: list[tuple[int, int]] = []
    for w_start, w_end in windows:
        for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK):
            lo, hi = max(start, w_start + shift), min(end, w_end + shift)
            if lo < hi:
                pieces.append((lo, hi))
    pieces.sort()
    reached = start
    for lo, hi in pieces:
        if lo > reached:
            return False
        reached = max(reached, hi)
    return reached >= end


def describe_interval(interval: tuple[int, int]) -> str:
    """ "Mon 18:00-21:00" for a week interval (used in plain-language reasons)."""
    start, end = interval
    day_start = start - start % MINUTES_PER_DAY
    end_clock = end - day_start
    if end_clock > MINUTES_PER_DAY:
        end_clock -= MINUTES_PER_DAY
    day = DAYS[(start // MINUTES_PER_DAY) % 7]
    return f"{DAY_NAMES[day]} {format_clock(start % MINUTES_PER_DAY)}-{format_clock(end_clock)}"


def overlap_cliques(intervals: dict[int, tuple[int, int]]) -> list[list[int]]:
    """Groups of keys whose intervals all share a moment: the maximal cliques of an interval graph.

    Every maximal clique of intervals is the set of intervals running at some start
    time, so one sweep over start times finds them all; only groups of two or more
    matter for at-most-one rules. Intervals must not wrap (blocks never do).
    """
    starts = sorted({start for start, _ in intervals.values()})
    cliques: list[list[int]] = []
    previous: set[int] = set()
    for moment in starts:
        running = {key for key, (start, end) in intervals.items() if start <= moment < end}
        if len(running) >= 2 and not running <= previous:
            cliques.append(sorted(running))
        previous = running
    unique = {tuple(c) for c in cliques}
    return sorted(list(c) for c in unique if not any(set(c) < set(other) for other in unique))
