"""Bad input gets one line per fault naming its place; valid documents load unchanged."""

from __future__ import annotations

import copy
import json

import pytest

from iop_sched import ProblemError, load_problem, problem_from_data, problem_from_json
from iop_sched.schema import Problem
from programs import acceptance_path, block, clinician, patient, program_dict, three_evenings


def riverside() -> dict:
    return json.loads(acceptance_path().read_text())


def faults_of(data) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        problem_from_data(data)
    return caught.value.faults


def test_acceptance_document_loads_with_spec_defaults():
    problem = load_problem(acceptance_path())
    assert len(problem.patients) == 40 and len(problem.blocks) == 19
    assert problem.program.patient_event_title == "Appointment"
    assert problem.patients[0].population == "adult" and problem.patients[0].sites is None
    night = next(p for p in problem.patients if p.id == "R119").busy[0]
    assert night.intervals()[0] == (6 * 1440 + 22 * 60, 7 * 1440 + 6 * 60 + 30)  # Sunday night into Monday
    assert problem.min_minutes_for(problem.patients[0]) == 540
    assert problem.modality_of(next(b for b in problem.blocks if b.id == "wed-late-zoom")) == "telehealth"


@pytest.mark.parametrize("mutate, place, words", [
    (lambda d: d["patients"][3]["busy"][0].update(end="25:00"), "patients[3].busy[0].end", "not a time"),
    (lambda d: d["patients"][4].update(travel_minute=15), "patients[4].travel_minute", "unknown key"),
    (lambda d: d["blocks"][0].update(room="attic"), "blocks[0].room", "no room"),
    (lambda d: d["patients"][5].update(id="R101"), "patients[5].id", "unique"),
    (lambda d: d["program"].update(timezone="America/Chicgo"), "program.timezone", "IANA"),
    (lambda d: d["program"].update(timezone="localtime"), "program.timezone", "IANA"),
    (lambda d: d["program"].update(timezone="Factory"), "program.timezone", "IANA"),
    (lambda d: d["program"].update(timezone="posixrules"), "program.timezone", "IANA"),
    (lambda d: d["program"].update(timezone="right/UTC"), "program.timezone", "IANA"),
    (lambda d: d["program"].update(timezone="posix/America/Chicago"), "program.timezone", "IANA"),
    (lambda d: d["blocks"][2].update(start="12:60"), "blocks[2].start", "not a time"),
    (lambda d: d["blocks"][2].update(end="15:00"), "blocks[2]", "after start"),
    (lambda d: d["blocks"][1].update(min_size=13, max_size=12), "blocks[1]", "above max_size"),
    (lambda d: d["patients"][0].update(travel_minutes=-5), "patients[0].travel_minutes", "at least 0"),
    (lambda d: d["patients"][0].update(travel_minutes="15"), "patients[0].travel_minutes", "number"),
    (lambda d: d["patients"][0]["busy"][0].update(days=[]), "patients[0].busy[0].days", "at least one day"),
    (lambda d: d["patients"][0]["busy"][0].update(days=["mon", "mon"]), "patients[0].busy[0].days", "more than once"),
    (lambda d: d["patients"][0]["busy"][0].update(end="08:00"), "patients[0].busy[0]", "equals start"),
    (lambda d: d["patients"][0].update(admitted="2027-04-01", discharge="2027-03-20"), "patients[0]", "before admitted"),
    (lambda d: d["patients"][1].update(primary_clinician="nobody"), "patients[1].primary_clinician", "no clinician"),
    (lambda d: d["patients"][1].update(population="senior"), "patients[1].population", "adult"),
    (lambda d: d["patients"][1]["busy"][0].update(reason="gym"), "patients[1].busy[0].reason", "work"),
    (lambda d: d.update(format="iop-sched/2"), "format", "iop-sched/1"),
    (lambda d: d["program"].update(start="2027-02-30"), "program.start", "calendar date"),
    (lambda d: d["rooms"][2].update(capacity=5), "rooms[2]", "virtual"),
    (lambda d: d["blocks"][0].update(credentials=[]), "blocks[0].credentials", "at least one credential"),
    (lambda d: d["patients"][0].update(id="../etc"), "patients[0].id", "file"),
    (lambda d: d["patients"][0].update(id="p" * 252), "patients[0].id", "at most 251"),
    (lambda d: d["clinicians"][0].update(id="医" * 90), "clinicians[0].id", "at most 251"),
    (lambda d: d["program"]["rules"].update(min_weekly_hours={"adult": 9, "elderly": 3}), "program.rules.min_weekly_hours", "population"),
])
def test_each_fault_is_named_with_its_place(mutate, place, words):
    data = riverside()
    mutate(data)
    faults = faults_of(data)
    assert any(f.startswith(place + ":") and words in f for f in faults), faults


def test_several_faults_are_all_reported():
    data = riverside()
    data["patients"][3]["busy"][0]["end"] = "25:00"
    data["blocks"][0]["room"] = "attic"
    data["patients"][5]["id"] = "R101"
    faults = faults_of(data)
    assert len(faults) == 3


def test_not_json_and_not_an_object():
    with pytest.raises(ProblemError) as caught:
        problem_from_json('{"format": "iop-sched/1",')
    assert "not valid JSON" in caught.value.faults[0]
    with pytest.raises(ProblemError):
        problem_from_json("[1, 2]")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProblemError) as caught:
        load_problem(tmp_path / "missing.json")
    assert "cannot read" in caught.value.faults[0]


def test_day_shorthand_and_midnight_end():
    data = program_dict(blocks=[block("late", "mon", "21:00", "24:00", room="r1")],
                        patients=[patient("P1", busy=[{"day": "tue", "start": "22:00", "end": "06:30", "reason": "work"}])])
    problem = problem_from_data(data)
    assert problem.blocks[0].minutes == 180
    assert problem.patients[0].busy[0].intervals() == [(1440 + 22 * 60, 2 * 1440 + 390)]


def test_day_and_days_together_is_a_fault():
    data = program_dict(blocks=three_evenings(), patients=[patient("P1", busy=[
        {"day": "tue", "days": ["wed"], "start": "09:00", "end": "10:00"}])])
    assert any("either" in f for f in faults_of(data))


def test_closures_outside_the_weeks_are_accepted():
    data = program_dict(blocks=three_evenings(), patients=[patient("P1")], closures=["2030-01-01"])
    assert problem_from_data(data).program.closures


def test_dates_outside_the_program_and_program_hours_in_conflict_are_accepted():
    # none of these is an error in the format: the patients are scheduled (or told why not), not refused
    data = program_dict(blocks=three_evenings(), rules={"min_weekly_hours": 9, "max_weekly_hours": 8},
                        patients=[patient("P1", admitted="2030-01-01"), patient("P2", discharge="2020-01-01"),
                                  patient("P3", population="adolescent")])
    problem = problem_from_data(data)
    assert [p.id for p in problem.patients] == ["P1", "P2", "P3"]


def test_null_for_an_optional_key_is_the_key_not_given():
    data = program_dict(blocks=three_evenings(max_size=None), closures=None, weeks=None,
                        patients=[patient("P1", tags=None, sites=None, busy=None, travel_minutes=None, telehealth=None)])
    problem = problem_from_data(data)
    assert problem.patients[0].tags == [] and problem.patients[0].sites is None and problem.patients[0].busy == []
    assert problem.program.weeks == 12 and problem.program.closures == [] and problem.blocks[0].max_size is None
    data["program"]["name"] = None  # required: still an error, naming its place
    assert any(fault.startswith("program.name:") for fault in faults_of(data))


def test_a_slash_in_an_id_is_accepted_unless_a_part_cannot_name_a_file():
    assert problem_from_data(program_dict(blocks=three_evenings(), patients=[patient("2027/041")],
                                          clinicians=[clinician("team/ortiz")])).patients[0].id == "2027/041"
    for bad in ("/abs", "a//b", "a/", "a/./b", "a/../b", "..", "a\x01b", "back\\slash", "/".join(["p" * 200] * 6)):
        data = program_dict(blocks=three_evenings(), patients=[patient(bad)])
        assert any(fault.startswith("patients[0].id:") for fault in faults_of(data)), bad
    # a folder where another id's file goes
    data = program_dict(blocks=three_evenings(), patients=[patient("a"), patient("a.ics/b")])
    assert faults_of(data) == ["patients[1].id: 'a.ics/b' needs a folder 'a.ics' where the calendar file of id 'a' goes"]


def test_json_schema_is_exported():
    schema = Problem.model_json_schema()
    assert schema["additionalProperties"] is False and "patients" in schema["properties"]


def test_loading_does_not_change_the_caller_data():
    data = riverside()
    before = copy.deepcopy(data)
    problem_from_data(data)
    assert data == before


@pytest.mark.parametrize("text, words", [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"format": "iop-sched/1", "program": {"weeks": ' + "9" * 5000 + "}}", "cannot be read"),
    ('{"format": "iop-sched/1", "format": "iop-sched/1"}', "format: given more than once"),
    ('{"program": {"weeks": 4, "weeks": 8}}', "program.weeks: given more than once"),
    ('{"clinicians": [{"id": "c1", "name": "Dr \\udc80"}]}', "clinicians[0].name: not Unicode text"),
])
def test_json_that_no_later_step_could_handle_is_refused_with_its_place(text, words):
    with pytest.raises(ProblemError) as caught:
        problem_from_json(text)
    assert any(words in fault for fault in caught.value.faults), caught.value.faults


@pytest.mark.parametrize("value", ["\u0661\u0668:00", "18:00\n", "1800", " 18:00"])
def test_times_are_two_ascii_digits_colon_two_ascii_digits(value):
    data = program_dict(blocks=[block("b", "mon", value, "21:00", room="r1")], patients=[patient("P1")])
    with pytest.raises(ProblemError) as caught:
        problem_from_data(data)
    assert caught.value.faults[0].startswith("blocks[0].start:")


@pytest.mark.parametrize("start, accepted", [("1970-01-05", True), ("9000-12-25", True), ("1969-12-29", False),
                                             ("9999-12-31", False), ("0001-01-01", False), ("2027-03-01\n", False)])
def test_program_start_within_the_years_calendars_are_written_for(start, accepted):
    data = program_dict(blocks=[block("b", "mon", "18:00", "21:00", room="r1")], patients=[patient("P1")], start=start)
    if accepted:
        assert problem_from_data(data).program.start.isoformat() == start
    else:
        with pytest.raises(ProblemError) as caught:
            problem_from_data(data)
        assert caught.value.faults[0].startswith("program.start:")


def test_data_built_in_code_meets_the_same_text_rules():
    data = program_dict(blocks=three_evenings(), patients=[patient("P1")], clinicians=[clinician("c1", name="Dr \udc80")])
    with pytest.raises(ProblemError) as caught:
        problem_from_data(data)
    assert caught.value.faults == ["clinicians[0].name: not Unicode text (a lone surrogate such as \\udc80)"]


def test_keys_that_are_not_strings_in_data_built_in_code_are_named_not_crashed_on():
    data = program_dict(blocks=three_evenings(), patients=[patient("P1")], rules={"required_topics": {1: 1}})
    with pytest.raises(ProblemError) as caught:
        problem_from_data(data)
    assert any(fault.startswith("program.rules.required_topics") for fault in caught.value.faults), caught.value.faults

