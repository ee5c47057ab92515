"""A small evening program built in Python code rather than JSON.

A single site with one group room and a telehealth room; working parents, a night
worker and an adolescent. Shows the models, a solve, and where each patient goes.

    python examples/build_in_python.py
"""

from __future__ import annotations

import iop_sched
from iop_sched.schema import Block, Clinician, Patient, Problem, Program, Room, Rules, Window, BusyWindow

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def build_problem() -> Problem:
    rooms = [Room(id="cedar", site="main", capacity=12, address="12 Main St, Cedar room"),
             Room(id="video", virtual=True)]
    blocks = [Block(id=f"{day}-evening", day=day, start="18:00", end="21:00", room="cedar",
                    topic="relapse_prevention" if day in ("mon", "thu") else "skills", min_size=2, max_size=10)
              for day in ("mon", "tue", "wed", "thu")]
    blocks += [Block(id=f"{day}-morning", day=day, start="09:00", end="12:00", room="cedar", topic="process", min_size=2)
               for day in ("tue", "thu", "sat")]
    blocks.append(Block(id="wed-late-video", day="wed", start="20:00", end="22:30", room="video",
                        topic="relapse_prevention", min_size=2))
    clinicians = [
        Clinician(id="lee", name="Jordan Lee", credentials=["LADC"],
                  available=[Window(days=WEEKDAYS, start="16:00", end="23:00")], max_weekly_hours=16),
        Clinician(id="patel", name="Sam Patel", credentials=["LCSW"],
                  available=[Window(days=["tue", "thu", "sat"], start="08:00", end="13:00")], max_weekly_hours=10),
    ]
    work = BusyWindow(days=WEEKDAYS, start="08:00", end="17:00", reason="work")
    patients = [
        Patient(id="A1", busy=[work], travel_minutes=30),
        Patient(id="A2", busy=[work], travel_minutes=20),
        Patient(id="A3", busy=[work], travel_minutes=45, telehealth=True),
        Patient(id="N1", busy=[BusyWindow(days=["sun", "mon", "tue", "wed", "thu"], start="22:00", end="07:00", reason="work")]),
        Patient(id="N2", busy=[BusyWindow(days=["mon", "tue", "wed", "thu", "fri"], start="15:00", end="23:30", reason="work")]),
        Patient(id="P1", busy=[BusyWindow(days=WEEKDAYS, start="17:00", end="20:00", reason="childcare")], telehealth=True),
        Patient(id="T1", population="adolescent", busy=[BusyWindow(days=WEEKDAYS, start="07:30", end="15:30", reason="school")]),
    ]
    program = Program(name="Cedar Street IOP", timezone="America/New_York", start="2027-01-04", weeks=8,
                      rules=Rules(min_days_per_week=3, max_patients_per_clinician=12,
                                  required_topics={"relapse_prevention": 1}))
    data = Problem(format="iop-sched/1", program=program, rooms=rooms, blocks=blocks,
                   clinicians=clinicians, patients=patients).model_dump(mode="json", exclude_none=True)
    return iop_sched.problem_from_data(data)  # runs the document-wide checks too


def main() -> None:
    problem = build_problem()
    schedule = iop_sched.solve(problem, time_limit=10)
    print(schedule.summary())
    print()
    print(schedule.assignments()[["patient", "block", "day", "start", "end", "topic", "clinicians"]].to_string(index=False))


if __name__ == "__main__":
    main()
