"""The command line as a clinic system uses it: exit codes, outputs whole or not at all."""

from __future__ import annotations

import json
import os

import pytest

from iop_sched import load_problem
from iop_sched.cli import main
from iop_sched.report import program_report
from iop_sched.output import case_only_clashes
from programs import acceptance_path, patient, program_dict, three_evenings


def write_problem(tmp_path, data) -> str:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    return str(path)


def small_program() -> dict:
    return program_dict(blocks=three_evenings(), patients=[patient("P1"), patient("P2")])


def test_solve_writes_schedule_and_calendars_and_check_accepts(tmp_path, capsys):
    problem = write_problem(tmp_path, small_program())
    out = tmp_path / "out"
    assert main(["solve", problem, "--out", str(out), "--time-limit", "10", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "placed 2 of 2" in printed
    assert (out / "schedule.json").exists()
    assert sorted(p.name for p in (out / "calendars" / "patients").iterdir()) == ["P1.ics", "P2.ics"]
    assert (out / "calendars" / "program.ics").exists()
    assert (out / "calendars" / "clinicians" / "c1.ics").exists()
    assert main(["check", problem, str(out / "schedule.json")]) == 0


def test_check_reports_a_broken_rule(tmp_path, capsys):
    problem = write_problem(tmp_path, small_program())
    out = tmp_path / "out"
    main(["solve", problem, "--out", str(out), "--time-limit", "10", "--quiet"])
    document = json.loads((out / "schedule.json").read_text())
    open_block = next(b for b in document["blocks"] if b["patients"])
    open_block["clinicians"] = []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["check", problem, str(bad)]) == 1
    assert "block.staffing" in capsys.readouterr().out


@pytest.mark.parametrize("mutate, place", [
    (lambda d: d["patients"][0]["busy"][0].update(end="25:00"), "patients[0].busy[0].end"),
    (lambda d: d["patients"][1].update(travel_minute=5), "patients[1].travel_minute"),
    (lambda d: d["blocks"][0].update(room="attic"), "blocks[0].room"),
    (lambda d: d["patients"][2].update(id=d["patients"][0]["id"]), "patients[2].id"),
    (lambda d: d["program"].update(timezone="Chicago"), "program.timezone"),
])
def test_invalid_document_exits_2_names_the_place_and_leaves_out_untouched(tmp_path, capsys, mutate, place):
    data = json.loads(acceptance_path().read_text())
    mutate(data)
    problem = write_problem(tmp_path, data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "schedule.json").write_text("previous run")
    before = {p.name: p.read_text() for p in out.iterdir()}
    assert main(["solve", problem, "--out", str(out), "--time-limit", "5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert any(line.startswith(place + ":") for line in err.splitlines()), err
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["out", "problem.json"]  # no half-written staging folder either


def test_invalid_document_does_not_create_out(tmp_path):
    problem = tmp_path / "problem.json"
    problem.write_text("{not json")
    assert main(["solve", str(problem), "--out", str(tmp_path / "new")]) == 2
    assert not (tmp_path / "new").exists()


def test_out_holding_other_files_is_refused(tmp_path, capsys):
    problem = write_problem(tmp_path, small_program())
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["solve", problem, "--out", str(out), "--quiet"]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"


def test_failed_write_keeps_previous_outputs(tmp_path, monkeypatch):
    problem = write_problem(tmp_path, small_program())
    out = tmp_path / "out"
    assert main(["solve", problem, "--out", str(out), "--time-limit", "10", "--quiet"]) == 0
    before = (out / "schedule.json").read_bytes()

    import iop_sched.result as result

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(result, "build_calendars", broken, raising=False)
    monkeypatch.setattr("iop_sched.calendars.build_calendars", broken)
    with pytest.raises(RuntimeError):
        main(["solve", problem, "--out", str(out), "--time-limit", "10", "--quiet"])
    assert (out / "schedule.json").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out", "problem.json"]


def test_schema_command_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Problem"
    # null for an optional key is read as the key not given, and the schema says so; not for required keys
    patient = schema["$defs"]["Patient"]
    assert {"type": "null"} in patient["properties"]["tags"]["anyOf"] and "id" in patient["required"]
    assert "anyOf" not in patient["properties"]["id"]


def test_explain_prints_reasons_for_one_patient(tmp_path, capsys):
    problem = str(acceptance_path())
    out = tmp_path / "out"
    assert main(["solve", problem, "--out", str(out), "--time-limit", "20", "--quiet"]) == 0
    summary = capsys.readouterr().out
    # the full groups are named when the schedule has any: ties among optimal schedules decide whether it does
    full = program_report(load_problem(problem), json.loads((out / "schedule.json").read_text()))["full_groups"]
    assert ("full groups: " + ", ".join(full["block"]) in summary) if len(full) else "full groups:" not in summary
    assert "not placed:" in summary
    assert main(["explain", problem, str(out / "schedule.json"), "--patient", "R140"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("R140:") and "No group of the week is reachable" in printed
    assert main(["explain", problem, str(out / "schedule.json"), "--patient", "nobody"]) == 2
    assert main(["explain", problem, str(tmp_path / "missing.json")]) == 2


def test_explain_prints_the_suggestions_that_place_the_patient(tmp_path, capsys):
    problem = str(acceptance_path())
    out = tmp_path / "out"
    assert main(["solve", problem, "--out", str(out), "--time-limit", "20", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["explain", problem, str(out / "schedule.json"), "--patient", "R122"]) == 0
    assert "suggestions: none computed" in capsys.readouterr().out
    assert main(["solve", problem, "--out", str(out), "--time-limit", "20", "--quiet", "--suggest"]) == 0
    capsys.readouterr()
    assert main(["explain", problem, str(out / "schedule.json"), "--patient", "R122"]) == 0
    printed = capsys.readouterr().out
    assert "suggestions (verified by solving again):" in printed and "+3: add two groups like wed-late-zoom" in printed
    assert main(["explain", problem, str(out / "schedule.json"), "--patient", "R140"]) == 0
    assert "suggestions: no change found that places them" in capsys.readouterr().out


def test_live_progress_names_every_tier_and_the_part(capsys):
    from iop_sched.cli import _live_progress
    from iop_sched.constraints.base import TIER_NAMES

    for tier, name in TIER_NAMES.items():  # re-planning and pins add tiers beyond the three of a plain solve
        _live_progress({"tier": tier, "event": "solution", "value": 3, "bound": 4, "elapsed": 1.25})
        assert f"tier {tier} ({name}): 3, bound 4, 1.2 s" in capsys.readouterr().err
    _live_progress({"tier": 1, "event": "bound", "value": None, "bound": 7, "elapsed": 2.0, "part": "2/3"})
    assert "(patients placed, part 2/3): -, bound 7, 2.0 s" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, words", [
    ("--time-limit", "nan", "--time-limit"), ("--time-limit", "inf", "--time-limit"),
    ("--seed", str(2**40), "--seed"), ("--workers", str(3 * 10**9), "--workers"),
])
def test_numbers_no_solver_can_take_exit_2_before_solving(tmp_path, capsys, option, value, words):
    problem = write_problem(tmp_path, small_program())
    out = tmp_path / "out"
    assert main(["solve", problem, "--out", str(out), option, value, "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(words)
    assert not out.exists()


def test_previous_that_is_no_schedule_document_exits_2(tmp_path, capsys):
    problem = write_problem(tmp_path, small_program())
    out = tmp_path / "out"
    # the problem document itself, given by mistake, is not read as "nobody was placed before"
    assert main(["solve", problem, "--previous", problem, "--out", str(out), "--quiet"]) == 2
    assert "format: must be 'iop-sched-schedule/1'" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "iop-sched-schedule/1", "patients": [1], "blocks": []}))
    assert main(["solve", problem, "--previous", str(broken), "--out", str(out), "--quiet"]) == 2
    assert "patients[0]: must be an object" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("where", ["a-file/out", "/proc/iop-sched-out"])
def test_out_that_cannot_be_made_exits_2_before_solving(tmp_path, capsys, monkeypatch, where):
    import iop_sched.cli as cli

    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setattr(cli, "solve", lambda *args, **kwargs: pytest.fail("solved before --out was checked"))
    problem = write_problem(tmp_path, small_program())
    out = where if where.startswith("/") else str(tmp_path / where)
    assert main(["solve", problem, "--out", out, "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(f"--out {out}:")


def test_out_through_a_symbolic_link_replaces_the_folder_it_points_to(tmp_path):
    problem = write_problem(tmp_path, small_program())
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for _ in range(2):
        assert main(["solve", problem, "--out", str(tmp_path / "link"), "--time-limit", "10", "--quiet"]) == 0
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "schedule.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["link", "problem.json", "real"]  # nothing left beside it


def test_a_problem_read_from_a_pipe_is_read_once(tmp_path):
    import subprocess
    import sys

    data = json.dumps(small_program()).encode()
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "iop_sched.cli", "solve", "/dev/stdin", "--out", str(out),
                          "--time-limit", "10", "--quiet"], input=data, capture_output=True)
    assert run.returncode == 0, run.stderr
    assert json.loads((out / "problem.json").read_bytes()) == json.loads(data)  # a later --from starts from it


def test_schema_uses_json_schema_keywords_only():
    from iop_sched.schema import problem_json_schema

    text = json.dumps(problem_json_schema())
    for keyword in ('"ge"', '"le"', '"gt"', '"lt"'):
        assert keyword not in text
    rules = problem_json_schema()["$defs"]["Rules"]["properties"]
    assert {"type": "number", "minimum": 0, "maximum": 168} in rules["min_weekly_hours"]["anyOf"]


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="renameat2 is Linux's")
def test_the_new_run_is_swapped_with_the_old_in_one_step(tmp_path):
    from iop_sched.output import _exchange

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "schedule.json").write_text("new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "schedule.json").write_text("old")
    assert _exchange(tmp_path / "new", tmp_path / "out")  # no moment without an out/
    assert (tmp_path / "out" / "schedule.json").read_text() == "new"
    assert (tmp_path / "new" / "schedule.json").read_text() == "old"


def test_out_that_is_a_loop_of_links_or_a_mount_point_exits_2_before_solving(tmp_path, capsys, monkeypatch):
    import iop_sched.cli as cli

    monkeypatch.setattr(cli, "solve", lambda *args, **kwargs: pytest.fail("solved before --out was checked"))
    problem = write_problem(tmp_path, small_program())
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert main(["solve", problem, "--out", str(tmp_path / "loop"), "--quiet"]) == 2
    assert "loop of links" in capsys.readouterr().err
    assert main(["solve", problem, "--out", "/", "--quiet"]) == 2  # a mount point on every machine
    assert "mount point" in capsys.readouterr().err


def test_ids_that_differ_only_in_case_are_written_with_a_warning(tmp_path, capsys):
    # unique as strings, so the format accepts them; a case-insensitive disk would keep one calendar of the two
    (tmp_path / "Probe").write_text("")
    if (tmp_path / "probe").exists():
        pytest.skip("this disk is case-insensitive: the two files cannot both be written here")
    data = program_dict(blocks=three_evenings(), patients=[patient("P1"), patient("p1"), patient("P2")])
    out = tmp_path / "out"
    assert main(["solve", write_problem(tmp_path, data), "--out", str(out), "--time-limit", "10", "--quiet"]) == 0
    assert (out / "calendars/patients/P1.ics").read_bytes() != b""
    assert (out / "calendars/patients/p1.ics").read_bytes() != b""
    err = capsys.readouterr().err
    assert "calendars/patients/P1.ics and calendars/patients/p1.ics differ only in case or Unicode form" in err
    assert "P2" not in err


def test_no_warning_when_ids_differ_in_more_than_case(tmp_path, capsys):
    assert main(["solve", write_problem(tmp_path, small_program()), "--out", str(tmp_path / "out"),
                 "--time-limit", "10", "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_case_only_clashes_folds_case_and_unicode_form_and_nothing_else():
    assert case_only_clashes(["a/P1.ics", "a/p1.ics", "a/P2.ics", "b/P1.ics"]) == [("a/P1.ics", "a/p1.ics")]
    assert case_only_clashes(["Jos\u00e9.ics", "Jose\u0301.ics"]) == [("Jose\u0301.ics", "Jos\u00e9.ics")]
    assert case_only_clashes(["P1.ics", "P10.ics", "P1.ics.bak"]) == []
