"""The LP of a CP-SAT model, solved outside CP-SAT, and a bound from its duals that any duals make valid.

Why: `iop_sched.week_hull` bounds patients placed with an LP that CP-SAT's own LP cannot hold
(a few hundred thousand columns of weeks' flows: inside CP-SAT its bound stayed behind, see
benchmarks/RESULTS.md, ninth session). The rows are read from the CP-SAT model, so they are the
model's own rules; rules the LP cannot state are left out, which only weakens a relaxation.
"""

from __future__ import annotations

import math
import os
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Optional, Sequence

from ortools.linear_solver import pywraplp
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


def model_relaxation(model: cp_model.CpModel) -> Optional[LinearRelaxation]:
    """The LP of a CP-SAT model's linear rows, clauses, at-most-ones and implications; None if not minimising.

    Rules the LP cannot state (enforced linear rows, other constraint kinds) are left out, which
    only weakens the relaxation.
    """
    proto = model.proto
    objective = proto.objective
    if (proto.has_floating_point_objective() or objective.scaling_factor not in (0.0, 1.0)
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
        if constraint.has_linear():
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
        elif constraint.has_bool_and():
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
        elif constraint.has_bool_or():
            rows.append(_literal_row(list(constraint.bool_or.literals), 1.0, math.inf))
        elif constraint.has_at_most_one():
            rows.append(_literal_row(list(constraint.at_most_one.literals), -math.inf, 1.0))
        elif constraint.has_exactly_one():
            rows.append(_literal_row(list(constraint.exactly_one.literals), 1.0, 1.0))
    return relaxation


def safe_lower_bound(relaxation: LinearRelaxation, duals: Sequence[float]) -> float:
    """min cost.x over the relaxation is at least this, for any row duals (Lagrangian bound).

    cost.x = y.(Ax) + (cost - A'y).x, each part bounded by the rows' and the columns' bounds, so
    duals that the LP solver's tolerances made slightly wrong only weaken the bound (a dual that is
    not a finite number counts as 0). Both sign conventions
    are tried; a margin covers the sum's rounding.
    """
    best = -math.inf
    for sign in (1.0, -1.0):
        reduced = [0.0] * len(relaxation.column_lower)
        for column, value in relaxation.cost.items():
            reduced[column] = value
        total = 0.0
        magnitude = 0.0
        for (index, value, low, high), dual in zip(relaxation.rows, duals):
            y = sign * dual if math.isfinite(dual) else 0.0
            if (y > 0 and not math.isfinite(low)) or (y < 0 and not math.isfinite(high)) or y == 0:
                continue
            term = y * (low if y > 0 else high)
            total += term
            magnitude += abs(term)
            for column, coefficient in zip(index, value):
                reduced[column] -= y * coefficient
        for column, r in enumerate(reduced):
            if r == 0:
                continue
            edge = relaxation.column_lower[column] if r > 0 else relaxation.column_upper[column]
            if not math.isfinite(edge):
                total = -math.inf
                break
            total += r * edge
            magnitude += abs(r * edge)
        best = max(best, total - 1e-9 * magnitude - 1e-9)
    return best


#: The LP solvers tried in order, both inside the OR-Tools wheel. COIN-OR CLP (its default dual
#: simplex) solves these LPs far faster than GLOP: large program 0, 5.8 s against 53 s (GLOP's
#: primal; its dual simplex had not finished after 7 minutes); medium ones 0.9 s against 0.6-1.6 s.
LP_SOLVERS = ("CLP", "GLOP")


def _usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class RelaxationSolver:
    """An LP solver on a relaxation, cancellable from another thread (the search beside it may end first).

    CLP cannot be interrupted once it has started: it stops at its time limit, and a cancelled
    solve's answer is dropped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._solver: Optional[pywraplp.Solver] = None
        self._cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._solver is not None:
                self._solver.InterruptSolve()  # GLOP stops; CLP runs on to its time limit

    @property
    def cancelled(self) -> bool:
        with self._lock:
            return self._cancelled

    def solve(self, relaxation: LinearRelaxation, seconds: float) -> Optional[float]:
        """The safe bound from the LP's duals within `seconds`; None without one (or when cancelled)."""
        solver = next((s for s in map(pywraplp.Solver.CreateSolver, LP_SOLVERS) if s is not None), None)
        if solver is None:
            return None
        infinity = solver.infinity()

        def finite(x: float) -> float:
            return x if math.isfinite(x) else (infinity if x > 0 else -infinity)

        columns = [solver.NumVar(finite(low), finite(high), "")
                   for low, high in zip(relaxation.column_lower, relaxation.column_upper)]
        constraints = []
        for index, value, low, high in relaxation.rows:
            row = solver.RowConstraint(finite(low), finite(high), "")
            for column, coefficient in zip(index, value):
                row.SetCoefficient(columns[column], row.GetCoefficient(columns[column]) + coefficient)
            constraints.append(row)
        objective = solver.Objective()
        for column, value in relaxation.cost.items():
            objective.SetCoefficient(columns[column], value)
        objective.SetMinimization()
        if solver.SolverVersion().startswith("Clp"):
            # CLP's limit counts the whole process's CPU time: with the search's workers busy beside it
            # on every core it may use, that clock runs that many times as fast as the wall's
            seconds *= _usable_cores()
        solver.SetTimeLimit(max(1, int(seconds * 1000)))
        with self._lock:
            if self._cancelled:
                return None
            self._solver = solver
        status = solver.Solve()
        with self._lock:
            self._solver = None
            if self._cancelled or status != pywraplp.Solver.OPTIMAL:
                return None
        bound = safe_lower_bound(relaxation, [row.dual_value() for row in constraints])
        return bound if math.isfinite(bound) else None
