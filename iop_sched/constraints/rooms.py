"""Rooms: two open blocks in the same physical room never overlap (virtual rooms never double-book)."""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from ..schema import Problem
from ..weektime import overlap_cliques
from .availability import Eligibility
from .base import ObjectiveTerm, Variables


def double_booking_cliques(problem: Problem) -> list[list[int]]:
    """Groups of blocks in one physical room that overlap in time: at most one of each may open."""
    blocks_in_room: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for b, block in enumerate(problem.blocks):
        room = problem.room_of(block)
        if room is not None and not room.virtual:
            blocks_in_room[room.id][b] = block.interval
    return [clique for room_id in sorted(blocks_in_room) for clique in overlap_cliques(blocks_in_room[room_id])]


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    for clique in double_booking_cliques(problem):
        model.add_at_most_one([variables.open[b] for b in clique])
    return []
