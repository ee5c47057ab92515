"""Group size: an open block holds between min_size and its capacity (max_size, room capacity)."""

from __future__ import annotations

from ortools.sat.python import cp_model

from ..schema import Problem
from .availability import Eligibility
from .base import ObjectiveTerm, Variables


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    for b, block in enumerate(problem.blocks):
        is_open = variables.open[b]
        members = [variables.attend[p, b] for p in eligibility.patients_of_block[b]]
        capacity = problem.capacity_of(block)
        if len(members) < block.min_size or capacity < block.min_size:
            model.add(is_open == 0)
            for var in members:
                model.add(var == 0)
            continue
        size = cp_model.LinearExpr.sum(members)
        model.add(size >= block.min_size * is_open)
        model.add(size <= capacity * is_open)
    return []
