"""One named rule, a pair of tests: a program where the rule lets a patient in, and one where it keeps them out.

Every solve goes through the independent validator (`programs.solve_checked`).
"""

from __future__ import annotations

from iop_sched.model import build_model
from programs import (block, build, clinician, patient, program_dict, solve_checked, three_evenings, week,
                      window)


def one_patient(patient_extra: dict | None = None, **kw) -> dict:
    kw.setdefault("blocks", three_evenings())
    return program_dict(patients=[patient("P1", **(patient_extra or {}))], **kw)


# ---- availability: busy windows widened by travel ----

def test_travel_buffer_touching_work_end_is_allowed():
    data = one_patient({"busy": [window("mon wed fri", "08:00", "17:30", reason="work")], "travel_minutes": 30})
    assert week(solve_checked(data), "P1").placed


def test_travel_buffer_overlapping_work_keeps_patient_out():
    data = one_patient({"busy": [window("mon wed fri", "08:00", "17:31", reason="work")], "travel_minutes": 30},
                       rules={"min_weekly_hours": 9})
    schedule = solve_checked(data)
    assert not week(schedule, "P1").placed
    assert week(schedule, "P1").reasons


def test_night_shift_past_midnight_wraps_into_next_morning():
    blocks = [block("mon-early", "mon", "06:00", "08:00", room="r1"), block("tue-early", "tue", "07:00", "09:00", room="r1")]
    night = [window("sun", "22:00", "06:30", reason="work")]
    data = one_patient({"busy": night}, blocks=blocks, rules={"min_weekly_hours": 2})
    assert week(solve_checked(data), "P1").blocks == ["tue-early"]
    data = one_patient({"busy": night}, blocks=blocks, rules={"min_weekly_hours": 4})
    assert not week(solve_checked(data), "P1").placed


def test_telehealth_block_needs_consent_and_ignores_travel():
    rooms = [{"id": "zoom", "virtual": True}]
    blocks = [block("tele", "mon", "18:00", "21:00", room="zoom")]
    busy = [window("mon", "08:00", "17:59", reason="work")]
    consented = one_patient({"telehealth": True, "busy": busy, "travel_minutes": 60}, blocks=blocks, rooms=rooms)
    assert week(solve_checked(consented), "P1").placed
    refused = one_patient({"telehealth": False}, blocks=blocks, rooms=rooms)
    assert not week(solve_checked(refused), "P1").placed


def test_patient_sites_limit_in_person_blocks():
    assert week(solve_checked(one_patient({"sites": ["north"]})), "P1").placed
    assert not week(solve_checked(one_patient({"sites": ["south"]})), "P1").placed


def test_audience_tags_and_population():
    women = three_evenings(audience=["women"])
    assert week(solve_checked(one_patient({"tags": ["women"]}, blocks=women)), "P1").placed
    assert not week(solve_checked(one_patient({}, blocks=women)), "P1").placed
    teens = three_evenings(audience=["adolescent"])
    assert week(solve_checked(one_patient({"population": "adolescent"}, blocks=teens)), "P1").placed
    assert not week(solve_checked(one_patient({"population": "adult"}, blocks=teens)), "P1").placed


# ---- patient week ----

def test_minimum_weekly_hours():
    assert week(solve_checked(one_patient(rules={"min_weekly_hours": 9})), "P1").weekly_hours == 9
    assert not week(solve_checked(one_patient(rules={"min_weekly_hours": 9.5})), "P1").placed


def test_minimum_hours_by_population_and_patient_override():
    data = one_patient({"population": "adolescent"}, rules={"min_weekly_hours": {"adult": 9, "adolescent": 6}})
    assert week(solve_checked(data), "P1").weekly_hours >= 6
    data = one_patient({"min_weekly_hours": 12}, rules={"min_weekly_hours": 3})
    assert not week(solve_checked(data), "P1").placed


def test_maximum_weekly_hours():
    data = one_patient({"max_weekly_hours": 6}, rules={"min_weekly_hours": 6})
    assert week(solve_checked(data), "P1").weekly_hours == 6
    data = one_patient({"max_weekly_hours": 5}, rules={"min_weekly_hours": 5})
    assert not week(solve_checked(data), "P1").placed


def test_minimum_days_per_week():
    blocks = [block("mon-a", "mon", "09:00", "12:00", room="r1"), block("mon-b", "mon", "13:00", "16:00", room="r1"),
              block("tue-a", "tue", "09:00", "12:00", room="r1")]
    assert week(solve_checked(one_patient(blocks=blocks, rules={"min_days_per_week": 2})), "P1").placed
    assert not week(solve_checked(one_patient(blocks=blocks, rules={"min_days_per_week": 3})), "P1").placed


def test_maximum_hours_per_day():
    blocks = [block("mon-a", "mon", "09:00", "12:00", room="r1"), block("mon-b", "mon", "13:00", "16:00", room="r1")]
    assert week(solve_checked(one_patient(blocks=blocks, rules={"min_weekly_hours": 6})), "P1").placed
    data = one_patient(blocks=blocks, rules={"min_weekly_hours": 6, "max_hours_per_day": 4})
    assert not week(solve_checked(data), "P1").placed


def test_no_two_overlapping_blocks_for_a_patient():
    blocks = [block("a", "mon", "09:00", "12:00", room="r1"), block("b", "mon", "11:00", "14:00", room="r2")]
    rooms = [{"id": "r1", "capacity": 5}, {"id": "r2", "capacity": 5}]
    clinicians = [clinician("c1"), clinician("c2")]
    data = one_patient(blocks=blocks, rooms=rooms, clinicians=clinicians, rules={"min_weekly_hours": 3})
    assert len(week(solve_checked(data), "P1").blocks) == 1
    data = one_patient(blocks=blocks, rooms=rooms, clinicians=clinicians, rules={"min_weekly_hours": 6})
    assert not week(solve_checked(data), "P1").placed


def test_placed_or_nothing():
    """A patient who cannot make the week gets no blocks at all, not a partial week."""
    data = one_patient(rules={"min_weekly_hours": 10})
    schedule = solve_checked(data)
    assert week(schedule, "P1").blocks == [] and all(not r.patients for r in schedule.rosters)


# ---- topics ----

def test_required_topic_reachable():
    blocks = three_evenings(topic="skills") + [block("sat-rp", "sat", "09:00", "12:00", room="r1", topic="relapse")]
    data = one_patient(blocks=blocks, rules={"required_topics": {"relapse": 1}, "min_weekly_hours": 3})
    assert "sat-rp" in week(solve_checked(data), "P1").blocks


def test_required_topic_unreachable_and_patient_override():
    data = one_patient(blocks=three_evenings(topic="skills"), rules={"required_topics": {"relapse": 1}})
    assert not week(solve_checked(data), "P1").placed
    data = one_patient({"required_topics": {"relapse": 0}}, blocks=three_evenings(topic="skills"),
                       rules={"required_topics": {"relapse": 1}})
    assert week(solve_checked(data), "P1").placed


# ---- group size ----

def test_group_minimum_size():
    blocks = three_evenings(min_size=2)
    alone = program_dict(blocks=blocks, patients=[patient("P1")])
    assert not week(solve_checked(alone), "P1").placed
    pair = program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")])
    assert solve_checked(pair).placed == 2


def test_group_maximum_size_and_room_capacity():
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=2)]
    three = [patient("P1"), patient("P2"), patient("P3")]
    assert solve_checked(program_dict(blocks=blocks, patients=three)).placed == 2
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=10)]
    small_room = [{"id": "r1", "capacity": 1}]
    assert solve_checked(program_dict(blocks=blocks, patients=three, rooms=small_room)).placed == 1


def test_the_lp_sees_that_a_shut_group_seats_nobody():
    """attend <= open for every eligible pair: redundant for schedules, but the LP bound on large programs needs it.

    Without these rows a group open by a fraction in the LP seats whole patients (large seed 0: a
    tier-1 bound of 529 instead of 514, benchmarks/RESULTS.md); nothing else in the model states them.
    """
    problem = build(program_dict(blocks=three_evenings(min_size=2), patients=[patient("P1"), patient("P2")]))
    built = build_model(problem)
    rows = {tuple(c.linear.vars) for c in built.model.proto.constraints
            if c.has_linear() and list(c.linear.coeffs) == [1, -1] and len(c.linear.domain) == 2
            and c.linear.domain[1] == 0 and not c.enforcement_literal}  # has_linear first: reading sets the field
    expected = {(var.index, built.variables.open[b].index) for (p, b), var in built.variables.attend.items()}
    assert expected and expected <= rows


# ---- staffing ----

def test_credentials_required():
    blocks = three_evenings(credentials=["LADC"])
    assert week(solve_checked(one_patient(blocks=blocks, clinicians=[clinician("c1", credentials=["LADC"])])), "P1").placed
    assert not week(solve_checked(one_patient(blocks=blocks, clinicians=[clinician("c1", credentials=["LPC"])])), "P1").placed


def test_clinician_available_for_the_whole_block():
    evening = [window("mon wed fri", "17:00", "19:00"), window("mon wed fri", "19:00", "21:30")]
    assert week(solve_checked(one_patient(clinicians=[clinician("c1", evening)])), "P1").placed
    short = [window("mon wed fri", "17:00", "20:30")]
    assert not week(solve_checked(one_patient(clinicians=[clinician("c1", short)])), "P1").placed


def test_ratio_needs_more_clinicians():
    blocks = [block("only", "mon", "18:00", "21:00", room="r1")]
    three = [patient("P1"), patient("P2"), patient("P3")]
    rules = {"max_patients_per_clinician": 2}
    schedule = solve_checked(program_dict(blocks=blocks, patients=three, rules=rules, clinicians=[clinician("c1")]))
    assert schedule.placed == 2
    schedule = solve_checked(program_dict(blocks=blocks, patients=three, rules=rules,
                                          clinicians=[clinician("c1"), clinician("c2")]))
    assert schedule.placed == 3 and len(schedule.rosters[0].clinicians) == 2


def test_block_asks_for_two_clinicians():
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", clinicians=2)]
    assert solve_checked(program_dict(blocks=blocks, patients=[patient("P1")])).placed == 0
    two = [clinician("c1"), clinician("c2")]
    assert solve_checked(program_dict(blocks=blocks, patients=[patient("P1")], clinicians=two)).placed == 1


def test_clinician_never_staffs_overlapping_blocks():
    rooms = [{"id": "r1"}, {"id": "r2"}]
    blocks = [block("a", "mon", "18:00", "21:00", room="r1", audience=["x"]),
              block("b", "mon", "19:00", "22:00", room="r2", audience=["y"])]
    patients = [patient("P1", tags=["x"]), patient("P2", tags=["y"])]
    assert solve_checked(program_dict(blocks=blocks, patients=patients, rooms=rooms)).placed == 1
    two = [clinician("c1"), clinician("c2")]
    assert solve_checked(program_dict(blocks=blocks, patients=patients, rooms=rooms, clinicians=two)).placed == 2


def test_clinician_weekly_hours():
    capped = [clinician("c1", max_weekly_hours=9)]
    assert week(solve_checked(one_patient(clinicians=capped, rules={"min_weekly_hours": 9})), "P1").placed
    capped = [clinician("c1", max_weekly_hours=8)]
    assert not week(solve_checked(one_patient(clinicians=capped, rules={"min_weekly_hours": 9})), "P1").placed


def test_clinician_sites_for_in_person_only():
    rooms = [{"id": "r1", "site": "north"}, {"id": "zoom", "virtual": True}]
    elsewhere = [clinician("c1", sites=["south"])]
    assert not week(solve_checked(one_patient(rooms=rooms, clinicians=elsewhere)), "P1").placed
    tele = [block("tele", "mon", "18:00", "21:00", room="zoom")]
    assert week(solve_checked(one_patient({"telehealth": True}, blocks=tele, rooms=rooms, clinicians=elsewhere)), "P1").placed


# ---- rooms ----

def test_room_never_double_booked():
    blocks = [block("a", "mon", "18:00", "21:00", room="r1", audience=["x"]),
              block("b", "mon", "20:00", "22:00", room="r1", audience=["y"])]
    patients = [patient("P1", tags=["x"]), patient("P2", tags=["y"])]
    two = [clinician("c1"), clinician("c2")]
    assert solve_checked(program_dict(blocks=blocks, patients=patients, clinicians=two)).placed == 1


def test_virtual_room_hosts_overlapping_meetings():
    rooms = [{"id": "zoom", "virtual": True}]
    blocks = [block("a", "mon", "18:00", "21:00", room="zoom", audience=["x"]),
              block("b", "mon", "20:00", "22:00", room="zoom", audience=["y"])]
    patients = [patient("P1", tags=["x"], telehealth=True), patient("P2", tags=["y"], telehealth=True)]
    two = [clinician("c1"), clinician("c2")]
    assert solve_checked(program_dict(blocks=blocks, patients=patients, rooms=rooms, clinicians=two)).placed == 2


# ---- wishes (tier 2) ----

def test_preferred_times_are_honoured():
    blocks = [block("am", "mon", "09:00", "12:00", room="r1"), block("pm", "mon", "18:00", "21:00", room="r1")]
    data = one_patient({"prefer": [window("mon", "08:00", "13:00")]}, blocks=blocks, rules={"min_weekly_hours": 3})
    assert week(solve_checked(data), "P1").blocks == ["am"]
    data = one_patient({"prefer": [window("mon", "17:00", "22:00")]}, blocks=blocks, rules={"min_weekly_hours": 3})
    assert week(solve_checked(data), "P1").blocks == ["pm"]


def test_primary_clinician_leads_when_possible():
    clinicians = [clinician("c1"), clinician("c2")]
    for primary in ("c1", "c2"):
        schedule = solve_checked(one_patient({"primary_clinician": primary}, clinicians=clinicians))
        assert all(r.clinicians == [primary] for r in schedule.open_blocks)


def test_continuity_keeps_one_track():
    rooms = [{"id": "r1"}, {"id": "r2"}]
    blocks = three_evenings() + [block(f"{d}-r2", d, "09:00", "12:00", room="r2") for d in ("mon", "wed", "fri")]
    schedule = solve_checked(one_patient(blocks=blocks, rooms=rooms, rules={"min_weekly_hours": 9}))
    chosen = week(schedule, "P1").blocks
    assert chosen in (["mon-ev", "wed-ev", "fri-ev"], ["mon-r2", "wed-r2", "fri-r2"])


def test_a_patient_who_can_come_takes_the_last_seat_before_one_with_no_date_in_the_program():
    # both are placed alike by the format (the dates bound the calendar), and one seat is left: whoever
    # is listed first, it goes to the patient who can come (wishes tier; not twins for symmetry)
    blocks = [block("mon-ev", "mon", "18:00", "21:00", room="r1", max_size=1)]
    for later in ({"admitted": "2027-09-01"}, {"discharge": "2027-01-15"}):
        for order in ((patient("gone", **later), patient("here")), (patient("here"), patient("gone", **later))):
            schedule = solve_checked(program_dict(blocks=blocks, patients=list(order), rules={"min_weekly_hours": 3}))
            assert schedule.placed == 1 and week(schedule, "here").placed
            gone = week(schedule, "gone")
            assert gone.why[0]["code"] == "outside_program_dates"
            assert gone.reasons[0].startswith("Admitted 2027-09-01, after" if "admitted" in later else
                                              "Discharged 2027-01-15, before")


def test_wishes_never_cost_a_placement():
    """P1 prefers the only seat P2 can use; tier 1 wins and both are placed."""
    blocks = [block("am", "mon", "09:00", "12:00", room="r1", max_size=1),
              block("pm", "mon", "18:00", "21:00", room="r1", max_size=1)]
    patients = [patient("P1", prefer=[window("mon", "17:00", "22:00")]),
                patient("P2", busy=[window("mon", "06:00", "13:00", reason="work")])]
    schedule = solve_checked(program_dict(blocks=blocks, patients=patients, rules={"min_weekly_hours": 3}))
    assert schedule.placed == 2
    assert week(schedule, "P2").blocks == ["pm"] and week(schedule, "P1").blocks == ["am"]


# ---- costs (tier 3) ----

def test_fewer_open_groups():
    blocks = [block("a", "mon", "09:00", "12:00", room="r1"), block("b", "tue", "09:00", "12:00", room="r1")]
    schedule = solve_checked(program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")],
                                          rules={"min_weekly_hours": 3}))
    assert len(schedule.open_blocks) == 1


def test_load_spread_over_clinicians():
    blocks = [block(f"b{d}", d, "09:00", "12:00", room="r1") for d in ("mon", "tue")]
    patients = [patient("P1")]
    schedule = solve_checked(program_dict(blocks=blocks, patients=patients, clinicians=[clinician("c1"), clinician("c2")],
                                          rules={"min_weekly_hours": 6}))
    leads = sorted(r.clinicians[0] for r in schedule.open_blocks)
    assert leads == ["c1", "c2"]


def test_weekly_hours_are_exact_for_odd_minutes():
    blocks = [block("short", "mon", "18:00", "18:50", room="r1")]
    schedule = solve_checked(one_patient(blocks=blocks, rules={"min_weekly_hours": 0.5}))
    assert week(schedule, "P1").weekly_hours == 50 / 60


# ---- symmetry (not a rule: a tie-break among identical patients) ----

def test_identical_patients_are_placed_in_list_order():
    blocks = [block("only", "mon", "18:00", "21:00", room="r1", max_size=1)]
    data = program_dict(blocks=blocks, patients=[patient("P1"), patient("P2"), patient("P3", min_weekly_hours=2)],
                        rules={"min_weekly_hours": 3})
    for seed in range(3):
        placed = [w.id for w in solve_checked(data, seed=seed).patients if w.placed]
        assert placed in (["P1"], ["P3"])  # never P2 alone: it is P1's twin and comes later


def test_patients_with_different_needs_are_not_ordered():
    from iop_sched.constraints.availability import compute_eligibility
    from iop_sched.constraints.symmetry import twin_pairs
    from programs import build
    problem = build(program_dict(blocks=three_evenings(), patients=[
        patient("P1"), patient("P2"), patient("P3", prefer=[window("mon", "17:00", "22:00")]), patient("P4", tags=["x"])]))
    assert twin_pairs(problem, compute_eligibility(problem)) == [(1, 0), (3, 1)]
