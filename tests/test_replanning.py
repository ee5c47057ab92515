"""Re-planning from a previous schedule: keep who was placed, change as little as possible."""

from __future__ import annotations

import copy
import importlib
import json
import time

from ortools.sat.python import cp_model

from benchmarks.generate import generate
from iop_sched import problem_from_data, tier_runner
from iop_sched.calendars import build_calendars
from iop_sched.constraints import continuity
from iop_sched.constraints.availability import compute_eligibility
from iop_sched.constraints.base import TIER_CHANGES, TIER_KEEP, TIER_PLACED
from iop_sched.model import FAMILIES, build_model
from iop_sched.constraints import symmetry
from programs import acceptance_path, block, patient, program_dict, solve_checked
from test_calendars import NOW
from iop_sched import load_problem


def test_unchanged_problem_changes_nothing():
    problem = load_problem(acceptance_path())
    first = solve_checked(problem)
    again = solve_checked(problem, previous=first.to_dict())
    assert [(r.id, r.patients, r.clinicians) for r in again.rosters] == \
           [(r.id, r.patients, r.clinicians) for r in first.rosters]
    assert again.stats["previous"]["moved"] == [] and len(again.stats["previous"]["kept"]) == 36
    assert build_calendars(problem, again.to_dict(), now=NOW) == build_calendars(problem, first.to_dict(), now=NOW)


def test_re_planned_placed_bound_is_the_lps_which_needs_nobody_kept(monkeypatch):
    # Tier 1 is solved with everyone placed before kept, so its own bound holds only under that condition: without
    # the LP on patients placed, placed_bound is the number of patients (40); the LP keeps nobody, and proves 36.
    problem = load_problem(acceptance_path())
    first = solve_checked(problem)
    assert again_bounds(problem, first) == (36, 40, 36)
    monkeypatch.setattr(importlib.import_module("iop_sched.solve"), "PLACED_BOUND_PAIRS", range(1, 10_000))
    assert again_bounds(problem, first) == (36, 36, 36)


def test_re_planning_awaits_the_lp_on_patients_placed_when_the_tiers_end_first(monkeypatch):
    def slow_lp(problem, families, seconds, solver):
        """The optimum, about 1 s after the tiers end (~0.2 s here), unless cancelled first."""
        for _ in range(120):
            if solver.cancelled:
                return None
            time.sleep(0.01)
        return 36

    problem = load_problem(acceptance_path())
    first = solve_checked(problem)
    monkeypatch.setattr(importlib.import_module("iop_sched.solve"), "PLACED_BOUND_PAIRS", range(1, 10_000))
    monkeypatch.setattr(tier_runner, "placed_upper_bound", slow_lp)
    assert again_bounds(problem, first) == (36, 36, 36)


def again_bounds(problem, first) -> tuple[int, int, int]:
    """Placed, placed_bound and the bound kept for its condition, re-planned from `first` unchanged."""
    stats = solve_checked(problem, previous=first.to_dict()).stats
    return stats["placed"], stats["placed_bound"], stats["placed_bound_keeping_previous"]


def week_after(document: dict, discharged: list[str]) -> dict:
    """4 admissions, 2 discharges of placed patients, and one clinician off on Monday."""
    changed = copy.deepcopy(document)
    discharged = set(discharged)
    changed["patients"] = [p for p in changed["patients"] if p["id"] not in discharged]
    for number, template in enumerate(copy.deepcopy(document["patients"][:4])):
        template["id"] = f"new{number}"
        changed["patients"].append(template)
    for clinician in changed["clinicians"]:
        for window in clinician["available"]:
            days = window.get("days") or [window.pop("day")]
            window["days"] = [d for d in days if d != "mon"] or ["sun"]
        break
    return changed


def test_admissions_discharges_and_a_clinician_off_keep_everyone_with_fewest_moves():
    document = generate("small", 0)
    before = solve_checked(problem_from_data(document))
    placed_ids = [w.id for w in before.patients if w.placed]
    changed = week_after(document, placed_ids[:2])
    problem = problem_from_data(changed)
    after = solve_checked(problem, previous=before.to_dict())
    still_here = {p["id"] for p in changed["patients"]} & set(placed_ids)
    placed_now = {w.id for w in after.patients if w.placed}
    tiers = {t["tier"]: t for t in after.stats["tiers"]}
    assert tiers[TIER_KEEP]["status"] == "optimal" and tiers[TIER_CHANGES]["status"] == "optimal"
    assert still_here <= placed_now and tiers[TIER_KEEP]["value"] == len(still_here)
    assert {f"new{n}" for n in range(4)} & placed_now  # newcomers are placed too where they fit

    moved = len(after.stats["previous"]["moved"])
    assert tiers[TIER_CHANGES]["value"] > 0  # the newcomers' groups at least are changes

    # Second solve: with as many kept and placed, one moved patient fewer is impossible, and so is
    # one changed assignment fewer.
    previous = continuity.PreviousSchedule.resolve(problem, before.to_dict())
    families = tuple(f for f in FAMILIES if f is not symmetry.add) + (continuity.family(previous),)
    built = build_model(problem, families)
    built.model.add(built.tier_expression(TIER_KEEP) <= -tiers[TIER_KEEP]["value"])
    built.model.add(built.tier_expression(TIER_PLACED) <= -tiers[TIER_PLACED]["value"])
    fewer_moved = copy.deepcopy(built.model)
    built.model.add(built.tier_expression(TIER_CHANGES) <= tiers[TIER_CHANGES]["value"] - 1)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 60
    solver.parameters.num_workers = 8
    assert solver.solve(built.model) == cp_model.INFEASIBLE
    indicators = continuity.moved_patients(fewer_moved, built.variables, previous)
    fewer_moved.add(sum(indicators) <= moved - 1)
    assert solver.solve(fewer_moved) == cp_model.INFEASIBLE


def test_vanished_blocks_patients_and_clinicians_are_reported_not_crashed_on():
    document = generate("small", 1)
    before = solve_checked(problem_from_data(document)).to_dict()
    changed = copy.deepcopy(document)
    gone_block = next(b["id"] for b in before["blocks"] if b["patients"])
    changed["blocks"] = [b for b in changed["blocks"] if b["id"] != gone_block]
    gone_clinician = next(c for b in before["blocks"] for c in b["clinicians"])
    changed["clinicians"] = [c for c in changed["clinicians"] if c["id"] != gone_clinician]
    for p in changed["patients"]:
        if p.get("primary_clinician") == gone_clinician:
            del p["primary_clinician"]
    after = solve_checked(problem_from_data(changed), previous=before)
    ignored = after.stats["previous"]["ignored_references"]
    assert f"block {gone_block!r}" in ignored and f"clinician {gone_clinician!r}" in ignored


def test_room_closed_moves_only_what_it_must():
    document = generate("small", 2)
    before = solve_checked(problem_from_data(document))
    busiest_room = max({b.room for b in before.problem.blocks if b.room},
                       key=lambda room: sum(len(r.patients) for r in before.rosters
                                            if next(b for b in before.problem.blocks if b.id == r.id).room == room))
    changed = copy.deepcopy(document)
    closed = {b["id"] for b in changed["blocks"] if b.get("room") == busiest_room}
    changed["blocks"] = [b for b in changed["blocks"] if b["id"] not in closed]
    for p in changed["patients"]:
        if "pinned_blocks" in p:
            p["pinned_blocks"] = [b for b in p["pinned_blocks"] if b not in closed]
    after = solve_checked(problem_from_data(changed), previous=before.to_dict())
    affected = {w.id for w in before.patients if set(w.blocks) & closed}
    assert affected, "the closed room had groups"
    moved = set(after.stats["previous"]["moved"]) | set(after.stats["previous"]["dropped"])
    assert affected <= moved  # everyone in the closed room had to move (or could not be placed again)
    tiers = {t["tier"]: t for t in after.stats["tiers"]}
    assert tiers[TIER_KEEP]["status"] == "optimal" and tiers[TIER_CHANGES]["status"] == "optimal"


def test_re_planning_starts_from_the_previous_schedule_whole_when_all_of_it_still_fits(monkeypatch):
    """CP-SAT starts from a hint only when it is complete: a previous schedule that still fits is completed before the
    first tier (`tier_runner.complete_hint`), so even the first schedule each tier finds moves nobody."""
    problem = load_problem(acceptance_path())
    first = solve_checked(problem)
    repairs = repairs_before_the_first_tier(monkeypatch)
    again = solve_checked(problem, previous=first.to_dict(), extra_parameters={"stop_after_first_solution": True})
    assert again.stats["previous"]["moved"] == [] and len(again.stats["previous"]["kept"]) == 36
    assert repairs == []  # completed whole: nothing to repair


def repairs_before_the_first_tier(monkeypatch) -> list:
    """Record each repair of the previous schedule (`TierRunner.start_from_previous_weeks`): whether the model's hint
    held every variable after it."""
    repairs: list = []
    start_from_previous_weeks = tier_runner.TierRunner.start_from_previous_weeks

    def recording(self, tier, seconds):
        start_from_previous_weeks(self, tier, seconds)
        proto = self.schedule_model.model.proto
        repairs.append(len(set(proto.solution_hint.vars)) == len(proto.variables))

    monkeypatch.setattr(tier_runner.TierRunner, "start_from_previous_weeks", recording)
    return repairs


def test_a_previous_schedule_that_no_longer_fits_is_repaired_before_the_first_tier(monkeypatch):
    """Discharges leave a group below its minimum: the previous schedule breaks a rule and cannot be completed whole.
    The first tier then starts from the previous weeks as far as they still hold, completed
    (`TierRunner.start_from_previous_weeks`), and everyone else keeps their week."""
    document = json.loads(acceptance_path().read_text())
    first = solve_checked(problem_from_data(document))
    minimum = {b["id"]: b.get("min_size", 1) for b in document["blocks"]}
    group = min((r for r in first.rosters if r.patients), key=lambda r: len(r.patients) - minimum[r.id])
    gone = set(group.patients[:len(group.patients) - minimum[group.id] + 1])
    document["patients"] = [p for p in document["patients"] if p["id"] not in gone]
    repairs = repairs_before_the_first_tier(monkeypatch)
    again = solve_checked(problem_from_data(document), previous=first.to_dict(),
                          extra_parameters={"stop_after_first_solution": True})
    assert repairs == [True]
    untouched = {w.id for w in first.patients if w.placed and group.id not in w.blocks} - gone
    assert untouched and not untouched & set(again.stats["previous"]["moved"] + again.stats["previous"]["dropped"])


def copies_searched_in_the_changes_tier(monkeypatch) -> list:
    """Record each copy the changes tier searches: (its allowed pairs, the changes of its schedule or None, the
    (patient, block) pairs its schedule attends)."""
    searched: list = []
    search_copy = tier_runner.TierRunner._search_copy

    def recording(self, searcher, tier, allowed, held, seconds, *args, **kwargs):
        code = search_copy(self, searcher, tier, allowed, held, seconds, *args, **kwargs)
        if tier == TIER_CHANGES:
            found = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            week = {key for key, var in self.schedule_model.variables.attend.items()
                    if found and searcher.boolean_value(var)}
            searched.append((set(allowed), round(searcher.objective_value) if found else None, week))
        return code

    monkeypatch.setattr(tier_runner.TierRunner, "_search_copy", recording)
    return searched


def reshuffle_after_tier_one(monkeypatch) -> list:
    """After tier 1, move the schedule in hand as far from the previous one as the count allows, as a search that
    counts patients placed only may; records (the pairs in hand, their changes)."""
    in_hand: list = []
    solve_tier = tier_runner.TierRunner.solve_tier

    def reshuffled(self, tier, seconds, progress=None):
        solve_tier(self, tier, seconds, progress)
        if tier == TIER_PLACED:
            model, changes = self.schedule_model.model, self.schedule_model.tier_expression(TIER_CHANGES)
            model.maximize(changes)
            far = cp_model.CpSolver()
            far.parameters.num_workers, far.parameters.max_time_in_seconds = 2, 5.0
            assert far.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            self.best = far
            tier_runner.hint_complete_solution(model, far)
            in_hand.append((self.best_week().attend, far.value(changes)))

    monkeypatch.setattr(tier_runner.TierRunner, "solve_tier", reshuffled)
    return in_hand


def test_the_changes_tier_first_searches_each_patients_previous_week_and_week_in_hand(monkeypatch):
    """The tier before it counts patients placed only, and its search may reshuffle the groups: the changes tier first
    searches only the previous schedule's pairs and the schedule in hand's (`TierRunner._search_previous_weeks`),
    and every pair of the patients not placed before."""
    problem = load_problem(acceptance_path())
    first = solve_checked(problem)
    previous = continuity.PreviousSchedule.resolve(problem, first.to_dict())
    searched = copies_searched_in_the_changes_tier(monkeypatch)
    in_hand = reshuffle_after_tier_one(monkeypatch)
    again = solve_checked(problem, previous=first.to_dict())
    (week_in_hand, changes_in_hand), = in_hand
    assert changes_in_hand > 0
    (allowed, changes, _), = searched
    pairs = problem_pairs(problem)
    not_placed_before = {p for p, _ in pairs} - {p for p, _ in previous.attend}
    assert not_placed_before  # 4 of the 40 are not placed; 3 of them have groups they could attend
    free = {(p, b) for p, b in pairs if p in not_placed_before}
    assert allowed == previous.attend | week_in_hand | free and changes == 0  # everyone back in their previous week
    assert again.stats["previous"]["moved"] == []


def problem_pairs(problem) -> set:
    """Every eligible (patient, block) pair of `problem`."""
    return {(p, b) for p, blocks in enumerate(compute_eligibility(problem).blocks_of_patient) for b in blocks}


def test_in_the_changes_tiers_first_search_a_newcomer_may_leave_their_week_in_hand_for_a_patient_coming_back(
        monkeypatch):
    """Two one-seat groups. `old` attended one last week; `new` is admitted, and the reshuffled schedule in hand gives
    `new` that seat and `old` the other. Only if `new` may take any of their groups can `old` go back: a newcomer's
    week in hand is no reason to move a patient in treatment."""
    groups = [block(day, day, "18:00", "21:00", room="r1", max_size=1) for day in ("mon", "tue")]
    before = solve_checked(program_dict(blocks=groups, patients=[patient("old")]))
    (old_group,) = before.patients[0].blocks
    problem = problem_from_data(program_dict(blocks=groups, patients=[patient("old"), patient("new")]))
    searched = copies_searched_in_the_changes_tier(monkeypatch)
    in_hand = reshuffle_after_tier_one(monkeypatch)
    again = solve_checked(problem, previous=before.to_dict())
    (week_in_hand, _), = in_hand
    index = {group.id: b for b, group in enumerate(problem.blocks)}
    assert (0, index[old_group]) not in week_in_hand and (1, index[old_group]) in week_in_hand
    (_, _, copy_week), = searched
    assert (0, index[old_group]) in copy_week  # the copy itself puts `old` back, `new` in the other group
    assert again.stats["previous"]["moved"] == []


def test_without_a_previous_schedule_there_is_no_changes_tier_to_search(monkeypatch):
    searched = copies_searched_in_the_changes_tier(monkeypatch)
    solve_checked(load_problem(acceptance_path()))
    assert searched == []
