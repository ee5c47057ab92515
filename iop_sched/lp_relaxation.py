"""The LP of a CP-SAT model, solved outside CP-SAT, and a bound from its duals that any duals make valid.

Why: `iop_sched.week_hull` bounds patients placed with an LP that CP-SAT's own LP cannot hold
(a few hundred thousand columns of weeks' flows: inside CP-SAT its bound stayed behind, see
benchmarks/RESULTS.md, ninth session). The rows are read from the CP-SAT model, so they are the
model's own rules; rules the LP cannot state are left out, which only weakens a relaxation.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections import Counter, defaultdict
from itertools import chain
from dataclasses import dataclass
from typing import Hashable, Iterable, Optional, Sequence

import numpy as np
from ortools.sat import cp_model_pb2
from ortools.sat.python import cp_model


@dataclass
class LinearRelaxation:
    """An LP: columns with bounds, rows `lower <= sum(value * column) <= upper`, a cost to minimise."""

    column_lower: list[float]
    column_upper: list[float]
    cost: dict[int, float]
    rows: list[tuple[list[int], list[float], float, float]]

    def add_column(self, lower: float, upper: float) -> int:
        self.column_lower.append(lower)
        self.column_upper.append(upper)
        return len(self.column_lower) - 1

    def add_flow(self, arcs: Iterable[tuple[Hashable, Hashable, Iterable[int]]], upper: float, source: Hashable,
                 source_row: tuple[list[int], list[float], float, float]) -> dict[int, list[int]]:
        """A flow through a graph of (tail, head, keys) arcs: a column in [0, `upper`] per arc, the row
        `source_row` with the columns leaving `source` added at 1, and flow kept at every other node that
        has arcs leaving it (the nodes without are the ends). Returns each key's columns (the arcs through it).

        Why: a patient's week (`week_hull`) and a clinician's (`clinician_hull`) are both such flows."""
        leaving: dict[Hashable, list[int]] = defaultdict(list)
        entering: dict[Hashable, list[int]] = defaultdict(list)
        through: dict[int, list[int]] = defaultdict(list)
        for tail, head, keys in arcs:
            column = self.add_column(0.0, upper)
            leaving[tail].append(column)
            entering[head].append(column)
            for key in keys:
                through[key].append(column)
        columns, values, lower, upper_side = source_row
        self.rows.append((leaving[source] + columns, [1.0] * len(leaving[source]) + values, lower, upper_side))
        for node, out in leaving.items():
            if node != source:
                self.rows.append((entering[node] + out, [1.0] * len(entering[node]) + [-1.0] * len(out), 0.0, 0.0))
        return through


def _literal(reference: int) -> tuple[int, float, float]:
    """A CP-SAT literal as (column, coefficient, constant): x, or 1 - x for a negated reference."""
    return (reference, 1.0, 0.0) if reference >= 0 else (-reference - 1, -1.0, 1.0)


def _literal_row(literals: Sequence[int], lower: float, upper: float) -> tuple[list[int], list[float], float, float]:
    """`lower <= sum(literals) <= upper` with negated literals moved to the bounds."""
    index, value, constant = [], [], 0.0
    for reference in literals:
        column, coefficient, shift = _literal(reference)
        index.append(column)
        value.append(coefficient)
        constant += shift
    return index, value, lower - constant, upper - constant


def plain_proto(model: cp_model.CpModel) -> cp_model_pb2.CpModelProto:
    """The model as a plain protocol-buffer message, to be read field by field.

    Why: CP-SAT's own `model.proto` is a C++ object behind pybind11, and each field read is a call
    into it: reading network program 0's costs LP (137,503 constraints) took 2.5 s, the plain message
    0.5 s, written and parsed in 0.07 s. OR-Tools gives the bytes only through a file, so a temporary one.
    """
    with tempfile.TemporaryDirectory(prefix="iop_sched_lp_") as directory:
        path = os.path.join(directory, "model.pb")
        if not model.export_to_file(path):
            raise OSError(f"could not write the model for its LP to {path}")
        with open(path, "rb") as written:
            return cp_model_pb2.CpModelProto.FromString(written.read())


def model_relaxation(model: cp_model.CpModel) -> Optional[LinearRelaxation]:
    """The LP of a CP-SAT model's linear rows, clauses, at-most-ones and implications; None if not minimising.

    Rules the LP cannot state (enforced linear rows, other constraint kinds) are left out, which
    only weakens the relaxation.
    """
    proto = plain_proto(model)
    objective = proto.objective
    if (proto.HasField("floating_point_objective") or objective.scaling_factor not in (0.0, 1.0)
            or any(reference < 0 for reference in objective.vars)):
        return None
    lower = [float(v.domain[0]) for v in proto.variables]
    upper = [float(v.domain[len(v.domain) - 1]) for v in proto.variables]
    cost: dict[int, float] = defaultdict(float)
    for var, coefficient in zip(objective.vars, objective.coeffs):
        cost[var] += float(coefficient)
    relaxation = LinearRelaxation(lower, upper, dict(cost), [])
    rows = relaxation.rows
    for constraint in proto.constraints:
        enforcement = list(constraint.enforcement_literal)
        kind = constraint.WhichOneof("constraint")
        if kind == "linear":
            if enforcement:
                continue
            linear = constraint.linear
            domain = list(linear.domain)
            low = -math.inf if domain[0] <= cp_model.INT_MIN else float(domain[0])
            high = math.inf if domain[-1] >= cp_model.INT_MAX else float(domain[-1])
            if any(reference < 0 for reference in linear.vars):
                continue  # a negated reference's meaning depends on the variable's kind: left out
            index, value = list(linear.vars), [float(c) for c in linear.coeffs]
            rows.append((index, value, low, high))
        elif kind == "bool_and":
            # e1 and ... and ek  =>  l   is   l - sum(e) >= 1 - k  (l = 1 when k = 0)
            for reference in constraint.bool_and.literals:
                column, coefficient, shift = _literal(reference)
                index, value, low = [column], [coefficient], 1.0 - len(enforcement) - shift
                for enforcer in enforcement:
                    column, coefficient, shift = _literal(enforcer)
                    index.append(column)
                    value.append(-coefficient)
                    low += shift
                rows.append((index, value, low, math.inf))
        elif enforcement:
            continue
        elif kind == "bool_or":
            rows.append(_literal_row(list(constraint.bool_or.literals), 1.0, math.inf))
        elif kind == "at_most_one":
            rows.append(_literal_row(list(constraint.at_most_one.literals), -math.inf, 1.0))
        elif kind == "exactly_one":
            rows.append(_literal_row(list(constraint.exactly_one.literals), 1.0, 1.0))
    return relaxation


def safe_lower_bound(relaxation: LinearRelaxation, duals: Sequence[float]) -> float:
    """min cost.x over the relaxation is at least this, for any row duals (Lagrangian bound).

    cost.x = y.(Ax) + (cost - A'y).x, each part bounded by the rows' and the columns' bounds, so
    duals that the LP solver's tolerances made slightly wrong only weaken the bound (a dual that is
    not a finite number counts as 0, as does one whose row has no bound on its side). Both sign
    conventions are tried; a margin covers the sums' rounding. In numpy: the Python loop took 1.4 s
    on network program 0's placed LP.
    """
    rows = relaxation.rows
    columns = len(relaxation.column_lower)
    lengths = np.fromiter((len(row[0]) for row in rows), dtype=np.int64, count=len(rows))
    index = np.fromiter(chain.from_iterable(row[0] for row in rows), dtype=np.int64, count=int(lengths.sum()))
    value = np.fromiter(chain.from_iterable(row[1] for row in rows), dtype=float, count=int(lengths.sum()))
    row_lower = np.fromiter((row[2] for row in rows), dtype=float, count=len(rows))
    row_upper = np.fromiter((row[3] for row in rows), dtype=float, count=len(rows))
    cost = np.zeros(columns)
    for column, coefficient in relaxation.cost.items():
        cost[column] += coefficient
    column_lower = np.asarray(relaxation.column_lower, dtype=float)
    column_upper = np.asarray(relaxation.column_upper, dtype=float)
    given = np.asarray(duals, dtype=float)
    given = np.where(np.isfinite(given), given, 0.0)
    best = -math.inf
    for sign in (1.0, -1.0):
        y = sign * given
        usable = ((y > 0) & np.isfinite(row_lower)) | ((y < 0) & np.isfinite(row_upper))
        y = np.where(usable, y, 0.0)
        row_terms = y * np.where(usable, np.where(y > 0, row_lower, row_upper), 0.0)
        reduced = cost - np.bincount(index, weights=value * np.repeat(y, lengths), minlength=columns)
        moving = reduced != 0
        edge = np.where(moving, np.where(reduced > 0, column_lower, column_upper), 0.0)
        if not np.isfinite(edge).all():
            continue  # a cost that no column bound holds: no bound from these duals
        column_terms = reduced * edge
        total = float(row_terms.sum() + column_terms.sum())
        magnitude = float(np.abs(row_terms).sum() + np.abs(column_terms).sum())
        best = max(best, total - 1e-9 * magnitude - 1e-9)
    return best


Orbit = Sequence[Sequence[int]]  # interchangeable copies of the same columns: orbit[i][s] is copy i's column in slot s


def _orbit_is_symmetric(relaxation: LinearRelaxation, orbit: Orbit, entries_by_row: dict[int, dict[tuple[int, int], float]]) -> bool:
    """Whether permuting the orbit's copies maps the LP onto itself (bounds, costs, rows), so its optimum is
    reached by a solution giving every copy the same values: the rows touching every copy give each slot one
    coefficient, and the rows touching one copy are, slot for slot, the same rows for every copy."""
    copies, slots = len(orbit), len(orbit[0])
    for s in range(slots):
        columns = [orbit[i][s] for i in range(copies)]
        if len({relaxation.column_lower[c] for c in columns}) > 1 or len({relaxation.column_upper[c] for c in columns}) > 1:
            return False
        if len({relaxation.cost.get(c, 0.0) for c in columns}) > 1:
            return False
    slot_of = {column: (i, s) for i, copy in enumerate(orbit) for s, column in enumerate(copy)}
    own_rows: list[Counter] = [Counter() for _ in range(copies)]
    for row_index, entries in entries_by_row.items():
        touched = {i for i, _ in entries}
        if len(touched) == copies:
            by_slot: dict[int, list[float]] = defaultdict(list)
            for (_, s), value in entries.items():
                by_slot[s].append(value)
            if any(len(values) != copies or len(set(values)) > 1 for values in by_slot.values()):
                return False
        elif len(touched) == 1:
            (copy,) = touched
            columns, values, low, high = relaxation.rows[row_index]
            form: dict[tuple, float] = defaultdict(float)
            for column, value in zip(columns, values):
                key = ("slot", slot_of[column][1]) if column in slot_of else ("column", column)
                form[key] += value
            own_rows[copy][(tuple(sorted(form.items())), low, high)] += 1
        else:
            return False
    return all(rows == own_rows[0] for rows in own_rows[1:])


def merge_interchangeable(relaxation: LinearRelaxation, orbits: Sequence[Orbit]) -> tuple[LinearRelaxation, list[int]]:
    """The LP restricted to solutions that give the copies of each orbit the same values, with one column per
    slot (the first copy's, standing for the copies' sum) and repeated rows once; and which orbits were merged.

    Why: identical patients (the same groups, hours and topics) make the LP of `iop_sched.week_hull` several
    times larger than it needs to be. An LP that permuting the copies maps onto itself has an optimum with every
    copy alike (the average of an optimum's permutations), so the restricted LP has the same optimum, and any
    bound on it bounds the whole LP. Orbits the LP is not symmetric in (checked here, not assumed) stay as they are.
    """
    entries: list[dict[int, dict[tuple[int, int], float]]] = [defaultdict(dict) for _ in orbits]
    owner: dict[int, tuple[int, int, int]] = {}
    clash: set[int] = set()
    for o, orbit in enumerate(orbits):
        if len(orbit) < 2 or len({len(copy) for copy in orbit}) > 1:
            clash.add(o)
        for i, copy in enumerate(orbit):
            for s, column in enumerate(copy):
                if column in owner:
                    clash.update((o, owner[column][0]))
                owner[column] = (o, i, s)
    for row_index, (columns, values, _, _) in enumerate(relaxation.rows):
        for column, value in zip(columns, values):
            if column in owner:
                o, i, s = owner[column]
                slot = entries[o][row_index]
                slot[i, s] = slot.get((i, s), 0.0) + value
    merged = [o for o, orbit in enumerate(orbits)
              if o not in clash and _orbit_is_symmetric(relaxation, orbit, entries[o])]
    # column -> (the column standing for it, the copies it is shared by)
    stands_for: dict[int, tuple[int, int]] = {}
    for o in merged:
        orbit = orbits[o]
        for copy in orbit:
            for s, column in enumerate(copy):
                stands_for[column] = (orbit[0][s], len(orbit))
    lower, upper = list(relaxation.column_lower), list(relaxation.column_upper)
    cost: dict[int, float] = defaultdict(float)
    for column, value in relaxation.cost.items():
        target, copies = stands_for.get(column, (column, 1))
        cost[target] += value / copies
    for column, (target, copies) in stands_for.items():
        if column == target:
            lower[column], upper[column] = copies * lower[column], copies * upper[column]
        else:
            lower[column] = upper[column] = 0.0  # in no row, at no cost: the first copy's column stands for it
    rows: list[tuple[list[int], list[float], float, float]] = []
    seen: set[tuple] = set()
    for columns, values, low, high in relaxation.rows:
        total: dict[int, float] = defaultdict(float)  # summed before dividing: exact for integer coefficients
        for column, value in zip(columns, values):
            total[stands_for.get(column, (column, 1))[0]] += value
        row = {column: value / stands_for.get(column, (column, 1))[1] for column, value in total.items() if value}
        key = (tuple(sorted(row.items())), low, high)
        if key in seen:
            continue
        seen.add(key)
        rows.append((list(row), list(row.values()), low, high))
    return LinearRelaxation(lower, upper, dict(cost), rows), merged


#: HiGHS's interior-point method without crossover. On these LPs it beats the simplex solvers inside
#: OR-Tools by far where the objective is not the number placed (large program 0, the costs tier's LP:
#: 7.4 s against COIN-OR CLP's 166 s) and is at least as fast on the number placed (5.2 s against 5.8 s;
#: network program 0: 51 s against 113 s). Crossover would only polish a basis: the bound is computed
#: from the duals, whatever their precision (`safe_lower_bound`).
HIGHS_OPTIONS = {"output_flag": False, "solver": "ipm", "run_crossover": "off"}


def _new_highs():
    """A HiGHS instance that prints nothing: the public `highspy.Highs` writes a banner to stdout as it
    is built, before any option can silence it, which would corrupt a schedule written to stdout. Its
    base class, `highspy._core._Highs` (there from highspy 1.7.2, the oldest this project allows), does not."""
    from highspy import _core

    highs = _core._Highs()
    for option, value in HIGHS_OPTIONS.items():
        highs.setOptionValue(option, value)
    return highs


def _highs_model(relaxation: LinearRelaxation):
    """The relaxation as a `highspy.HighsLp` (rows' repeated columns summed, infinities HiGHS's)."""
    import highspy

    infinity = highspy.kHighsInf

    def clipped(values: Sequence[float]) -> np.ndarray:
        return np.clip(np.asarray(values, dtype=float), -infinity, infinity)

    starts, index, value = [0], [], []
    for columns, coefficients, _, _ in relaxation.rows:
        merged: dict[int, float] = defaultdict(float)
        for column, coefficient in zip(columns, coefficients):
            merged[column] += coefficient
        index.extend(merged)
        value.extend(merged.values())
        starts.append(len(index))
    cost = np.zeros(len(relaxation.column_lower))
    for column, coefficient in relaxation.cost.items():
        cost[column] = coefficient
    lp = highspy.HighsLp()
    lp.num_col_ = len(relaxation.column_lower)
    lp.num_row_ = len(relaxation.rows)
    lp.col_cost_ = cost
    lp.col_lower_ = clipped(relaxation.column_lower)
    lp.col_upper_ = clipped(relaxation.column_upper)
    lp.row_lower_ = clipped([row[2] for row in relaxation.rows])
    lp.row_upper_ = clipped([row[3] for row in relaxation.rows])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(value, dtype=float)
    return lp


class RelaxationSolver:
    """An LP solver on a relaxation (HiGHS), cancellable from another thread (the search beside it may
    end first). HiGHS releases the GIL while it solves, stops at its wall-clock time limit, and checks
    for a cancellation at each interior-point iteration.

    `interruptible=False`: HiGHS is not asked to check, and a cancelled solve runs on to its end or its time
    limit (its answer is dropped). Why: the check is a Python callback, which needs the GIL, and HiGHS makes it
    ~16,000 times on a medium program's LP (0.4 s); beside a thread running Python, each call waits for the GIL,
    and the same LP took 44 s (benchmarks/RESULTS.md, nineteenth session). Beside CP-SAT's search, which holds no
    GIL, the check costs nothing."""

    def __init__(self, interruptible: bool = True) -> None:
        self._cancelled = threading.Event()
        self._interruptible = interruptible

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def solve(self, relaxation: LinearRelaxation, seconds: float) -> Optional[float]:
        """The safe bound from the LP's duals within `seconds` (from whatever duals HiGHS has when its time
        runs out: valid, if weak); None when cancelled or without duals."""
        answer = self._run(relaxation, seconds, vertex=False)
        return None if answer is None else answer[0]

    def solve_vertex(self, relaxation: LinearRelaxation, seconds: float) -> Optional[tuple[float, np.ndarray]]:
        """The safe bound and an optimal vertex's column values (crossover after the interior point: a vertex
        has few columns above 0, which is what `week_hull.placed_relaxation` needs); None when cancelled,
        without duals, or without a vertex in time."""
        answer = self._run(relaxation, seconds, vertex=True)
        if answer is None or answer[1] is None:
            return None
        return answer[0], answer[1]

    def _run(self, relaxation: LinearRelaxation, seconds: float,
             vertex: bool) -> Optional[tuple[float, Optional[np.ndarray]]]:
        """The safe bound and (`vertex`: only from an optimal basis) the column values."""
        import highspy

        if self.cancelled or seconds <= 0:
            return None
        highs = _new_highs()
        highs.setOptionValue("time_limit", float(seconds))
        if vertex:
            highs.setOptionValue("run_crossover", "on")
        highs.passModel(_highs_model(relaxation))

        def on_iteration(kind, message, data_out, data_in, user_data) -> None:  # noqa: ANN001 - HiGHS's
            if data_in is not None and self._cancelled.is_set():
                data_in.user_interrupt = True

        if self._interruptible:
            highs.setCallback(on_iteration, None)
            highs.startCallback(highspy.cb.HighsCallbackType.kCallbackIpmInterrupt)
            highs.startCallback(highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt)
        highs.run()
        if self.cancelled:
            return None
        solution = highs.getSolution()
        duals = solution.row_dual
        if len(duals) != len(relaxation.rows):
            return None  # stopped before it had duals (time limit, interrupted)
        bound = safe_lower_bound(relaxation, list(duals))
        if not math.isfinite(bound):
            return None
        values = None
        if vertex and highs.getModelStatus() == highspy.HighsModelStatus.kOptimal and highs.getBasis().valid:
            values = np.asarray(solution.col_value, dtype=float)
        return bound, values
