"""Tier 1's relaxations (benchmarks/relaxations.py): each a valid bound, the week patterns the exact minimal weeks."""

from __future__ import annotations

import csv
import itertools
import math

import numpy as np
import pytest

from ortools.sat.python import cp_model

from benchmarks import relaxations
from benchmarks.baselines import SparseRows
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
    assert 1.0 <= rows["lp_week_cuts"]["bound"] <= 1.0 + 1e-6   # the same hull as cutting planes, bound from duals
    assert "2 cuts" in rows["lp_week_cuts"]["note"]
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
    # small seed 4 has a gap to close: 26 placeable alone, 22 placed at best
    assert relaxations.main(["--size", "small", "--seed", "4", "--time-limit", "10", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [row["relaxation"] for row in rows] == [*relaxations.RELAXATIONS, "cp_sat"]
    solved = rows[-1]
    assert solved["status"] == "optimal"
    placed = int(solved["note"].split()[0])
    bounds = {row["relaxation"]: float(row["bound"]) for row in rows[:-1]}
    assert all(bound >= placed - 1e-6 for bound in bounds.values()), bounds
    # each LP adds rows to the one before it, so never looser
    assert bounds["lp"] >= bounds["lp_placeable_alone"] - 1e-6 >= bounds["lp_week_patterns"] - 2e-6
    # once no cut is violated every patient's attendance lies in their hull: the two meet
    assert abs(bounds["lp_week_cuts"] - bounds["lp_week_patterns"]) < 1e-3
    assert bounds["lp_week_patterns"] < bounds["lp_placeable_alone"] - 1   # the weeks see what the LP does not
    assert "small seed 4" in capsys.readouterr().out


def test_the_safe_bound_holds_for_any_duals_and_is_tight_for_the_right_ones():
    # min -x1 - x2 with x1 + x2 <= 1.5, 0 <= x <= 1: the optimum is -1.5
    rows = SparseRows()
    rows.add([0, 1], [1.0, 1.0], -math.inf, 1.5)
    cost, upper = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    assert relaxations.safe_lower_bound(rows, np.array([1.0]), cost, upper) == pytest.approx(-1.5)
    for dual in np.random.default_rng(0).normal(0.0, 3.0, 50):
        assert relaxations.safe_lower_bound(rows, np.array([dual]), cost, upper) <= -1.5 + 1e-12


def test_a_week_cut_weighs_every_minimal_week_at_least_one_and_cuts_off_the_point():
    # weeks {0, 1} and {0, 2}; the LP attends block 0 fully and blocks 1 and 2 a quarter each, placed 1
    incidence = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    weights = relaxations.week_cut(incidence, np.array([1.0, 0.25, 0.25]), placed=1.0)
    assert weights is not None and (weights >= 0).all()
    assert (incidence.T @ weights >= 1.0 - 1e-9).all()
    assert weights @ np.array([1.0, 0.25, 0.25]) < 1.0
    assert relaxations.week_cut(incidence, np.array([1.0, 0.5, 0.5]), placed=1.0) is None   # inside the hull


def test_the_safe_bound_never_passes_the_lp_optimum_with_any_kind_of_row_or_fixed_column():
    """Random LPs with ranged, equality and one-sided rows and fixed columns, against HiGHS's own optimum."""
    import highspy

    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(40):
        n, m = 8, 6
        rows = SparseRows()
        for _ in range(m):
            index = sorted(rng.choice(n, size=4, replace=False).tolist())
            value = rng.integers(-3, 4, size=4).astype(float).tolist()
            kind = rng.integers(0, 4)
            low, high = {0: (-math.inf, 2.0), 1: (-1.0, math.inf), 2: (-1.0, 3.0), 3: (1.0, 1.0)}[int(kind)]
            rows.add(index, value, low, high)
        upper = np.where(rng.random(n) < 0.2, 0.0, 1.0)
        cost = rng.normal(size=n)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.addVars(n, np.zeros(n), upper)
        highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        for k in range(len(rows)):
            start, end = rows.starts[k], (rows.starts[k + 1] if k + 1 < len(rows) else len(rows.index))
            highs.addRow(rows.lower[k], rows.upper[k], end - start, np.asarray(rows.index[start:end], dtype=np.int32),
                         np.asarray(rows.value[start:end]))
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            continue
        optimum = highs.getInfo().objective_function_value
        duals = np.asarray(highs.getSolution().row_dual)
        bound = relaxations.safe_lower_bound(rows, duals, cost, upper)
        assert bound <= optimum + 1e-9
        assert bound >= optimum - 1e-6   # HiGHS's own duals make it tight
        assert relaxations.safe_lower_bound(rows, rng.normal(size=len(rows)), cost, upper) <= optimum + 1e-9
        checked += 1
    assert checked >= 20
