"""What binds a patient who could be placed alone but was not, proven with the solver.

What binds, proven (the "competition" case)
-------------------------------------------
The question Q asked of CP-SAT: "is there a week of the hard rules (`HARD_FAMILIES`:
patient weeks, topics, group sizes, staffing, rooms; wishes, costs and symmetry
breaking are not rules) in which this patient is placed and every patient placed in
the given schedule is still placed, possibly in other groups?" Patients left out of
the schedule may be placed too. The given schedule is the solver's hint. The first
entry after `competition` is one of:

- Q feasible: the schedule missed a better one (it was not proven optimal):
  `{"code": "not_found_in_time", "week": [groups that would work]}`.
- Q not settled in time: `{"code": "undetermined", "rule": null, "seconds": N}`;
  nothing more is claimed. (`reasons` says the same with `"rule": "placeable_alone"` when even
  the check of the patient's week alone, made before Q, is not settled in time.)
- Q proven infeasible: Q is asked again with one rule relaxed at a time, only at the
  groups this patient can reach (`RULES`, in this order). Each relaxed rule comes back
  as a constraint with a slack the solver minimises, so a feasible answer shows the
  relaxation that works (the "witness"; the least one when the solver proves it). Each
  relaxation that makes Q feasible binds, one sentence and one entry each:
  `{"code": "binds", "rule": RULE, "blocks": [groups relaxed], "week": [the patient's
  groups in the witness], "least": proven the least relaxation, ...details}`, RULE one of
  - `group_full` ("Groups full"): max_size and room capacity of those groups lifted;
    `extra_seats` {group: seats beyond its capacity}.
  - `group_too_small` ("Too few others to open a group at the times they can come"):
    min_size of those groups lifted; `sizes` {group: [patients, min_size]}.
  - `clinician_hours` ("Clinician hours used up"): every clinician's weekly cap lifted
    (the whole program: who could take over is not limited to these groups);
    `clinicians` {clinician: hours beyond the cap}; `blocks` is empty.
  - `no_clinician` ("No clinician with the credentials free then"): those groups get
    clinicians of their own (each credential they ask for, free at their time, no cap,
    enough for the ratio); `extra_clinicians` {group: clinicians}. Asked only when
    lifting the hour caps does not help, since extra clinicians would also make up for
    used-up hours.
  - `room_taken` ("Room taken"): those groups no longer clash with other groups in
    their room; `taken_by` {group: [groups in the same room then]}, `rooms` {group: room}.
  Relaxations not settled in time: `{"code": "undetermined", "rules": [...], "seconds": N}`.
  When every single relaxation is proven not to help, all are lifted together once:
  `{"code": "combination", "feasible": true, "rules": [...], "parts": {rule: details},
  "week": [...], "least": ...}` names what the joint witness needed (`feasible` false: not even all
  together; null: not settled in time, with `seconds`).
- Questions skipped for the limits below: `{"code": "not_checked", "reason": "budget",
  "rules": [...]}` or `{"code": "not_checked", "reason": "max_patients", "max_patients": N}`.

Sentences name groups, rooms and clinicians, never a patient (counts only).
Cost: each question is one model build (well under a second on the large benchmark)
and a solve of at most `check_seconds`: first one worker for a tenth of it in
deterministic time (what it settles, witness included, is the same on every run,
which keeps small programs' documents reproducible), then, if still open, solve()'s
pinned tier-1 portfolio for the rest. All questions of one call share
`budget_seconds`, and only the first `max_patients` patients of this case are analysed. `explain_unplaced` (run at the end of every
`solve()`) uses the quick limits (1 s a question, 5 s in all), `explain` (the
`iop-sched explain` command) the full ones (10 s, 120 s).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from ortools.sat.python import cp_model

from .constraints import group_size, patient_week, rooms, staffing, topics
from .constraints.availability import Eligibility, compute_eligibility
from .constraints.base import Variables
from .explanation import Explanation
from .model import create_variables
from .schema import Clinician, Problem, Room, Window
from .tier_runner import apply_parameters
from .weektime import describe_interval, intervals_overlap

# ---------------------------------------------------------------------------------------
# What binds, proven with the solver (see the module docstring for the codes)
# ---------------------------------------------------------------------------------------

#: The hard rules of a week (wishes, costs and symmetry breaking are not rules a patient is kept out by).
HARD_FAMILIES = (patient_week.add, topics.add, group_size.add, staffing.add, rooms.add)
#: The relaxations, in the order they are asked.
RULES = ("group_full", "group_too_small", "clinician_hours", "no_clinician", "room_taken")
_HEADLINES = {
    "group_full": "Groups full",
    "group_too_small": "Too few others to open a group at the times they can come",
    "clinician_hours": "Clinician hours used up",
    "no_clinician": "No clinician with the credentials free then",
    "room_taken": "Room taken",
}
_LABELS = {
    "group_full": "full groups",
    "group_too_small": "too few others to open a group",
    "clinician_hours": "clinician hours",
    "no_clinician": "a lack of clinicians with the credentials free then",
    "room_taken": "rooms taken",
}
QUICK_CHECK_SECONDS = 1.0    # per question, at the end of every solve()
QUICK_BUDGET_SECONDS = 5.0   # all questions of one solve()
FULL_CHECK_SECONDS = 10.0    # per question, `iop-sched explain`
FULL_BUDGET_SECONDS = 120.0  # all questions of one `iop-sched explain`
MAX_PATIENTS_PROVED = 20     # patients analysed per call, in list order
#: None: solve()'s pinned tier-1 portfolio (`solve.TIER_PORTFOLIO`, followed as it changes; the three-worker
#: one proved in 5-8 s two medium-benchmark questions that CP-SAT's own 2-worker portfolio left open after 10 s;
#: with the two-worker one `iop-sched explain` answers every question of medium seed 0 in 25 s); a number:
#: CP-SAT's own portfolio of that many workers.
CHECK_WORKERS: Optional[int] = None
MIN_CHECK_SECONDS = 0.05     # below this, a question is not asked
#: Share of a question's seconds first given to one worker in deterministic time (reproducible answers).
DETERMINISTIC_SHARE = 0.1
_UNIT_WEIGHT = 60            # in a witness, a seat, a patient short or a clinician weighs as an hour of clinician time
_LETS_IN = " they could be placed without unplacing anyone placed here."


@dataclass
class _Answer:
    status: str                                           # "feasible", "infeasible", "unknown" or "not_asked"
    seconds: float = 0.0                                  # the time limit the question had
    week: list[str] = field(default_factory=list)         # the patient's groups in the witness
    parts: dict[str, dict] = field(default_factory=dict)  # rule -> what the witness relaxed (empty: nothing)
    least: bool = False                                   # the witness is proven the least relaxation


@dataclass
class _Question:
    model: cp_model.CpModel
    variables: Variables
    witnesses: list[Callable[[cp_model.CpSolver], tuple[str, dict]]]


def _fresh_id(taken: set[str], stem: str) -> str:
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}~{n}"
    taken.add(candidate)
    return candidate


def _with_blocks(problem: Problem, updates: dict[int, dict], extra_rooms: list[Room]) -> Problem:
    """A copy of the problem with some blocks changed (positions kept, so the model's variables still fit)."""
    if not updates and not extra_rooms:
        return problem
    blocks = list(problem.blocks)
    for b, update in updates.items():
        blocks[b] = blocks[b].model_copy(update=update)
    return problem.model_copy(update={"blocks": blocks, "rooms": list(problem.rooms) + extra_rooms})


def _room_clashes(problem: Problem, reach: list[int]) -> list[tuple[int, int]]:
    """(reachable block, other block) meeting in the same physical room at overlapping times, each pair once."""
    pairs: list[tuple[int, int]] = []
    seen: set[frozenset] = set()
    for b in reach:
        room = problem.room_of(problem.blocks[b])
        if room is None or room.virtual:
            continue
        for o, other in enumerate(problem.blocks):
            key = frozenset((b, o))
            if o != b and other.room == room.id and intervals_overlap(problem.blocks[b].interval, other.interval) \
                    and key not in seen:
                seen.add(key)
                pairs.append((b, o))
    return pairs


def _with_spare_clinicians(problem: Problem, eligibility: Eligibility,
                           reach: list[int]) -> tuple[Problem, Eligibility, dict[int, list[int]]]:
    """Clinicians of their own for the reachable blocks: every credential asked, free then, no cap, enough for the ratio."""
    ratio = problem.program.rules.max_patients_per_clinician
    clinicians = list(problem.clinicians)
    taken = {clinician.id for clinician in clinicians}
    of_block = [list(crew) for crew in eligibility.clinicians_of_block]
    of_clinician = [list(blocks) for blocks in eligibility.blocks_of_clinician]
    spares: dict[int, list[int]] = {}
    for b in reach:
        block = problem.blocks[b]
        needed = max(block.clinicians, math.ceil(len(eligibility.patients_of_block[b]) / ratio) if ratio else 0)
        for _ in range(needed):
            clinicians.append(Clinician(id=_fresh_id(taken, f"~spare~{b}"), credentials=list(block.credentials or []),
                                        available=[Window(day=block.day, start=block.start, end=block.end)]))
            c = len(clinicians) - 1
            of_clinician.append([b])
            of_block[b].append(c)
            spares.setdefault(b, []).append(c)
    relaxed = Eligibility(blocks_of_patient=eligibility.blocks_of_patient, patients_of_block=eligibility.patients_of_block,
                          blocks_of_clinician=of_clinician, clinicians_of_block=of_block)
    return problem.model_copy(update={"clinicians": clinicians}), relaxed, spares


def _count(n: int, singular: str, plural: str) -> str:
    return f"one {singular}" if n == 1 else f"{n} {plural}"


class Prover:
    """Asks CP-SAT whether a patient fits beside everyone placed, with no rule or one rule relaxed."""

    def __init__(self, problem: Problem, eligibility: Eligibility, schedule: dict, *, check_seconds: float,
                 budget_seconds: Optional[float], workers: Optional[int], seed: int):
        self.problem, self.eligibility = problem, eligibility
        self.check_seconds, self.budget_seconds = float(check_seconds), budget_seconds
        self.deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        from .solve import TIER_PLACED, tier_parameters

        self.seed = int(seed)
        stats = schedule.get("stats", {})
        # placed == placed_bound: the number placed is proven the most possible, so "this patient too,
        # with everyone placed kept" is already known to be impossible and need not be asked again.
        self.proven_most = stats.get("placed") is not None and stats.get("placed") == stats.get("placed_bound")
        self.parameters = tier_parameters(TIER_PLACED, workers, self.seed, False, None)
        patient_index = {patient.id: p for p, patient in enumerate(problem.patients)}
        block_index = {block.id: b for b, block in enumerate(problem.blocks)}
        clinician_index = {clinician.id: c for c, clinician in enumerate(problem.clinicians)}
        self.keep = sorted({patient_index[entry["id"]] for entry in schedule["patients"]
                            if entry.get("placed") and entry.get("id") in patient_index})
        self.hint_attend: set[tuple[int, int]] = set()
        self.hint_staff: set[tuple[int, int]] = set()
        self.hint_open: set[int] = set()
        for entry in schedule.get("blocks", []):
            b = block_index.get(entry.get("id"))
            if b is None:
                continue
            members = [patient_index[q] for q in entry.get("patients", []) if q in patient_index]
            if members:
                self.hint_open.add(b)
            self.hint_attend.update((q, b) for q in members)
            self.hint_staff.update((clinician_index[c], b) for c in entry.get("clinicians", []) if c in clinician_index)

    # ---- one question ----------------------------------------------------------------------

    def _time_left(self) -> float:
        if self.deadline is None:
            return self.check_seconds
        return min(self.check_seconds, self.deadline - time.monotonic())

    def ask(self, p: int, rules: Iterable[str]) -> _Answer:
        """Q: patient p placed and everyone placed in the schedule still placed, with `rules` relaxed for p's groups."""
        limit = self._time_left()
        if limit < MIN_CHECK_SECONDS:
            return _Answer("not_asked")
        question = self._question(p, frozenset(rules))
        if question is None:  # nothing to relax at these groups: the question without relaxation, already answered no
            return _Answer("infeasible")
        limit = max(MIN_CHECK_SECONDS, min(limit, self._time_left()))
        started = time.monotonic()
        # First one worker within a deterministic time: whatever it settles (and the witness it shows) is the
        # same on every run. Only a question it leaves open goes to the parallel portfolio for the time left.
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = self.seed
        solver.parameters.max_deterministic_time = limit * DETERMINISTIC_SHARE
        solver.parameters.max_time_in_seconds = limit
        code = solver.solve(question.model)
        left = limit - (time.monotonic() - started)
        if code == cp_model.UNKNOWN and left >= MIN_CHECK_SECONDS:
            solver = cp_model.CpSolver()
            apply_parameters(solver, self.parameters)
            solver.parameters.max_time_in_seconds = left
            code = solver.solve(question.model)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            blocks = self.problem.blocks
            week = [blocks[b].id for b in self.eligibility.blocks_of_patient[p]
                    if solver.boolean_value(question.variables.attend[p, b])]
            parts = dict(witness(solver) for witness in question.witnesses)
            return _Answer("feasible", limit, week, parts, least=code == cp_model.OPTIMAL)
        return _Answer("infeasible" if code == cp_model.INFEASIBLE else "unknown", limit)

    def _question(self, p: int, rules: frozenset[str]) -> Optional[_Question]:
        """The model of Q with `rules` relaxed for p's groups, each relaxation a slack the solver minimises.

        None when the relaxation cannot change anything for these groups (Q itself).
        """
        problem, eligibility = self.problem, self.eligibility
        blocks = problem.blocks
        reach = eligibility.blocks_of_patient[p]
        base = problem
        if "clinician_hours" in rules and any(c.max_weekly_hours is not None for c in problem.clinicians):
            base = base.model_copy(update={"clinicians": [c.model_copy(update={"max_weekly_hours": None})
                                                          for c in base.clinicians]})
            eligibility = compute_eligibility(base)
        spares: dict[int, list[int]] = {}
        if "no_clinician" in rules:
            base, eligibility, spares = _with_spare_clinicians(base, eligibility, reach)

        # group_size sees raised capacities / min sizes, rooms sees the groups in rooms of their own
        room_ids = {room.id for room in problem.rooms}
        updates: dict[int, dict] = defaultdict(dict)
        extra_rooms: list[Room] = []
        over = ([b for b in reach if len(eligibility.patients_of_block[b]) > problem.capacity_of(blocks[b])]
                if "group_full" in rules else [])
        for b in over:
            updates[b]["max_size"] = None
            room = problem.room_of(blocks[b])
            if room is not None and not room.virtual and room.capacity is not None:
                extra_rooms.append(room.model_copy(update={"id": _fresh_id(room_ids, f"{room.id}~seats~{blocks[b].id}"),
                                                           "capacity": None}))
                updates[b]["room"] = extra_rooms[-1].id
        small = [b for b in reach if blocks[b].min_size > 1] if "group_too_small" in rules else []
        for b in small:
            updates[b]["min_size"] = 1
        size_problem = _with_blocks(base, updates, extra_rooms)
        clashes = _room_clashes(problem, reach) if "room_taken" in rules else []
        own_room: dict[int, dict] = {}
        own_rooms: list[Room] = []
        for b in sorted({b for b, _ in clashes} | {o for _, o in clashes if o in set(reach)}):
            room = problem.room_of(blocks[b])
            own_rooms.append(room.model_copy(update={"id": _fresh_id(room_ids, f"{room.id}~own~{blocks[b].id}")}))
            own_room[b] = {"room": own_rooms[-1].id}
        room_problem = _with_blocks(base, own_room, own_rooms)

        capped = []
        if "clinician_hours" in rules:
            for c, clinician in enumerate(problem.clinicians):
                if clinician.max_weekly_hours is None:
                    continue
                cap = int(round(clinician.max_weekly_hours * 60, 6) // 1)
                if sum(blocks[b].minutes for b in eligibility.blocks_of_clinician[c]) > cap:
                    capped.append((c, cap))
        if rules and not (over or small or clashes or spares or capped):
            return None

        model = cp_model.CpModel()
        variables = create_variables(base, model, eligibility)
        for family in HARD_FAMILIES:
            own = size_problem if family is group_size.add else room_problem if family is rooms.add else base
            family(own, model, variables, eligibility)
        for q in set(self.keep) | {p}:
            model.add(variables.placed[q] == 1)
        self._hint(model, variables, p)

        def members(b: int) -> list:
            return [variables.attend[q, b] for q in eligibility.patients_of_block[b]]

        terms: list[tuple[cp_model.LinearExprT, int]] = []
        witnesses: list[Callable[[cp_model.CpSolver], tuple[str, dict]]] = []
        if over:
            seats = {}
            for b in over:
                cap = problem.capacity_of(blocks[b])
                seats[b] = model.new_int_var(0, len(members(b)) - cap, f"extra_seats[{blocks[b].id}]")
                model.add(cp_model.LinearExpr.sum(members(b)) - seats[b] <= cap)
                terms.append((seats[b], _UNIT_WEIGHT))
            witnesses.append(lambda solver, seats=seats: ("group_full", {"extra_seats": {
                blocks[b].id: solver.value(var) for b, var in seats.items() if solver.value(var) > 0}}))
        if small:
            short = {}
            for b in small:
                short[b] = model.new_int_var(0, blocks[b].min_size - 1, f"short[{blocks[b].id}]")
                model.add(cp_model.LinearExpr.sum(members(b)) + short[b] >= blocks[b].min_size * variables.open[b])
                terms.append((short[b], _UNIT_WEIGHT))
            witnesses.append(lambda solver, short=short: ("group_too_small", {"sizes": {
                blocks[b].id: [sum(solver.value(v) for v in members(b)), blocks[b].min_size]
                for b, var in short.items() if solver.value(var) > 0}}))
        if capped:
            beyond = {}
            for c, cap in capped:
                mine = eligibility.blocks_of_clinician[c]
                total = sum(blocks[b].minutes for b in mine)
                beyond[c] = model.new_int_var(0, total - cap, f"beyond[{problem.clinicians[c].id}]")
                model.add(cp_model.LinearExpr.weighted_sum([variables.staff[c, b] for b in mine],
                                                           [blocks[b].minutes for b in mine]) - beyond[c] <= cap)
                terms.append((beyond[c], 1))
            witnesses.append(lambda solver, beyond=beyond: ("clinician_hours", {"clinicians": {
                problem.clinicians[c].id: solver.value(var) / 60 for c, var in beyond.items() if solver.value(var) > 0}}))
        if spares:
            for b, crew in spares.items():
                terms.extend((variables.staff[c, b], _UNIT_WEIGHT) for c in crew)
            witnesses.append(lambda solver: ("no_clinician", {"extra_clinicians": {
                blocks[b].id: n for b, crew in spares.items()
                if (n := sum(solver.value(variables.staff[c, b]) for c in crew)) > 0}}))
        if clashes:
            both = {}
            for b, o in clashes:
                both[b, o] = model.new_bool_var(f"clash[{blocks[b].id},{blocks[o].id}]")
                model.add(variables.open[b] + variables.open[o] - 1 <= both[b, o])
                terms.append((both[b, o], _UNIT_WEIGHT))

            def room_witness(solver: cp_model.CpSolver, both=both) -> tuple[str, dict]:
                taken_by: dict[str, list[str]] = defaultdict(list)
                for (b, o), var in both.items():
                    if solver.value(var):
                        taken_by[blocks[b].id].append(blocks[o].id)
                return "room_taken", {"taken_by": dict(taken_by),
                                      "rooms": {bid: problem.room_of(blocks[b]).id for b in reach
                                                if (bid := blocks[b].id) in taken_by}}
            witnesses.append(room_witness)
        if terms:
            model.minimize(cp_model.LinearExpr.weighted_sum([t for t, _ in terms], [w for _, w in terms]))
        return _Question(model, variables, witnesses)

    def _hint(self, model: cp_model.CpModel, variables: Variables, p: int) -> None:
        """The given schedule (without the patient asked about) as the solver's starting point."""
        keep = set(self.keep)
        for (q, b), var in variables.attend.items():
            if q != p:
                model.add_hint(var, int((q, b) in self.hint_attend))
        for (c, b), var in variables.staff.items():
            model.add_hint(var, int((c, b) in self.hint_staff))
        for b, var in enumerate(variables.open):
            model.add_hint(var, int(b in self.hint_open))
        for q, var in enumerate(variables.placed):
            if q != p:
                model.add_hint(var, int(q in keep))

    # ---- sentences -------------------------------------------------------------------------

    def _block_text(self, block_id: str) -> str:
        block = next(block for block in self.problem.blocks if block.id == block_id)
        return f"{block.id} ({describe_interval(block.interval)})"

    def _part_text(self, rule: str, details: dict) -> str:
        """What the witness relaxed, e.g. "one more seat in only (Mon 18:00-21:00)"."""
        if rule == "group_full":
            items = [f"{_count(n, 'more seat', 'more seats')} in {self._block_text(b)}"
                     for b, n in details["extra_seats"].items()]
        elif rule == "group_too_small":
            items = [f"{self._block_text(b)} allowed to meet with {size} patient{'s' if size != 1 else ''} "
                     f"(minimum {minimum})" for b, (size, minimum) in details["sizes"].items()]
        elif rule == "clinician_hours":
            caps = {clinician.id: clinician.max_weekly_hours for clinician in self.problem.clinicians}
            items = [f"{c} working {hours:g} h beyond their {caps[c]:g} h a week" for c, hours in details["clinicians"].items()]
        elif rule == "no_clinician":
            items = [f"{_count(n, 'more clinician', 'more clinicians')} able to lead {self._block_text(b)}"
                     for b, n in details["extra_clinicians"].items()]
        else:
            items = [f"{self._block_text(b)} in a room other than {details['rooms'][b]}, which {', '.join(others)} "
                     f"{'takes' if len(others) == 1 else 'take'} then" for b, others in details["taken_by"].items()]
        return " and ".join(items)

    def _binding(self, explanation: Explanation, rule: str, answer: _Answer) -> None:
        details = answer.parts.get(rule, {})
        blocks = [] if rule == "clinician_hours" else list(next(iter(details.values()), {}))
        explanation.add(f"{_HEADLINES[rule]}: with {self._part_text(rule, details)},{_LETS_IN}",
                        "binds", rule=rule, blocks=blocks, week=answer.week, least=answer.least, **details)

    def _budget_used(self, explanation: Explanation, rules: list[str]) -> None:
        seconds = self.check_seconds if self.budget_seconds is None else self.budget_seconds
        explanation.add(f"What binds was not checked{' further' if len(rules) < len(RULES) else ''}: the "
                        f"{seconds:g} s given to these checks were used up.",
                        "not_checked", reason="budget", rules=rules)

    # ---- one patient -----------------------------------------------------------------------

    def analyse(self, p: int, explanation: Explanation) -> None:
        """Add what binds for patient p (placeable alone, not placed), proven or said to be undetermined."""
        strict = _Answer("infeasible") if self.proven_most else self.ask(p, ())
        if strict.status == "not_asked":
            self._budget_used(explanation, list(RULES))
            return
        if strict.status == "feasible":
            week = ", ".join(self._block_text(b) for b in strict.week)
            explanation.add(f"Yet a week exists that places them without unplacing anyone placed here: {week}; "
                            "this schedule did not find it (the number placed in it is not proven the most possible).",
                            "not_found_in_time", week=strict.week)
            return
        if strict.status == "unknown":
            explanation.add(f"Whether they could be placed without unplacing anyone placed here was not determined "
                            f"within {strict.seconds:g} s.", "undetermined", rule=None, seconds=strict.seconds)
            return
        answers: dict[str, _Answer] = {}
        for rule in RULES:
            if rule == "no_clinician" and answers["clinician_hours"].status == "feasible":
                continue  # clinicians of their own would only make up for the hours: the hours are what binds
            answers[rule] = self.ask(p, (rule,))
        binding = [rule for rule, answer in answers.items() if answer.status == "feasible"]
        for rule in binding:
            self._binding(explanation, rule, answers[rule])
        unknown = [rule for rule, answer in answers.items() if answer.status == "unknown"]
        if unknown:
            seconds = max(answers[rule].seconds for rule in unknown)
            explanation.add(f"Whether {' or '.join(_LABELS[rule] for rule in unknown)} kept them out was not "
                            f"determined within {seconds:g} s.",
                            "undetermined", rules=unknown, seconds=seconds)
        skipped = [rule for rule, answer in answers.items() if answer.status == "not_asked"]
        if skipped:
            self._budget_used(explanation, skipped)
        if binding or unknown or skipped:
            return
        joint = self.ask(p, RULES)
        alone = "No single rule is to blame: relaxing any one rule alone for the groups they can reach is not enough"
        if joint.status == "feasible":
            parts = {rule: details for rule, details in joint.parts.items() if next(iter(details.values()), None)}
            together = " and ".join(self._part_text(rule, details) for rule, details in parts.items())
            explanation.add(f"{alone}, but with {together},{_LETS_IN}", "combination", feasible=True,
                            rules=list(parts), parts=parts, week=joint.week, least=joint.least)
        elif joint.status == "infeasible":
            explanation.add(f"{alone}, and relaxing them all together does not make room either.",
                            "combination", feasible=False, rules=[], parts={})
        elif joint.status == "unknown":
            explanation.add(f"{alone}; whether relaxing several together would was not determined within "
                            f"{joint.seconds:g} s.", "combination", feasible=None, rules=[], parts={},
                            seconds=joint.seconds)
        else:
            explanation.add(f"{alone}; relaxing several together was not checked (the time given to these checks "
                            "was used up).", "combination", feasible=None, rules=[], parts={})
