"""Reasons for patients not placed: true, specific, and machine-readable."""

from __future__ import annotations

from iop_sched import load_problem
from programs import acceptance_path, block, patient, program_dict, solve_checked, week, window


def test_riverside_unplaced_patients_have_specific_reasons():
    schedule = solve_checked(load_problem(acceptance_path()))
    unplaced = {w.id: w for w in schedule.patients if not w.placed}
    assert sorted(unplaced) == ["R122", "R124", "R126", "R140"]
    for patient_id in ("R122", "R124", "R126"):
        text = " ".join(unplaced[patient_id].reasons)
        assert "childcare" in text and "work" in text
        assert "5.5 h on 2 days" in text and "9 h on 3 days" in text
        assert {"busy", "reachable_week"} <= {why["code"] for why in unplaced[patient_id].why}
    assert "No group of the week is reachable" in " ".join(unplaced["R140"].reasons)


def test_patient_kept_out_by_competition_is_told_so():
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=1)]
    schedule = solve_checked(program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")],
                                          rules={"min_weekly_hours": 3}))
    loser = next(w for w in schedule.patients if not w.placed)
    assert loser.why[0]["code"] == "competition" and loser.why[0]["full"] == ["only"]
    assert "not alongside the others" in loser.reasons[0]


def test_missing_topic_is_named():
    blocks = [block(f"{d}", d, "18:00", "21:00", room="r1", topic="skills") for d in ("mon", "wed")]
    data = program_dict(blocks=blocks, patients=[patient("P1")], rules={"required_topics": {"relapse_prevention": 1}})
    reasons = week(solve_checked(data), "P1").reasons
    assert reasons == ["Needs 1 relapse prevention group a week; none reachable."]


def test_reasons_never_name_the_patient():
    blocks = [block("mon", "mon", "18:00", "21:00", room="r1")]
    data = program_dict(blocks=blocks, patients=[patient("P1", name="Ana Rivera",
                                                         busy=[window("mon", "17:00", "22:00", reason="work")])])
    reasons = " ".join(week(solve_checked(data), "P1").reasons)
    assert reasons and "Ana" not in reasons and "Rivera" not in reasons
