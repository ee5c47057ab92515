"""Tier 1's relaxations (benchmarks/relaxations.py): each a valid bound, the week patterns the exact minimal weeks."""

from __future__ import annotations

import csv
import itertools

from ortools.sat.python import cp_model

from benchmarks import relaxations
from iop_sched.constraints.availability import compute_eligibility
from iop_sched.week_alone import week_alone_model
from programs import block, build, clinician, patient, program_dict, window


def two_hour_groups_one_seat_on_tuesday() -> dict:
    """Two patients need 3 h a week: only Monday and Tuesday together (4 h) make a week; Tuesday seats one."""
    return program_dict(blocks=[block("a", "mon", "09:00", "11:00", room="r1"),
                                block("b", "tue", "09:00", "11:00", room="r1", max_size=1, min_size=1)],
                        patients=[patient("p1"), patient("p2")], rules={"min_weekly_hours": 3})


def test_the_week_patterns_see_what_the_plain_lp_does_not():
    """The plain LP places both, each with half a Tuesday seat (2 h + 1 h = 3 h); a real week needs all of Tuesday."""
    rows = {row["relaxation"]: row for row in relaxations.measure(two_hour_groups_one_seat_on_tuesday(), 10)}
    assert rows["lp"]["bound"] == 2.0
    assert rows["lp_placeable_alone"]["bound"] == 2.0
    assert rows["lp_week_patterns"]["bound"] == 1.0
    assert "2 weeks for 2 patients" in rows["lp_week_patterns"]["note"]
    assert rows["integer_attend"]["bound"] == 1.0
    assert rows["integer_open_staff"]["bound"] == 2.0   # the seats, not the groups' opening, are the gap here
    assert (rows["cp_sat"]["bound"], rows["cp_sat"]["status"], rows["cp_sat"]["note"]) == (1, "optimal", "1 placed")


def _is_valid_week(problem, patient_obj, blocks, chosen) -> bool:
    """The week checked by CP-SAT on the one-patient model (independent of the enumeration)."""
    model, attend = week_alone_model(problem, patient_obj, blocks)
    for b, var in attend.items():
        model.add(var == (1 if b in chosen else 0))
    return cp_model.CpSolver().solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def test_minimal_weeks_are_exactly_the_minimal_valid_subsets():
    days = ("mon", "tue", "wed", "thu")
    blocks = [block(f"{day}-am", day, "09:00", "12:00", room="r1", topic="skills" if day == "mon" else "process")
              for day in days]
    blocks += [block("tue-mid", "tue", "11:00", "12:00", room="r2"),        # overlaps tue-am
               block("wed-pm", "wed", "13:00", "15:00", room="r1", topic="skills"),
               block("fri-short", "fri", "09:00", "10:00", room="r1")]
    rooms = [{"id": "r1", "site": "north", "capacity": 10}, {"id": "r2", "site": "north", "capacity": 10}]
    data = program_dict(blocks=blocks, rooms=rooms, patients=[patient("p", required_topics={"skills": 1})],
                        clinicians=[clinician("c1", available=[window("mon tue wed thu fri", "08:00", "18:00")])],
                        rules={"min_weekly_hours": 7, "max_weekly_hours": 10, "min_days_per_week": 2,
                               "max_hours_per_day": 4})
    problem = build(data)
    eligible = compute_eligibility(problem).blocks_of_patient[0]
    assert len(eligible) == len(blocks)
    valid = {frozenset(subset) for size in range(1, len(eligible) + 1)
             for subset in itertools.combinations(eligible, size)
             if _is_valid_week(problem, problem.patients[0], eligible, set(subset))}
    minimal = {week for week in valid if not any(other < week for other in valid)}
    found = relaxations.minimal_weeks(problem, problem.patients[0], eligible)
    assert found is not None and len(found) == len(set(found))
    assert {frozenset(week) for week in found} == minimal
    assert len(minimal) >= 3
    assert relaxations.minimal_weeks(problem, problem.patients[0], eligible, cap=1) is None


def test_every_relaxation_bounds_the_optimum_and_the_table_is_written(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    assert relaxations.main(["--size", "small", "--seed", "1", "--time-limit", "10", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [row["relaxation"] for row in rows] == [*relaxations.RELAXATIONS, "cp_sat"]
    solved = rows[-1]
    assert solved["status"] == "optimal"
    placed = int(solved["note"].split()[0])
    bounds = {row["relaxation"]: float(row["bound"]) for row in rows[:-1]}
    assert all(bound >= placed - 1e-6 for bound in bounds.values()), bounds
    # each LP adds rows to the one before it, so never looser
    assert bounds["lp"] >= bounds["lp_placeable_alone"] - 1e-6 >= bounds["lp_week_patterns"] - 2e-6
    assert "small seed 1" in capsys.readouterr().out
