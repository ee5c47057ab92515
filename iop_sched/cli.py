"""`iop-sched`: solve a program, check or explain a schedule, print the problem's JSON Schema.

Exit status: 0 done; 1 a schedule that breaks a rule (`check`); 2 an invalid
document or unusable --out (nothing written).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Optional, Sequence

from .constraints.base import TIER_NAMES
from .loading import ProblemError, load_problem, parse_json, problem_from_data, read_document
from .output import OutputError, case_only_clashes, check_out_dir
from .schema import Problem, problem_json_schema
from .constraints.continuity import previous_faults
from .solve import DEFAULT_TIME_LIMIT, DEFAULT_WORKERS, MAX_SEED, MAX_WORKERS, solve

EXIT_OK = 0
EXIT_RULE_BROKEN = 1
EXIT_INVALID = 2


def _fail(lines: Sequence[str]) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_INVALID


def _live_progress(update: dict) -> None:
    """One overwritten line on a terminal: what the solver has and what it has proven."""
    value = "-" if update["value"] is None else f"{update['value']:g}"
    bound = "-" if update["bound"] is None else f"{update['bound']:g}"
    part = f", part {update['part']}" if update.get("part") else ""
    name = TIER_NAMES.get(update["tier"], "tier")
    text = f"\r  tier {update['tier']} ({name}{part}): {value}, bound {bound}, {update['elapsed']:.1f} s   "
    print(text, end="", file=sys.stderr, flush=True)


def _read_problem(path: str) -> tuple[bytes, Problem]:
    """The problem document's bytes and the problem, read once: PROBLEM may be a pipe (/dev/stdin)."""
    raw_problem = read_document(path)
    return raw_problem, problem_from_data(parse_json(raw_problem))


def _command_solve(args: argparse.Namespace) -> int:
    try:
        raw_problem, problem = _read_problem(args.problem)
        check_out_dir(args.out)
    except ProblemError as error:
        return _fail(error.faults)
    except OutputError as error:
        return _fail([str(error)])
    if not math.isfinite(args.time_limit) or args.time_limit <= 0:
        return _fail(["--time-limit: must be a positive number of seconds"])
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        return _fail([f"--workers: must be from 1 to {MAX_WORKERS}"])
    if not -MAX_SEED <= args.seed <= MAX_SEED:
        return _fail([f"--seed: must be from {-MAX_SEED} to {MAX_SEED}"])
    previous = None
    if args.previous:
        previous, faults = _read_schedule(args.previous)
        faults = faults or [f"{args.previous}: {fault}" for fault in previous_faults(previous)]
        if faults:
            return _fail([f"--previous {line}" for line in faults])
    update = None
    if args.from_date is not None:
        update, faults = _read_update_base(args)
        if update is None:
            return _fail(faults)
    live = not args.quiet and sys.stderr.isatty()
    schedule = solve(problem, time_limit=args.time_limit, workers=args.workers, seed=args.seed,
                     log=args.log, progress=_live_progress if live else None, previous=previous)
    if live:
        print(file=sys.stderr)
    extra_files = {"problem.json": raw_problem}  # what the next re-plan --from starts from
    if update is not None:
        from .calendars import build_calendar_update

        old_problem, old_calendars, from_date = update
        try:
            extra_files.update(build_calendar_update(old_problem, previous, problem, schedule.to_dict(), from_date,
                                                     old_calendars=old_calendars))
        except ValueError as error:
            return _fail([f"--from: cannot update the previous calendars: {error}"])
    if args.suggest:
        from .suggestions import suggest, suggestions_document

        suggestions = suggest(problem, schedule.to_dict(), parse_json(raw_problem))
        extra_files["suggestions.json"] = suggestions_document(suggestions)
    try:
        out = schedule.write(args.out, extra_files)
    except OutputError as error:
        return _fail([str(error)])
    except OSError as error:  # found only while writing (the disk full, a folder made read-only meanwhile)
        return _fail([f"--out {args.out}: cannot be written ({error.strerror or error}); the previous --out is intact"])
    print(schedule.summary())
    for clash in case_only_clashes(str(path.relative_to(out)) for path in sorted(out.rglob("*")) if path.is_file()):
        print(f"warning: {' and '.join(clash)} differ only in case or Unicode form: copied to a case-insensitive disk (Windows, "
              f"macOS) one would overwrite the other; give those ids spellings that differ in more than that",
              file=sys.stderr)
    if args.suggest:
        print("suggestions (verified by solving again):" if suggestions else "no change found that places more")
        for suggestion in suggestions[:5]:
            print(f"  +{suggestion.placed_gain}: {suggestion.text}")
    print(f"wrote {out}/schedule.json and {out}/calendars/")
    if update is not None:
        changes = json.loads(extra_files["changes.json"])
        print(f"calendars updated in place from {changes['from']}: {len(changes['patients'])} patient(s) and "
              f"{len(changes['clinicians'])} clinician(s) to notify, listed in {out}/changes.json")
    return EXIT_OK


def _problem_and_schedule(args: argparse.Namespace) -> tuple[Optional[Problem], bytes, Optional[dict], list[str]]:
    """The PROBLEM (also as bytes) and SCHEDULE arguments, read; faults when either cannot be."""
    try:
        raw_problem, problem = _read_problem(args.problem)
    except ProblemError as error:
        return None, b"", None, error.faults
    document, faults = _read_schedule(args.schedule)
    return problem, raw_problem, document, faults


def _command_check(args: argparse.Namespace) -> int:
    from .validate import validate_schedule

    problem, _, document, faults = _problem_and_schedule(args)
    if faults:
        return _fail(faults)
    violations = validate_schedule(problem, document)
    for violation in violations:
        print(f"{violation.place}: [{violation.rule}] {violation.message}")
    if violations:
        print(f"{len(violations)} rule(s) broken", file=sys.stderr)
        return EXIT_RULE_BROKEN
    stats = document.get("stats", {})
    print(f"valid: {stats.get('placed', '?')} of {stats.get('patients', '?')} patients placed, every hard rule holds")
    return EXIT_OK


def _read_schedule(path: str) -> tuple[Optional[dict], list[str]]:
    try:
        document = parse_json(read_document(path), where=path)
    except ProblemError as error:
        return None, error.faults
    if not isinstance(document, dict) or not isinstance(document.get("patients"), list):
        return None, [f"{path}: not a schedule document (a JSON object with a patients list)"]
    return document, []


def _read_update_base(args: argparse.Namespace) -> tuple[Optional[tuple], list[str]]:
    """For --from: the date, and the previous run's problem.json and calendars/ (beside --previous)."""
    try:
        from_date = date.fromisoformat(args.from_date)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", args.from_date):
            raise ValueError
    except ValueError:
        return None, [f"--from: {args.from_date!r} is not a date (YYYY-MM-DD)"]
    if not args.previous:
        return None, ["--from: needs --previous OLD/schedule.json (the run whose calendars are updated)"]
    folder = Path(args.previous).parent
    old_problem_path = folder / "problem.json"
    if not old_problem_path.is_file():
        return None, [f"--from: {old_problem_path} not found: --previous must be the schedule.json of a "
                      "run that wrote problem.json beside it"]
    try:
        old_problem = load_problem(old_problem_path)
    except ProblemError as error:
        return None, [f"--from {old_problem_path}: {line}" for line in error.faults]
    calendars = folder / "calendars"
    old_calendars = None  # no calendars/: rebuilt from the previous problem and schedule
    if calendars.is_dir():
        old_calendars = {f"calendars/{path.relative_to(calendars).as_posix()}": path.read_bytes()
                         for path in sorted(calendars.rglob("*.ics")) if path.is_file()}
    return (old_problem, old_calendars, from_date), []


def _command_explain(args: argparse.Namespace) -> int:
    from .reasons import explain
    from .validate import validate_schedule

    problem, raw_problem, document, faults = _problem_and_schedule(args)
    if faults:
        return _fail(faults)
    shape = [v for v in validate_schedule(problem, document) if v.rule.startswith("document.")]
    if shape:
        return _fail([f"{args.schedule}: {v.place}: {v.message}" for v in shape])
    try:
        explanations = explain(problem, document, args.patient)
    except KeyError as error:
        return _fail([f"--patient: {error.args[0]}"])
    if not explanations:
        print("every patient asked about is placed")
    for patient_id, explanation in explanations.items():
        print(f"{patient_id}:")
        for sentence in explanation.sentences:
            print(f"  - {sentence}")
    _print_suggestions(args, problem, raw_problem, document)
    return EXIT_OK


def _print_suggestions(args: argparse.Namespace, problem: Problem, raw_problem: bytes, document: dict) -> None:
    """Suggestions: computed with --suggest, else those of suggestions.json beside the schedule, if any.

    With --patient, only the suggestions that place that patient.
    """
    if args.suggest:
        from .suggestions import suggest

        found = [s.to_dict() for s in suggest(problem, document, parse_json(raw_problem))]
    else:
        beside = Path(args.schedule).with_name("suggestions.json")
        if not beside.is_file():
            print("suggestions: none computed (solve with --suggest, or explain with --suggest)")
            return
        try:
            found = parse_json(read_document(beside))["suggestions"]
        except (ProblemError, KeyError, TypeError):
            print(f"suggestions: {beside} is not a suggestions document; ignored")
            return
    if args.patient is not None:
        found = [s for s in found if args.patient in s.get("newly_placed", [])]
    if not found:
        print("suggestions: no change found that places " + ("them" if args.patient else "more"))
        return
    print("suggestions (verified by solving again):")
    for suggestion in found:
        print(f"  +{suggestion['placed_gain']}: {suggestion['text']}")


def _command_schema(args: argparse.Namespace) -> int:
    print(json.dumps(problem_json_schema(), indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iop-sched", description="Weekly group schedules for Intensive Outpatient Programs.")
    commands = parser.add_subparsers(dest="command", required=True)

    solve_parser = commands.add_parser("solve", help="solve a problem document, write schedule.json and calendars")
    solve_parser.add_argument("problem", help="problem document (iop-sched/1 JSON)")
    solve_parser.add_argument("--out", required=True, help="folder for schedule.json and calendars/ (replaced whole)")
    solve_parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT,
                              help="seconds for the solver, every tier included; the reasons for unplaced "
                                   "patients take a few seconds more (docs/format.md)")
    solve_parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="CP-SAT workers (default: pinned portfolios per tier)")
    solve_parser.add_argument("--seed", type=int, default=0, help="CP-SAT random seed")
    solve_parser.add_argument("--quiet", action="store_true", help="no live progress")
    solve_parser.add_argument("--log", action="store_true", help="CP-SAT's own search log on stdout")
    solve_parser.add_argument("--previous", help="re-plan from this earlier schedule.json: keep who was placed, "
                              "change as little as possible")
    solve_parser.add_argument("--from", dest="from_date", metavar="YYYY-MM-DD",
                              help="with --previous: change calendars from this date on only; earlier occurrences "
                              "stay, calendars update in place, changes.json lists whom to notify")
    solve_parser.add_argument("--suggest", action="store_true",
                              help="also write suggestions.json: changes that place more patients, each verified by "
                              "solving again (up to 20 candidates, 10 s each)")
    solve_parser.set_defaults(run=_command_solve)

    check_parser = commands.add_parser("check", help="check a schedule against every hard rule")
    check_parser.add_argument("problem")
    check_parser.add_argument("schedule")
    check_parser.set_defaults(run=_command_check)

    explain_parser = commands.add_parser("explain", help="why patients of a schedule are not placed")
    explain_parser.add_argument("problem")
    explain_parser.add_argument("schedule")
    explain_parser.add_argument("--patient", help="only this patient")
    explain_parser.add_argument("--suggest", action="store_true",
                                help="compute and verify suggestions now (else those of suggestions.json beside "
                                "the schedule are printed)")
    explain_parser.set_defaults(run=_command_explain)

    schema_parser = commands.add_parser("schema", help="print the problem document's JSON Schema")
    schema_parser.set_defaults(run=_command_schema)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # `iop-sched schema | head`: the reader has gone, which is not a fault
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
