"""Reasons for patients not placed: true, specific, and machine-readable."""

from __future__ import annotations

import pytest

from iop_sched import load_problem, problem_from_data
from iop_sched.reasons import explain
from programs import acceptance_path, block, build, clinician, patient, program_dict, solve_checked, week, window


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
    assert "fits their own rules, but not in this schedule" in loser.reasons[0]
    assert "no schedule places them without leaving out someone placed here" in loser.reasons[0]


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


# ---- what binds, proven with the solver (the competition case) ---------------------------------

LETS_IN = "they could be placed without unplacing anyone placed here."


def only_unplaced(data: dict):
    """Solve; the one patient left out; its reasons name no patient (id or name)."""
    schedule = solve_checked(data)
    unplaced = [w for w in schedule.patients if not w.placed]
    assert len(unplaced) == 1
    text = " ".join(unplaced[0].reasons)
    for person in data["patients"]:
        assert person["id"] not in text and (person.get("name") or person["id"]) not in text
    assert unplaced[0].why[0]["code"] == "competition"
    return unplaced[0]


def two_evening_rivals(first: dict, second: dict, **program) -> dict:
    """Two patients, each reaching only their own Monday-evening group (women's / Spanish-speaking)."""
    blocks = [block("A", "mon", "18:00", "21:00", audience=["women"], **first),
              block("B", "mon", "18:00", "21:00", audience=["spanish"], **second)]
    return program_dict(blocks=blocks, patients=[patient("P1", tags=["women"]), patient("P2", tags=["spanish"])],
                        rules={"min_weekly_hours": 3}, **program)


def test_group_full_binds():
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=1)]
    loser = only_unplaced(program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")],
                                       rules={"min_weekly_hours": 3}))
    assert loser.why[1:] == [{"code": "binds", "rule": "group_full", "blocks": ["only"], "least": True, "week": ["only"],
                              "extra_seats": {"only": 1}}]
    assert loser.reasons[1] == f"Groups full: with one more seat in only (Mon 18:00-21:00), {LETS_IN}"


def test_too_few_others_binds():
    # Both groups need 2. P1 can come only on Monday, P3 only on Tuesday; P2 could go either day but has
    # time for one group a week: one of P1 and P3 stays out, and a group of one would have let them in.
    blocks = [block("mon", "mon", "18:00", "21:00", room="r1", min_size=2),
              block("tue", "tue", "18:00", "21:00", room="r1", min_size=2)]
    patients = [patient("P1", busy=[window("tue", "17:00", "22:00", reason="work")]),
                patient("P2", max_weekly_hours=3),
                patient("P3", busy=[window("mon", "17:00", "22:00", reason="work")])]
    loser = only_unplaced(program_dict(blocks=blocks, patients=patients, rules={"min_weekly_hours": 3}))
    own = {"P1": "mon", "P3": "tue"}[loser.id]
    assert loser.why[1:] == [{"code": "binds", "rule": "group_too_small", "blocks": [own], "least": True, "week": [own],
                              "sizes": {own: [1, 2]}}]
    when = {"mon": "Mon 18:00-21:00", "tue": "Tue 18:00-21:00"}[own]
    assert loser.reasons[1] == ("Too few others to open a group at the times they can come: with "
                                f"{own} ({when}) allowed to meet with 1 patient (minimum 2), {LETS_IN}")


def test_no_clinician_free_then_binds():
    # One clinician, two groups at the same time in different rooms: one of them cannot be led.
    rooms = [{"id": "r1", "site": "north"}, {"id": "r2", "site": "north"}]
    loser = only_unplaced(two_evening_rivals({"room": "r1"}, {"room": "r2"}, rooms=rooms))
    own = "A" if loser.id == "P1" else "B"
    assert loser.why[1:] == [{"code": "binds", "rule": "no_clinician", "blocks": [own], "least": True, "week": [own],
                              "extra_clinicians": {own: 1}}]
    assert loser.reasons[1] == (f"No clinician with the credentials free then: with one more clinician able to lead "
                                f"{own} (Mon 18:00-21:00), {LETS_IN}")


def test_no_clinician_with_the_credentials_at_all_is_a_group_that_never_opens():
    blocks = [block("A", "mon", "18:00", "21:00", room="r1", credentials=["LADC"]),
              block("B", "tue", "18:00", "21:00", room="r1")]
    patients = [patient("P1", busy=[window("tue", "17:00", "22:00")]), patient("P2", busy=[window("mon", "17:00", "22:00")])]
    schedule = solve_checked(program_dict(blocks=blocks, patients=patients, clinicians=[clinician("c1", credentials=["LPC"])],
                                          rules={"min_weekly_hours": 3}))
    loser = week(schedule, "P1")
    assert not loser.placed and week(schedule, "P2").placed
    assert loser.why[0] == {"code": "never_opens", "blocks": ["A"], "why": {"A": "needs 1 clinician, none can staff it"}}
    assert "cost another patient's place" not in " ".join(loser.reasons)


def test_clinician_hours_bind():
    # One clinician with 3 h a week, two 3-hour groups on different days, each needed by one patient.
    blocks = [block("mon", "mon", "18:00", "21:00", room="r1"), block("tue", "tue", "18:00", "21:00", room="r1")]
    patients = [patient("P1", busy=[window("tue", "17:00", "22:00", reason="work")]),
                patient("P2", busy=[window("mon", "17:00", "22:00", reason="work")])]
    loser = only_unplaced(program_dict(blocks=blocks, patients=patients, clinicians=[clinician("c1", max_weekly_hours=3)],
                                       rules={"min_weekly_hours": 3}))
    own = "mon" if loser.id == "P1" else "tue"
    assert loser.why[1:] == [{"code": "binds", "rule": "clinician_hours", "blocks": [], "least": True, "week": [own],
                              "clinicians": {"c1": 3.0}}]
    assert loser.reasons[1] == f"Clinician hours used up: with c1 working 3 h beyond their 3 h a week, {LETS_IN}"


def test_room_taken_binds():
    # Two clinicians, so only the shared room keeps the two groups from meeting at once.
    loser = only_unplaced(two_evening_rivals({"room": "r1"}, {"room": "r1"}, clinicians=[clinician("c1"), clinician("c2")]))
    own, other = ("A", "B") if loser.id == "P1" else ("B", "A")
    assert loser.why[1:] == [{"code": "binds", "rule": "room_taken", "blocks": [own], "least": True, "week": [own],
                              "taken_by": {own: [other]}, "rooms": {own: "r1"}}]
    assert loser.reasons[1] == (f"Room taken: with {own} (Mon 18:00-21:00) in a room other than r1, which {other} "
                                f"takes then, {LETS_IN}")


def test_no_single_rule_binds_but_two_together_do():
    # P1 needs both A (Mon, full with P2) and B (Tue, its room taken by C, which P3 needs).
    blocks = [block("A", "mon", "18:00", "21:00", room="r1", max_size=1),
              block("B", "tue", "18:00", "21:00", room="r1", audience=["x"]),
              block("C", "tue", "18:00", "21:00", room="r1", audience=["y"])]
    patients = [patient("P1", tags=["x"], min_weekly_hours=6), patient("P2", busy=[window("tue", "17:00", "22:00")]),
                patient("P3", tags=["y"], busy=[window("mon", "17:00", "22:00")])]
    loser = only_unplaced(program_dict(blocks=blocks, patients=patients, clinicians=[clinician("c1"), clinician("c2")],
                                       rules={"min_weekly_hours": 3}))
    assert loser.id == "P1"
    assert loser.why[1:] == [{"code": "combination", "feasible": True, "rules": ["group_full", "room_taken"],
                              "parts": {"group_full": {"extra_seats": {"A": 1}},
                                        "room_taken": {"taken_by": {"B": ["C"]}, "rooms": {"B": "r1"}}},
                              "least": True, "week": ["A", "B"]}]
    assert loser.reasons[1] == ("No single rule is to blame: relaxing any one rule alone for the groups they can reach "
                                "is not enough, but with one more seat in A (Mon 18:00-21:00) and B (Tue 18:00-21:00) "
                                f"in a room other than r1, which C takes then, {LETS_IN}")


def two_left_out() -> tuple:
    """One group that both patients could share, and a schedule that placed nobody (not the solver's)."""
    data = program_dict(blocks=[block("A", "mon", "18:00", "21:00", room="r1")], patients=[patient("P1"), patient("P2")],
                        rules={"min_weekly_hours": 3})
    document = {"blocks": [], "patients": [{"id": "P1", "placed": False}, {"id": "P2", "placed": False}], "stats": {}}
    return problem_from_data(data), document


def test_a_schedule_that_missed_a_placement_is_told_so():
    problem, document = two_left_out()
    explanation = explain(problem, document, "P1")["P1"]
    assert explanation.why[0]["proven_optimal"] is False
    assert explanation.why[1:] == [{"code": "not_found_in_time", "week": ["A"]}]
    assert explanation.sentences[1].startswith("Yet a week exists that places them without unplacing anyone placed "
                                               "here: A (Mon 18:00-21:00); this schedule did not find it")


def test_checks_are_capped_and_can_be_turned_off():
    problem, document = two_left_out()
    capped = explain(problem, document, max_patients=1)
    assert capped["P1"].why[1]["code"] == "not_found_in_time"
    assert capped["P2"].why[1:] == [{"code": "not_checked", "reason": "max_patients", "max_patients": 1}]
    out_of_time = explain(problem, document, "P1", budget_seconds=0)["P1"]
    assert out_of_time.why[1]["code"] == "not_checked" and out_of_time.why[1]["reason"] == "budget"
    assert "not checked" in out_of_time.sentences[1]
    assert [why["code"] for why in explain(problem, document, prove=False)["P1"].why] == ["competition"]


def test_a_proven_count_spares_the_first_question(monkeypatch):
    # When placed == placed_bound, "this patient too, everyone placed kept" is known to be impossible:
    # only the relaxed questions are asked. Without the proof the strict question is asked first.
    from iop_sched import binding

    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=1)]
    data = program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")], rules={"min_weekly_hours": 3})
    problem = problem_from_data(data)
    document = solve_checked(data).to_dict()
    asked: list[tuple] = []
    original = binding.Prover.ask

    def recording(self, p, rules):
        asked.append(tuple(rules))
        return original(self, p, rules)

    monkeypatch.setattr(binding.Prover, "ask", recording)
    proven = explain(problem, document)
    assert () not in asked and [w["rule"] for w in next(iter(proven.values())).why[1:]] == ["group_full"]
    asked.clear()
    document["stats"]["placed_bound"] = 2
    unproven = explain(problem, document)
    assert asked[0] == () and [w["rule"] for w in next(iter(unproven.values())).why[1:]] == ["group_full"]


def test_group_too_small_for_everyone_who_can_come_is_not_called_competition():
    # min_size 4 and only three patients: nobody can be placed, so nobody's place is at stake
    blocks = [block("b", "mon", "18:00", "21:00", room="r1", min_size=4)]
    schedule = solve_checked(program_dict(blocks=blocks, patients=[patient(f"P{i}") for i in range(3)],
                                          rules={"min_weekly_hours": 3}))
    assert schedule.stats["placed"] == 0
    for entry in schedule.patients:
        codes = [why["code"] for why in entry.why]
        assert codes == ["never_opens", "no_reachable_group"]
        assert entry.why[0]["why"] == {"b": "needs 4 patients, 3 can come"}
        assert "cost another patient's place" not in " ".join(entry.reasons)


def test_group_short_of_clinicians_for_good_is_named():
    blocks = [block("b", "mon", "18:00", "21:00", room="r1", clinicians=2)]
    schedule = solve_checked(program_dict(blocks=blocks, patients=[patient("P1")], rules={"min_weekly_hours": 3}))
    entry = week(schedule, "P1")
    assert entry.why[0] == {"code": "never_opens", "blocks": ["b"], "why": {"b": "needs 2 clinicians, 1 can staff it"}}
    assert entry.reasons[-1] == "No group of the week that can open is reachable."


def test_a_group_holding_every_patient_is_not_called_full_without_a_seat_limit():
    # the room has no capacity and the group no max_size: two patients in it have not filled it
    blocks = [block("b", "mon", "18:00", "21:00", room="open-room"), block("c", "tue", "18:00", "19:00", room="open-room")]
    data = program_dict(blocks=blocks, rooms=[{"id": "open-room", "site": "north"}], rules={"min_weekly_hours": 3},
                        patients=[patient("P1"), patient("P2", busy=[window("mon", "17:00", "22:00", reason="work")])])
    schedule = solve_checked(data)
    loser = week(schedule, "P2")
    assert not loser.placed and loser.why[0]["code"] != "competition"
    from iop_sched.report import program_report
    assert list(program_report(build(data), schedule.to_dict())["full_groups"]["block"]) == []


def test_minimum_hours_above_the_maximum_is_a_reason_not_a_refusal():
    blocks = [block(f"{d}", d, "18:00", "21:00", room="r1") for d in ("mon", "wed", "fri")]
    data = program_dict(blocks=blocks, rules={"min_weekly_hours": 6},
                        patients=[patient("P1"), patient("P2", max_weekly_hours=5), patient("P3", min_weekly_hours=9,
                                                                                        max_weekly_hours=6)])
    schedule = solve_checked(data)
    assert week(schedule, "P1").placed
    for patient_id, least, most in (("P2", 6, 5), ("P3", 9, 6)):
        entry = week(schedule, patient_id)
        assert not entry.placed
        assert entry.why == [{"code": "hours_conflict", "min_hours": least, "max_hours": most}]
        assert entry.reasons == [f"No week can meet their hours: the minimum of {least} h a week is above their "
                                 f"maximum of {most} h."]


def test_program_hours_in_conflict_leave_only_the_population_they_reach_unplaced():
    # adults: the program's 9 h minimum is above its 8 h maximum; adolescents keep their 6 h minimum
    blocks = [block(f"{d}", d, "16:00", "19:00", room="r1") for d in ("mon", "wed", "fri")]
    data = program_dict(blocks=blocks, rules={"min_weekly_hours": {"adult": 9, "adolescent": 6}, "max_weekly_hours": 8},
                        patients=[patient("A1"), patient("T1", population="adolescent")])
    schedule = solve_checked(data)
    assert week(schedule, "T1").placed and week(schedule, "T1").weekly_hours == 6
    adult = week(schedule, "A1")
    assert not adult.placed
    assert adult.why == [{"code": "hours_conflict", "min_hours": 9, "max_hours": 8}]


def test_groups_no_day_or_week_of_theirs_can_hold_are_named_with_the_rule():
    blocks = [block(day, day, "09:00", "13:00", room="r1") for day in ("mon", "wed")] + [block("fri", "fri", "09:00", "12:00", room="r1")]
    data = program_dict(blocks=blocks, patients=[patient("P1")], rules={"min_weekly_hours": 6, "max_hours_per_day": 3})
    p1 = week(solve_checked(data), "P1")
    assert p1.reasons[0] == "2 groups longer than the 3 h a day allows: mon, wed."
    assert p1.why[0]["code"] == "longer_than_a_day"
    data = program_dict(blocks=blocks[:2], patients=[patient("P1", max_weekly_hours=3)], rules={"min_weekly_hours": 1})
    p1 = week(solve_checked(data), "P1")
    assert p1.reasons[0] == "2 groups longer than their weekly maximum of 3 h: mon, wed."


def test_no_combination_names_the_rules_that_are_there():
    blocks = [block(day, day, "09:00", "13:00", room="r1") for day in ("mon", "wed", "fri")]
    data = program_dict(blocks=blocks, patients=[patient("P1")], rules={"min_weekly_hours": 6, "max_weekly_hours": 7})
    reasons = week(solve_checked(data), "P1").reasons
    assert reasons[-1].endswith("but no combination of them meets 6 h within their weekly maximum of 7 h.")


def test_audience_examples_are_tags_the_patient_lacks():
    blocks = [block("w", "mon", "09:00", "12:00", room="r1", audience=["women", "adult"]),
              block("a", "wed", "09:00", "12:00", room="r1", audience=["adolescent"])]
    data = program_dict(blocks=blocks, patients=[patient("P1")], rules={"min_weekly_hours": 3})
    reasons = week(solve_checked(data), "P1").reasons
    assert reasons[0] == "2 groups for another audience (e.g. adolescent, women)."  # not "adult": they are one


def test_alone_and_unplaceable_for_want_of_clinician_hours_is_not_told_of_competition():
    # the only patient: a week fits their own rules, but the only clinician may work 3 h of the 6 h needed
    blocks = [block(day, day, "09:00", "12:00", room="r1") for day in ("mon", "wed")]
    data = program_dict(blocks=blocks, patients=[patient("P1")], rules={"min_weekly_hours": 6},
                        clinicians=[clinician("c1", max_weekly_hours=3)])
    reasons = week(solve_checked(data), "P1").reasons
    assert "cost another patient's place" not in " ".join(reasons)
    assert any(reason.startswith("Clinician hours used up") for reason in reasons), reasons


def test_a_check_alone_not_settled_in_time_claims_nothing(monkeypatch):
    # The check "could they be placed with the program to themselves?" takes milliseconds; if it ever
    # ran out of time, the patient must not be told that no week of theirs can work.
    from ortools.sat.python import cp_model

    from iop_sched import reasons

    blocks = [block(f"{d}", d, "18:00", "21:00", room="r1", topic="skills") for d in ("mon", "wed")]
    data = program_dict(blocks=blocks, patients=[patient("P1")], rules={"required_topics": {"relapse_prevention": 1}})
    problem = problem_from_data(data)
    document = solve_checked(data).to_dict()
    assert reasons.placeable_alone(problem, problem.patients[0], [0, 1]) is False
    monkeypatch.setattr(cp_model.CpSolver, "solve", lambda self, model, callback=None: cp_model.UNKNOWN)
    assert reasons.placeable_alone(problem, problem.patients[0], [0, 1]) is None
    told = explain(problem, document)["P1"]
    assert told.why == [{"code": "undetermined", "rule": "placeable_alone", "seconds": reasons.ALONE_CHECK_SECONDS}]
    assert "not settled" in told.sentences[0] and "none reachable" not in " ".join(told.sentences)
    monkeypatch.setattr(cp_model.CpSolver, "solve", lambda self, model, callback=None: cp_model.MODEL_INVALID)
    with pytest.raises(RuntimeError, match="invalid"):  # a fault of ours is not a verdict on the patient
        reasons.placeable_alone(problem, problem.patients[0], [0, 1])
