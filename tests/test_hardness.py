"""What makes tier 1 hard: leaving a family out is a relaxation, so it never places fewer (no timing asserted)."""

from __future__ import annotations

import csv

from benchmarks import hardness
from programs import block, clinician, patient, program_dict


def test_the_left_out_family_is_the_one_not_enforced():
    """Two groups at the same time in one room: one patient each; only one may meet unless rooms are left out."""
    blocks = [block("early", "mon", "17:00", "20:00", room="r1"), block("late", "mon", "18:00", "21:00", room="r1")]
    patients = [patient("a", busy=[{"days": ["mon"], "start": "20:00", "end": "23:00"}]),
                patient("b", busy=[{"days": ["mon"], "start": "08:00", "end": "18:00"}])]
    document = program_dict(blocks=blocks, patients=patients, clinicians=[clinician("c1"), clinician("c2")])
    rows = hardness.measure(document, time_limit=5, left_out=(None, "rooms"))
    assert [(row["left_out"], row["placed"], row["status"]) for row in rows] == [
        ("(none)", 1, "optimal"), ("rooms", 2, "optimal")]


def test_leaving_a_family_out_never_places_fewer_and_the_table_is_written(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    assert hardness.main(["--size", "small", "--seed", "0", "--time-limit", "10", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [row["left_out"] for row in rows] == ["(none)", *hardness.DROPPABLE]
    full = rows[0]
    assert full["status"] == "optimal"  # small programs are proven in well under a second
    for row in rows[1:]:
        # the relaxation's proven bound can never be below a schedule that holds every rule
        assert float(row["bound"]) >= float(full["placed"]), row
        if row["status"] == "optimal":
            assert float(row["placed"]) >= float(full["placed"]), row
    assert "small seed 0" in capsys.readouterr().out
