"""Seeded generator of realistic IOP programs in the iop-sched/1 format.

    from benchmarks.generate import generate
    document = generate("large", seed=1)           # a problem document (dict)

    python benchmarks/generate.py --size large --seed 1 --out large-1.json
    python -m benchmarks.generate --size network --summary

Four sizes: ``small`` (~30 patients, 1 site), ``medium`` (~150, 2 sites plus
telehealth), ``large`` (~600, 5 sites), ``network`` (~1,500, 12 sites).
Everything random comes from one ``random.Random(seed)``, and every collection
is walked in a fixed order, so the same size and seed give byte-identical JSON
(``dumps``) in any process.

How a program is built (the realism choices, after
shared/background/iop-domain.md):

* Patients come from archetypes in fixed proportions: day workers with
  commutes, evening workers, night-shift workers (sleeping mornings), parents
  (school pickup, bedtime, shared custody, or at home in the afternoons),
  weekend retail workers, flexible schedules, patients without a car (no bus at
  night) and, at sites running an adolescent track, adolescents in school.
  Tags: ``women`` for female patients, ``spanish`` for Spanish-speakers (more
  of them at the sites that run a Spanish group). Telehealth consent for
  30-50 % (more for parents and patients without a car, fewer for
  adolescents). Rolling admission: some patients are admitted or discharged
  inside the program's weeks.
* Each site plans its candidate blocks on its own census, the way a clinic
  sizes its tracks: morning, afternoon, evening, Saturday and after-school
  blocks laid out over a handful of rooms, plus women-only, Spanish and
  family-education groups, and telehealth blocks (late evening, some mornings)
  in one virtual room. Evening seats are planned a little short of the evening
  demand (drawn per site), so evening seats are contested and some patients
  stay unplaced, as in real clinics.
* Clinicians (about one per 8-12 patients) work day, evening, split or
  part-time shifts with mixed credentials (LADC, LPC, LCSW, LMFT and peer
  specialists, CPRS), weekly hour caps of 12-32 and one or two sites. The share
  of evening-capable staff follows the site's evening census, a little short.
  Every candidate block has at least one clinician who may lead it (a clinic
  does not list a Saturday group nobody works), so staffing binds through hours,
  shifts and credentials rather than through blocks nobody could ever staff.

Measured with ``iop_sched.solve(..., time_limit=20)``, about 5-20 % of the
patients stay unplaced at the optimum (small seed 0: 28 of 31 placed, proven).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Optional

SIZES = ("small", "medium", "large", "network")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# nominal patients (drawn within +-7 %), sites, program name; rooms and blocks follow each site's census
_SIZE = {
    "small": {"patients": 30, "sites": 1, "name": "Lakeside Recovery IOP"},
    "medium": {"patients": 150, "sites": 2, "name": "Prairie Path Recovery Services IOP"},
    "large": {"patients": 600, "sites": 5, "name": "Great Rivers Behavioral Health IOP"},
    "network": {"patients": 1500, "sites": 12, "name": "Heartland Recovery Network IOP"},
}

_SITE_NAMES = (
    "northside", "riverside", "lakeview", "eastgate", "westfield", "southpark",
    "midtown", "hillcrest", "oakridge", "harbor", "maplewood", "fairview",
)
_ROOM_NAMES = ("oak", "elm", "cedar", "maple", "birch")
_STREETS = ("Main St", "River Rd", "Lake Ave", "Market St", "Elm St", "Park Blvd", "Hill Rd", "Union St")
_TIMEZONES = ("America/Chicago", "America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")

# US federal holidays (observed) 2027-2028: a clinic closes its groups on them.
_HOLIDAYS = (
    "2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-06-18", "2027-07-05",
    "2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25", "2027-11-26", "2027-12-24",
    "2027-12-31", "2028-01-17", "2028-02-21",
)

_FEMALE = (
    "Ana", "Maria", "Grace", "Elena", "Imani", "Kira", "Maya", "Olga", "Rosa", "Tess", "Vera", "Xin",
    "Yara", "Abby", "Dina", "Fay", "Hana", "Jade", "Lena", "Nia", "Sofia", "Lucia", "Carmen", "Aisha",
    "Beth", "Chloe", "Diane", "Erin", "Gloria", "Holly", "Jenna", "Keisha", "Laura", "Mei", "Nora",
    "Paula", "Rachel", "Sara", "Tamika", "Wendy",
)
_MALE = (
    "Ben", "Dev", "Farid", "Hugo", "Jon", "Luis", "Nate", "Pablo", "Quinn", "Sam", "Umar", "Wes",
    "Zeke", "Bo", "Cruz", "Eli", "Gus", "Ivo", "Kai", "Milo", "Andre", "Carlos", "Darius", "Eric",
    "Frank", "Gabe", "Hector", "Isaac", "Jamal", "Kevin", "Marcus", "Omar", "Pete", "Ray", "Tony",
    "Victor", "Will", "Jose", "Miguel", "Troy",
)
_LAST = (
    "Rivera", "Nguyen", "Okafor", "Schmidt", "Haddad", "Kowalski", "Moreau", "Tanaka", "Silva", "Brooks",
    "Johnson", "Williams", "Garcia", "Martinez", "Lopez", "Hernandez", "Smith", "Brown", "Davis", "Miller",
    "Wilson", "Anderson", "Thomas", "Jackson", "White", "Harris", "Clark", "Lewis", "Young", "King",
    "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts",
    "Ortiz", "Chen", "Abara", "Kowal", "Reyes", "Patel", "Kim", "Novak", "Olson", "Larsen",
)
_HISPANIC_FEMALE = ("Maria", "Lucia", "Carmen", "Sofia", "Ana", "Rosa", "Gloria", "Paula", "Elena", "Yesenia")
_HISPANIC_MALE = ("Carlos", "Hector", "Jose", "Miguel", "Luis", "Pablo", "Cruz", "Victor", "Javier", "Andres")
_HISPANIC_LAST = ("Rivera", "Garcia", "Martinez", "Lopez", "Hernandez", "Ortiz", "Reyes", "Silva", "Ramirez", "Torres")

# Adult archetypes and their share of adult patients.
_ADULT_ARCHETYPES = (
    ("day_worker", 0.34),
    ("flexible", 0.18),
    ("parent", 0.14),
    ("evening_worker", 0.08),
    ("weekend_retail", 0.08),
    ("night_shift", 0.07),
    ("no_car", 0.06),
    ("day_worker_sat", 0.05),
)
# Which band of blocks an archetype mostly needs (a site plans its blocks on these).
_BAND = {
    "day_worker": "evening", "day_worker_sat": "evening", "night_shift": "evening",
    "flexible": "day", "evening_worker": "day", "weekend_retail": "day", "no_car": "day",
    "parent_home": "day", "parent_custody": "evening", "parent_pickup": "late", "parent_bedtime": "late",
    "adolescent": "teen",
}

_CLINICAL = ["LADC", "LPC", "LCSW"]
_ANY_STAFF = ["LADC", "LPC", "LCSW", "LMFT", "CPRS"]
_FAMILY = ["LMFT", "LCSW"]
_TEEN = ["LADC", "LPC", "LCSW", "LMFT"]
# An evening/morning track rotates through these topics; every 3 consecutive sessions hold relapse prevention.
_TRACK_TOPICS = ("relapse_prevention", "process", "skills", "relapse_prevention", "mindfulness", "early_recovery")
_TEEN_TOPICS = ("skills", "process", "mindfulness", "early_recovery")


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _m(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _window(days, start: str, end: str, reason: Optional[str] = None) -> dict:
    days = [d for d in ALL_DAYS if d in days]  # always in week order
    window: dict[str, Any] = {"days": days, "start": start, "end": end}
    if reason is not None:
        window["reason"] = reason
    return window


def _pick(rng: random.Random, weighted) -> str:
    """A weighted choice from ((value, weight), ...), walked in the given order."""
    total = sum(weight for _, weight in weighted)
    x = rng.random() * total
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def _travel(rng: random.Random, low: int, high: int) -> int:
    return 5 * rng.randint(low // 5, high // 5)


def _covers(windows: list[dict], block: dict) -> bool:
    """Whether one of the windows holds the whole block (windows here never run past midnight)."""
    start, end = _m(block["start"]), _m(block["end"])
    for window in windows:
        w_start, w_end = _m(window["start"]), _m(window["end"])
        if block["day"] in window["days"] and w_start <= start and end <= w_end and w_start < w_end:
            return True
    return False


class _Builder:
    """Builds one program; every random draw goes through self.rng in a fixed order."""

    def __init__(self, size: str, seed: int):
        if size not in _SIZE:
            raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
        self.size = size
        self.seed = seed
        self.rng = random.Random(f"iop-sched-benchmark/{size}/{seed}")
        config = _SIZE[size]
        self.n_patients = max(1, round(config["patients"] * self.rng.uniform(0.93, 1.07)))
        self.n_sites = config["sites"]
        self.name = config["name"]
        self.rooms: list[dict] = []
        self.blocks: list[dict] = []
        self.clinicians: list[dict] = []
        self.patients: list[dict] = []
        self.bands: list[str] = []  # per patient, for planning only (not in the document)
        self.archetypes: list[str] = []  # per patient, for reports only (not in the document)

    # ------------------------------------------------------------------ program
    def program(self) -> dict:
        rng = self.rng
        first_monday = date(2027, 1, 4)
        start = first_monday + timedelta(weeks=rng.randint(0, 38))
        weeks = 12
        last = start + timedelta(days=weeks * 7 - 1)
        closures = [d for d in _HOLIDAYS if start.isoformat() <= d <= last.isoformat()]
        if not closures:  # a staff-training Friday stands in for a holiday
            closures = [(start + timedelta(weeks=6, days=4)).isoformat()]
        self.start, self.weeks = start, weeks
        self.timezone = rng.choice(_TIMEZONES)
        return {
            "name": self.name,
            "timezone": self.timezone,
            "start": start.isoformat(),
            "weeks": weeks,
            "closures": closures,
            "rules": {
                "min_weekly_hours": {"adult": 9, "adolescent": 6},
                "max_weekly_hours": 19,
                "max_hours_per_day": 4,
                "min_days_per_week": 3,
                "max_patients_per_clinician": 12,
                "required_topics": {"relapse_prevention": 1},
            },
        }

    # ------------------------------------------------------------------ sites
    def sites(self) -> None:
        rng = self.rng
        n = self.n_sites
        self.site_ids = list(_SITE_NAMES[:n])
        weights = [rng.uniform(0.6, 1.4) for _ in range(n)]
        weights[0] = max(weights[0], 1.2)  # the flagship site is the largest
        self.site_weight = weights
        # Which sites run special tracks.
        if n == 1:
            teen, spanish, women = [0], ([0] if rng.random() < 0.6 else []), []
        elif n == 2:
            teen, spanish, women = [0], [1], [0]
        else:
            order = list(range(n))
            teen = sorted([0] + rng.sample(order[1:], max(1, round(n * 0.35)) - 1))
            spanish = sorted(rng.sample(order, max(1, round(n * 0.35))))
            women = sorted(rng.sample(order, max(1, round(n * 0.45))))
        self.teen_sites, self.spanish_sites, self.women_sites = teen, spanish, women

    def neighbour(self, site: int) -> int:
        """A second site a patient or clinician may reach: the next one along the list."""
        n = self.n_sites
        return (site + 1) % n if self.rng.random() < 0.5 or site == 0 else (site - 1) % n

    # ------------------------------------------------------------------ patients
    def patient_site(self) -> int:
        rng = self.rng
        x = rng.random() * sum(self.site_weight)
        for site, weight in enumerate(self.site_weight):
            x -= weight
            if x < 0:
                return site
        return self.n_sites - 1

    def make_patients(self) -> None:
        rng = self.rng
        tele_base = rng.uniform(0.28, 0.45)
        self.home_site: list[int] = []
        for index in range(self.n_patients):
            site = self.patient_site()
            adolescent = site in self.teen_sites and rng.random() < (0.22 if self.n_sites <= 2 else 0.25)
            archetype = "adolescent" if adolescent else _pick(rng, _ADULT_ARCHETYPES)
            patient, band, tele_adjust = self.make_patient(index, archetype, site)
            patient["telehealth"] = rng.random() < min(0.95, max(0.05, tele_base + tele_adjust))
            self.patients.append(patient)
            self.bands.append(band if (band != "late" or patient["telehealth"]) else "evening")
            self.home_site.append(site)

    def make_patient(self, index: int, archetype: str, site: int) -> tuple[dict, str, float]:
        rng = self.rng
        population = "adolescent" if archetype == "adolescent" else "adult"
        female = rng.random() < (0.45 if archetype in ("parent",) else 0.36)
        spanish_share = 0.22 if site in self.spanish_sites else 0.05
        spanish = rng.random() < spanish_share
        if spanish:
            first = rng.choice(_HISPANIC_FEMALE if female else _HISPANIC_MALE)
            last = rng.choice(_HISPANIC_LAST)
        else:
            first = rng.choice(_FEMALE if female else _MALE)
            last = rng.choice(_LAST)
        patient: dict[str, Any] = {"id": f"p{index + 1:04d}", "name": f"{first} {last}", "population": population}
        tags = []
        if female:
            tags.append("women")
        if spanish:
            tags.append("spanish")
        if tags:
            patient["tags"] = tags
        busy: list[dict] = []
        prefer: list[dict] = []
        tele_adjust = 0.0
        band = _BAND.get(archetype, "day")

        if archetype in ("day_worker", "day_worker_sat"):
            begin = rng.choice(["07:00", "07:30", "07:30", "08:00", "08:00", "08:00", "08:30", "09:00"])
            length = rng.choice([510, 510, 540])  # 8.5 or 9 h with lunch
            days = list(WEEKDAYS) + (["sat"] if archetype == "day_worker_sat" else [])
            busy.append(_window(days, begin, _hm(_m(begin) + length), "work"))
            travel = _travel(rng, 10, 45)
            if rng.random() < 0.12:
                prefer.append(_window(["sat"], "09:00", "12:00"))
        elif archetype == "night_shift":
            work_days = rng.choice([["sun", "mon", "tue", "wed", "thu"], ["mon", "tue", "wed", "thu", "fri"]])
            begin = rng.choice(["22:00", "22:00", "23:00"])
            end = "06:30" if begin == "22:00" else "07:30"
            busy.append(_window(work_days, begin, end, "work"))
            sleep_days = [ALL_DAYS[(ALL_DAYS.index(d) + 1) % 7] for d in work_days]
            wake = rng.choice(["13:00", "14:00", "14:00", "15:00"])
            busy.append(_window(sleep_days, "07:00" if begin == "22:00" else "08:00", wake, "other"))
            travel = _travel(rng, 10, 40)
            tele_adjust = 0.1
        elif archetype == "evening_worker":
            begin = rng.choice(["14:00", "14:00", "15:00", "16:00"])
            end = _hm(_m(begin) + 480)
            days = rng.choice([list(WEEKDAYS), ["tue", "wed", "thu", "fri", "sat"], ["mon", "tue", "wed", "thu", "sat"]])
            busy.append(_window(days, begin, end, "work"))
            travel = _travel(rng, 10, 35)
            if rng.random() < 0.3:
                prefer.append(_window(WEEKDAYS, "09:00", "12:00"))
        elif archetype == "weekend_retail":
            busy.append(_window(["sat", "sun"], rng.choice(["09:00", "10:00"]), rng.choice(["18:00", "19:00"]), "work"))
            weekdays = rng.sample(list(WEEKDAYS), rng.choice([2, 2, 3]))
            busy.append(_window(weekdays, rng.choice(["10:00", "11:00", "12:00"]), rng.choice(["17:00", "18:00", "19:00"]),
                                "work"))
            travel = _travel(rng, 10, 35)
        elif archetype == "flexible":
            travel = _travel(rng, 5, 40)
            roll = rng.random()
            if roll < 0.25:  # a weekly appointment (probation officer, doctor, court)
                busy.append(_window([rng.choice(WEEKDAYS)], rng.choice(["09:00", "10:00", "13:00", "14:00"]),
                                    rng.choice(["11:30", "12:00"]) if roll < 0.12 else "16:00", "other"))
            elif roll < 0.40:  # part-time job
                days = rng.sample(list(WEEKDAYS), 2)
                busy.append(_window(days, "12:00", "18:00", "work"))
            if rng.random() < 0.5:
                if rng.random() < 0.7:
                    prefer.append(_window(WEEKDAYS, "09:00", "12:00"))
                else:
                    prefer.append(_window(WEEKDAYS, "13:00", "16:00"))
            tele_adjust = -0.05
        elif archetype == "no_car":
            # Depends on the bus: no way home after 20:00, and every trip is long.
            busy.append(_window(ALL_DAYS, "20:00", "06:00", "transport"))
            travel = _travel(rng, 30, 45)
            if rng.random() < 0.3:
                busy.append(_window(rng.sample(list(WEEKDAYS), 2), "13:00", "17:00", "work"))
            tele_adjust = 0.3
        elif archetype == "parent":
            kind = _pick(rng, (("pickup", 0.30), ("bedtime", 0.25), ("home", 0.30), ("custody", 0.15)))
            archetype = f"parent_{kind}"
            band = _BAND[archetype]
            if kind == "pickup":  # part-time school-hours job, then the children until bedtime
                busy.append(_window(WEEKDAYS, "09:00", "14:30", "work"))
                busy.append(_window(WEEKDAYS, "15:00", "19:00", "childcare"))
                tele_adjust = 0.35
            elif kind == "bedtime":  # full-time job, children until they are in bed: available late
                busy.append(_window(WEEKDAYS, "08:00", "16:30", "work"))
                busy.append(_window(WEEKDAYS, "17:00", rng.choice(["19:00", "19:30"]), "childcare"))
                tele_adjust = 0.35
            elif kind == "home":  # at home with the children: school pickup in the afternoon
                busy.append(_window(WEEKDAYS, "07:00", "08:30", "childcare"))
                busy.append(_window(WEEKDAYS, "15:00", "19:00", "childcare"))
                tele_adjust = 0.15
            else:  # shared custody: the children on some evenings
                busy.append(_window(WEEKDAYS, "08:00", "16:30", "work"))
                busy.append(_window(rng.choice([["mon", "wed", "fri"], ["tue", "thu"], ["mon", "tue"]]),
                                    "16:30", "21:00", "childcare"))
                tele_adjust = 0.2
            travel = _travel(rng, 10, 35)
        else:  # adolescent in school
            busy.append(_window(WEEKDAYS, "07:45", "15:15", "school"))
            if rng.random() < 0.3:  # practice, a job or a sibling to mind on two afternoons
                busy.append(_window(rng.sample(list(WEEKDAYS), rng.choice([1, 2])), "15:30", "17:30", "other"))
            if rng.random() < 0.15:
                busy.append(_window(["sat"], "10:00", "16:00", "work"))
            travel = _travel(rng, 10, 30)
            tele_adjust = -0.15

        patient["busy"] = busy
        patient["travel_minutes"] = travel
        if self.n_sites > 1:
            sites = [site]
            if rng.random() < 0.25:
                other = self.neighbour(site)
                if other != site:
                    sites.append(other)
            patient["sites"] = [self.site_ids[s] for s in sorted(sites)]
        else:
            patient["sites"] = [self.site_ids[0]]
        if prefer:
            patient["prefer"] = prefer
        roll = rng.random()
        if roll < 0.15:
            patient["admitted"] = (self.start + timedelta(days=rng.randint(1, 41))).isoformat()
        elif roll < 0.30:
            patient["discharge"] = (self.start + timedelta(days=rng.randint(21, self.weeks * 7 - 2))).isoformat()
        self.archetypes.append(archetype)
        return patient, band, tele_adjust

    # ------------------------------------------------------------------ rooms and blocks
    def census(self) -> list[dict[str, float]]:
        """Per site, patients by band (a patient reaching two sites counts half at each)."""
        counts = [{"day": 0.0, "evening": 0.0, "late": 0.0, "teen": 0.0} for _ in range(self.n_sites)]
        index = {name: i for i, name in enumerate(self.site_ids)}
        for patient, band in zip(self.patients, self.bands):
            sites = [index[s] for s in patient["sites"]]
            for s in sites:
                counts[s][band] += 1.0 / len(sites)
        return counts

    def make_rooms_and_blocks(self) -> None:
        rng = self.rng
        census = self.census()
        self.virtual = "telehealth"
        total_late = 0.0
        for s, site in enumerate(self.site_ids):
            c = census[s]
            total_late += c["late"]
            site_patients = sum(c.values())
            n_rooms = min(len(_ROOM_NAMES), max(2, math.ceil(site_patients / 30)))
            street = rng.choice(_STREETS)
            number = rng.randint(100, 4900)
            rooms = []
            for r in range(n_rooms):
                capacity = rng.choice([12, 14, 14, 16]) if r == 0 else rng.choice([8, 10, 10, 12, 12, 14])
                room = {"id": f"{site}-{_ROOM_NAMES[r]}", "site": site, "capacity": capacity,
                        "address": f"{number} {street}, Room {r + 1} ({_ROOM_NAMES[r].title()})"}
                rooms.append(room)
                self.rooms.append(room)
            self.site_blocks(s, rooms, c)
        self.rooms.append({"id": self.virtual, "virtual": True})
        self.telehealth_blocks(total_late)

    def _block(self, block_id: str, day: str, start: str, end: str, room: str, topic: str,
               audience: list[str], min_size: int, max_size: int, credentials: Optional[list[str]],
               clinicians: int = 1) -> dict:
        block: dict[str, Any] = {"id": block_id, "day": day, "start": start, "end": end, "room": room,
                                 "topic": topic}
        if audience:
            block["audience"] = audience
        block["min_size"] = min_size
        block["max_size"] = max_size
        if clinicians != 1:
            block["clinicians"] = clinicians
        if credentials is not None:
            block["credentials"] = list(credentials)
        self.blocks.append(block)
        return block

    def credentials_for(self, topic: str) -> Optional[list[str]]:
        rng = self.rng
        if topic == "family_education":
            return list(_FAMILY)
        if topic in ("skills", "mindfulness"):
            return None if rng.random() < 0.3 else list(_ANY_STAFF)
        if rng.random() < 0.15:
            return _CLINICAL + ["LMFT"]
        return list(_CLINICAL)

    def site_blocks(self, s: int, rooms: list[dict], c: dict[str, float]) -> None:
        """Candidate blocks of one site, planned on its census with evening seats a little short."""
        rng = self.rng
        site = self.site_ids[s]
        used: set = set()  # (room index, day, part) taken: part in am / pm / ev
        teen_here = s in self.teen_sites

        def room_id(r: int) -> str:
            return rooms[r]["id"]

        # Evening (and Saturday) sessions: ~3 per evening patient, ~10 seated per group, planned short.
        evening_sessions = 3 * c["evening"] / 10.5 * rng.uniform(0.55, 0.72)
        day_sessions = 3 * c["day"] / 9.5 * rng.uniform(1.3, 1.7)
        teen_sessions = 3 * c["teen"] / 8 * rng.uniform(1.0, 1.3)

        # After-school adolescent track first (Mon-Thu; a second room or Friday when the census asks).
        teen_start, teen_end = ("15:45", "18:15") if rng.random() < 0.5 else ("16:00", "18:00")
        if teen_here:
            teen_room = len(rooms) - 1
            n_teen = max(4, math.ceil(teen_sessions))
            teen_slots = [(teen_room, d) for d in ("mon", "tue", "wed", "thu", "fri")]
            if len(rooms) >= 3:
                teen_slots += [(teen_room - 1, d) for d in ("tue", "thu", "mon", "wed")]
            rp_slots = rng.choice([(0, 2), (1, 3), (0, 3)])  # relapse prevention twice a week
            offset = rng.randrange(len(_TEEN_TOPICS))
            for k, (r, day) in enumerate(teen_slots[:n_teen]):
                if k in rp_slots or k == 5:
                    topic = "relapse_prevention"
                else:
                    topic = _TEEN_TOPICS[(offset + k) % len(_TEEN_TOPICS)]
                self._block(f"{site}-{day}-teen-{_ROOM_NAMES[r]}", day, teen_start, teen_end, room_id(r), topic,
                            ["adolescent"], 3, rng.choice([10, 12]), list(_TEEN),
                            clinicians=2 if rng.random() < 0.2 else 1)
                used.add((r, day, "as"))
            # Saturday multi-family group for adolescents and their parents.
            self._block(f"{site}-sat-teen-family", "sat", "10:00", "12:00", room_id(teen_room), "family_education",
                        ["adolescent"], 3, 16, list(_FAMILY))

        def evening(r: int, day: str, hours: int = 3) -> tuple[str, str]:
            """18:00 start, or 18:30 after an after-school group that runs to 18:15 in the same room."""
            begin = 18 * 60 + (30 if (r, day, "as") in used and teen_end == "18:15" else 0)
            return _hm(begin), _hm(begin + hours * 60)

        # Specialty evening groups first (they take a smaller room on fixed evenings).
        special_room = min(1, len(rooms) - 1)
        if s in self.women_sites:
            days = ["tue", "thu"] if rng.random() < 0.6 else ["mon", "wed"]
            for k, day in enumerate(days):
                topic = "relapse_prevention" if k == 0 else "process"
                self._block(f"{site}-{day}-ev-women", day, *evening(special_room, day), room_id(special_room), topic,
                            ["adult", "women"], 3, rng.choice([10, 12]), self.credentials_for(topic))
                used.add((special_room, day, "ev"))
                evening_sessions -= 0.5
            if len(rooms) >= 3:  # a women's morning group as well
                day = rng.choice(["tue", "thu"])
                self._block(f"{site}-{day}-am-women", day, "09:00", "12:00", room_id(2), "process",
                            ["adult", "women"], 3, 10, self.credentials_for("process"))
                used.add((2, day, "am"))
        if s in self.spanish_sites:
            free = [d for d in ("mon", "wed", "tue", "thu") if (special_room, d, "ev") not in used]
            for k, day in enumerate(free[:2]):
                topic = "relapse_prevention" if k == 0 else "skills"
                self._block(f"{site}-{day}-ev-es", day, *evening(special_room, day), room_id(special_room), topic,
                            ["adult", "spanish"], 3, 10, ["LADC", "LCSW"])
                used.add((special_room, day, "ev"))
                evening_sessions -= 0.5
        # Family education: one evening a week, 2 h, in the last room.
        family_room = len(rooms) - 1
        family_day = next(d for d in ("thu", "wed", "tue", "mon", "fri") if (family_room, d, "ev") not in used)
        self._block(f"{site}-{family_day}-family", family_day, *evening(family_room, family_day, 2), room_id(family_room),
                    "family_education", ["adult"], 3, 16, list(_FAMILY))
        used.add((family_room, family_day, "ev"))

        # Saturday morning (one per site, two at large sites).
        n_sat = 2 if len(rooms) >= 3 and c["evening"] > 45 else 1
        for r in range(n_sat):
            topic = "relapse_prevention" if r == 0 or rng.random() < 0.5 else "process"
            start, end = ("09:00", "12:00") if r == 0 else ("12:30", "15:30")
            self._block(f"{site}-sat-{_ROOM_NAMES[r]}-{'am' if r == 0 else 'pm'}", "sat", start, end, room_id(r),
                        topic, ["adult"], rng.choice([3, 4]), rng.choice([12, 14]),
                        ["LADC", "LCSW", "LMFT"])
            evening_sessions -= 1

        # General evening tracks: the first room Mon-Thu always (a worker needs three evenings a week),
        # then further rooms Mon-Thu and a Friday evening while the (short) plan asks for more.
        n_evening = max(4, math.ceil(evening_sessions))
        evening_slots = [(r, d) for r in range(len(rooms)) for d in ("mon", "tue", "wed", "thu")] + [(0, "fri")]
        evening_slots = [(r, d) for r, d in evening_slots if (r, d, "ev") not in used][:n_evening]
        offsets = {}
        for r, day in evening_slots:
            if r not in offsets:
                offsets[r] = [rng.randrange(len(_TRACK_TOPICS)), 0]
            offset, k = offsets[r]
            offsets[r][1] += 1
            topic = _TRACK_TOPICS[(offset + k) % len(_TRACK_TOPICS)]
            size = rng.choice([10, 12, 12, 14])
            self._block(f"{site}-{day}-ev-{_ROOM_NAMES[r]}", day, *evening(r, day), room_id(r), topic,
                        ["adult"], rng.choice([3, 4, 4]), size, self.credentials_for(topic))
            used.add((r, day, "ev"))
            if (r, day, "as") not in used and rng.random() < 0.3:
                # an alternative start the coordinator could pick instead (same room, overlapping): earlier
                # for those whose work ends early, later for long commutes (but harder before a night shift)
                early = rng.random() < 0.5
                self._block(f"{site}-{day}-ev-{'early' if early else 'late'}-{_ROOM_NAMES[r]}", day,
                            "17:00" if early else "18:30", "20:00" if early else "21:30", room_id(r),
                            topic, ["adult"], 4, size, self.credentials_for(topic))

        # Mornings then afternoons for everyone else, room by room.
        n_day = max(3, math.ceil(day_sessions))
        slots = [(r, d, "am") for r in range(len(rooms)) for d in WEEKDAYS]
        slots += [(r, d, "pm") for r in range(len(rooms)) for d in ("mon", "tue", "wed", "thu")
                  if not ((r, d, "as") in used and teen_start == "15:45")]
        placed = 0
        track_offset: dict = {}
        for r, day, part in slots:
            if placed >= n_day:
                break
            if (r, day, part) in used:
                continue
            key = (r, part)
            if key not in track_offset:
                track_offset[key] = [rng.randrange(len(_TRACK_TOPICS)), 0]
            offset, k = track_offset[key]
            track_offset[key][1] += 1
            topic = _TRACK_TOPICS[(offset + k) % len(_TRACK_TOPICS)]
            begin, finish = ("09:00", "12:00") if part == "am" else ("13:00", "16:00")
            self._block(f"{site}-{day}-{part}-{_ROOM_NAMES[r]}", day, begin, finish, room_id(r), topic,
                        ["adult"], rng.choice([3, 4, 4]), rng.choice([10, 12, 12, 14]), self.credentials_for(topic))
            used.add((r, day, part))
            placed += 1

    def telehealth_blocks(self, total_late: float) -> None:
        """Telehealth in the virtual room: late-evening tracks for parents and shift workers, some mornings."""
        rng = self.rng
        room = self.virtual
        # Late evening, 19:30-22:00 (2.5 h): the parents who are free once the children are in bed.
        late_sessions = 4 * total_late / 9.5 * rng.uniform(0.85, 1.1)
        n_late = max(4, math.ceil(late_sessions))  # a track of at least Mon-Thu: 4 x 2.5 h reach 9 h
        tracks = math.ceil(n_late / 4)
        made = 0
        for t in range(tracks):
            offset = rng.randrange(len(_TRACK_TOPICS))
            days = ["mon", "tue", "wed", "thu"] if t % 2 == 0 else ["tue", "wed", "thu", "sun"]
            for k, day in enumerate(days):
                if made >= n_late:
                    break
                topic = _TRACK_TOPICS[(offset + k) % len(_TRACK_TOPICS)]
                self._block(f"tele-{day}-late-{t + 1}", day, "19:30", "22:00", room, topic, ["adult"],
                            3, rng.choice([10, 12]), self.credentials_for(topic))
                made += 1
        if self.size == "small":
            return
        # Daytime telehealth (patients far from a site or without a car): Mon/Wed/Fri mornings.
        day_tracks = max(1, round(self.n_sites / 4))
        for t in range(day_tracks):
            offset = rng.randrange(len(_TRACK_TOPICS))
            for k, day in enumerate(("mon", "wed", "fri")):
                topic = _TRACK_TOPICS[(offset + k) % len(_TRACK_TOPICS)]
                self._block(f"tele-{day}-am-{t + 1}", day, "09:00", "12:00", room, topic, ["adult"],
                            3, 12, self.credentials_for(topic))
        # Telehealth women-only and Spanish late groups (network-wide).
        self._block("tele-wed-late-women", "wed", "19:30", "22:00", room, "relapse_prevention",
                    ["adult", "women"], 3, 10, list(_CLINICAL))
        if self.spanish_sites:
            self._block("tele-mon-late-es", "mon", "19:30", "22:00", room, "process",
                        ["adult", "spanish"], 3, 10, ["LADC", "LCSW"])

    # ------------------------------------------------------------------ clinicians
    def make_clinicians(self) -> None:
        rng = self.rng
        n = max(3 if self.n_sites == 1 else 2 * self.n_sites, math.ceil(self.n_patients / rng.uniform(8, 12)))
        census = self.census()
        load = [sum(c.values()) for c in census]
        evening_share = [(c["evening"] + c["late"] + c["teen"]) / max(1.0, sum(c.values())) for c in census]
        # Home sites: every site gets a day and an evening clinician, the rest follow the census.
        homes = []
        for s in range(self.n_sites):
            homes += [s, s]
        while len(homes) < n:
            x = rng.random() * sum(load)
            for s, weight in enumerate(load):
                x -= weight
                if x < 0:
                    break
            homes.append(s)
        seen_at: dict[int, int] = {}
        self.clinician_site: list[int] = []
        self.shift_kind: list[str] = []
        for index, home in enumerate(homes):
            rank = seen_at.get(home, 0)
            seen_at[home] = rank + 1
            if rank == 0:
                shift = "day"
            elif rank == 1:
                shift = "evening"
            elif rank == 2 and home in self.teen_sites:
                shift = "split"
            elif rng.random() < 0.9 * evening_share[home]:  # staffing follows the census, a little short
                shift = _pick(rng, (("evening", 0.55), ("split", 0.25), ("part_time", 0.20)))
            else:
                shift = _pick(rng, (("day", 0.85), ("split", 0.15)))
            self.clinicians.append(self.make_clinician(index, home, shift, rank))
            self.clinician_site.append(home)
            self.shift_kind.append(shift)
        # Every site needs someone who may lead family education.
        for s in range(self.n_sites):
            here = [c for c, home in zip(self.clinicians, self.clinician_site) if home == s]
            if not any(set(c["credentials"]) & set(_FAMILY) for c in here):
                here[-1]["credentials"] = sorted((set(here[-1]["credentials"]) | {"LCSW"}) - {"CPRS"})

    def cover_blocks(self) -> None:
        """A clinic staffs the sessions it offers: every block gets at least one clinician who may lead it.

        Where nobody could (no one works that evening, or on Saturday), one clinician at the site with a
        fitting credential takes on that shift; weekly hour caps are left as they are, so staffing still
        binds when many blocks open.
        """
        rng = self.rng
        site_of_room = {room["id"]: room.get("site") for room in self.rooms}
        shift_of = dict(zip((c["id"] for c in self.clinicians), self.shift_kind))
        for block in self.blocks:
            site = site_of_room.get(block["room"])
            credentials = block.get("credentials")
            fits = [c for c in self.clinicians
                    if (credentials is None or set(credentials) & set(c["credentials"]))
                    and (site is None or site in c["sites"])]
            if any(_covers(c["available"], block) for c in fits):
                continue
            if not fits:
                continue
            evening = _m(block["end"]) > 17 * 60
            wanted = ("evening", "split", "part_time") if evening else ("day", "split")
            preferred = [c for c in fits if shift_of[c["id"]] in wanted] or fits
            chosen = rng.choice(preferred)
            if block["day"] == "sat":
                window = _window(["sat"], "08:00", "13:00" if _m(block["end"]) <= 13 * 60 else "16:00")
            elif evening:
                window = _window([block["day"]], "14:00", "22:30")
            else:
                window = _window([block["day"]], "08:00", "17:00")
            chosen["available"].append(window)

    def make_clinician(self, index: int, home: int, shift: str, rank: int) -> dict:
        rng = self.rng
        female = rng.random() < 0.7
        first = rng.choice(_FEMALE if female else _MALE)
        last = rng.choice(_LAST)
        if rank < 2:  # the first two at a site are licensed addiction counsellors
            credentials = ["LADC"] + (["LCSW"] if rng.random() < 0.35 else [])
        else:
            credentials = {
                "LADC": ["LADC"], "LPC": ["LPC"], "LCSW": ["LCSW"], "LMFT": ["LMFT"], "CPRS": ["CPRS"],
                "LADC+LPC": ["LADC", "LPC"], "LADC+LCSW": ["LADC", "LCSW"],
            }[_pick(rng, (("LADC", 0.30), ("LPC", 0.14), ("LCSW", 0.14), ("LMFT", 0.10), ("CPRS", 0.14),
                          ("LADC+LPC", 0.08), ("LADC+LCSW", 0.10)))]
        if shift == "day":
            if rng.random() < 0.25:  # four ten-hour days
                days = rng.choice([["mon", "tue", "wed", "thu"], ["tue", "wed", "thu", "fri"]])
                available = [_window(days, "07:30", "18:00")]
            else:
                available = [_window(WEEKDAYS, "08:00", rng.choice(["16:30", "17:00"]))]
            cap = rng.choice([20, 24, 28, 32])
        elif shift == "evening":
            begin, end = rng.choice([("13:00", "21:30"), ("14:00", "22:30"), ("14:00", "22:30")])
            days = rng.choice([["mon", "tue", "wed", "thu"], ["mon", "tue", "wed", "thu", "fri"],
                               ["tue", "wed", "thu", "fri"]])
            available = [_window(days, begin, end)]
            if rng.random() < 0.25:
                available.append(_window(["sat"], "08:00", "13:00"))
            cap = rng.choice([16, 18, 20, 24])
        elif shift == "split":
            if rng.random() < 0.5:
                available = [_window(["mon", "wed", "fri"], "08:00", "12:30"),
                             _window(["tue", "thu"], "13:00", "21:30")]
            else:  # two long days and a short one
                long_days = rng.choice([["mon", "wed"], ["tue", "thu"]])
                available = [_window(long_days, "08:00", "21:30"), _window(["fri"], "08:00", "12:30")]
            cap = rng.choice([16, 20, 24])
        else:  # part time: a few evenings and Saturday morning
            available = [_window(rng.sample(["mon", "tue", "wed", "thu"], 2), "17:30", "22:30"),
                         _window(["sat"], "08:00", "13:00")]
            cap = rng.choice([12, 12, 15])
        clinician: dict[str, Any] = {
            "id": f"c{index + 1:03d}",
            "name": f"{first} {last}",
            "email": f"{first[0].lower()}{last.lower()}{index + 1}@{self.site_ids[0]}.example",
            "credentials": credentials,
            "available": available,
            "max_weekly_hours": cap,
        }
        sites = [home]
        if self.n_sites > 1 and rng.random() < 0.25:
            other = self.neighbour(home)
            if other != home:
                sites.append(other)
        clinician["sites"] = [self.site_ids[s] for s in sorted(sites)]
        return clinician

    def primary_clinicians(self) -> None:
        """About one patient in five names a primary counsellor who works at one of their sites."""
        rng = self.rng
        by_site: dict[str, list[str]] = {}
        for clinician in self.clinicians:
            if "CPRS" in clinician["credentials"] and len(clinician["credentials"]) == 1:
                continue
            for site in clinician["sites"]:
                by_site.setdefault(site, []).append(clinician["id"])
        for patient in self.patients:
            if rng.random() < 0.2:
                options = [cid for site in patient["sites"] for cid in by_site.get(site, [])]
                if options:
                    patient["primary_clinician"] = rng.choice(options)

    # ------------------------------------------------------------------ whole document
    def build(self) -> dict:
        program = self.program()
        self.sites()
        self.make_patients()
        self.make_rooms_and_blocks()
        self.make_clinicians()
        self.cover_blocks()
        self.primary_clinicians()
        # Key order inside each patient follows the format page (primary_clinician after dates).
        ordered = []
        keys = ("id", "name", "population", "tags", "busy", "travel_minutes", "telehealth", "sites",
                "admitted", "discharge", "primary_clinician", "prefer")
        for patient in self.patients:
            ordered.append({k: patient[k] for k in keys if k in patient})
        return {
            "format": "iop-sched/1",
            "program": program,
            "rooms": self.rooms,
            "blocks": self.blocks,
            "clinicians": self.clinicians,
            "patients": ordered,
        }


def generate(size: str, seed: int = 0) -> dict:
    """A realistic iop-sched/1 problem document of the given size; the same (size, seed) gives the same document."""
    return _Builder(size, int(seed)).build()


def generate_with_archetypes(size: str, seed: int = 0) -> tuple[dict, list[str]]:
    """The document of `generate` and, per patient in order, the archetype it was drawn from (for reports)."""
    builder = _Builder(size, int(seed))
    document = builder.build()
    return document, list(builder.archetypes)


def dumps(document: dict) -> str:
    """The canonical JSON text of a generated document (byte-identical for the same size and seed)."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def summary(document: dict) -> dict:
    """Counts that describe a generated program (for the CLI and the benchmark reports)."""
    patients = document["patients"]
    sites = sorted({room["site"] for room in document["rooms"] if room.get("site")})
    return {
        "patients": len(patients),
        "adolescents": sum(1 for p in patients if p.get("population") == "adolescent"),
        "telehealth_consent": sum(1 for p in patients if p.get("telehealth")),
        "sites": len(sites),
        "rooms": len(document["rooms"]),
        "blocks": len(document["blocks"]),
        "telehealth_blocks": sum(1 for b in document["blocks"] if b["room"] == "telehealth"),
        "clinicians": len(document["clinicians"]),
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a realistic iop-sched/1 IOP program.")
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="file to write (default: standard output)")
    parser.add_argument("--summary", action="store_true", help="print counts and generation time to stderr")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    document, archetypes = generate_with_archetypes(args.size, args.seed)
    text = dumps(document)
    elapsed = time.perf_counter() - started
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.summary:
        counts = summary(document)
        print(" ".join(f"{k}={v}" for k, v in counts.items()) + f" seconds={elapsed:.3f}", file=sys.stderr)
        mix = {name: archetypes.count(name) for name in sorted(set(archetypes))}
        print("archetypes: " + " ".join(f"{k}={v}" for k, v in mix.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
