"""The re-planning benchmark: its changes are the ones it names, and its rows count what the schedule says."""

from __future__ import annotations

import csv

from benchmarks import replan
from programs import block, clinician, patient, program_dict


def _program(patients: int) -> dict:
    blocks = [block(f"g{day}", day, "18:00", "21:00") for day in ("mon", "tue", "wed")]
    return program_dict(blocks=blocks, patients=[patient(f"p{i}") for i in range(patients)],
                        clinicians=[clinician("c1")])


def test_admissions_hold_back_the_last_patients_and_discharges_drop_every_nth():
    document = _program(10)
    earlier = replan.without_last_patients(document, 0.2)
    assert [p["id"] for p in earlier["patients"]] == [f"p{i}" for i in range(8)]
    later = replan.without_discharged(document, 4)
    assert [p["id"] for p in later["patients"]] == ["p1", "p2", "p3", "p5", "p6", "p7", "p9"]
    assert len(document["patients"]) == 10  # the program itself is left as it was


def test_rows_count_kept_dropped_and_moved_from_the_re_planned_schedule():
    rows = replan.measure(_program(6), program=0, time_limit=5, first_limit=5, discharge_every=3)
    by_change = {row["change"]: row for row in rows}
    assert set(by_change) == set(replan.CHANGES)
    assert all(row["valid"] for row in rows)
    unchanged = by_change["unchanged"]
    assert (unchanged["before"], unchanged["placed"], unchanged["kept"], unchanged["moved"]) == (6, 6, 6, 0)
    admit = by_change["admit"]  # 5 placed before, 6 now; every earlier patient kept
    assert (admit["before"], admit["placed"], admit["kept"], admit["dropped"]) == (5, 6, 5, 0)
    discharge = by_change["discharge"]  # p0 and p3 gone: the four left were placed and stay placed
    assert (discharge["placed"], discharge["kept"], discharge["dropped"]) == (4, 4, 0)


def test_the_table_is_printed_and_written(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    assert replan.main(["--size", "small", "--seeds", "1", "--time-limit", "5", "--first-limit", "5",
                        "--changes", "unchanged", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(row["change"], row["moved"], row["valid"]) for row in rows] == [("unchanged", "0", "True")]
    assert "first schedules 5 s" in capsys.readouterr().out
