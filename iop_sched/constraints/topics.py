"""Required topics: every placed patient attends each required topic often enough each week."""

from __future__ import annotations

from ortools.sat.python import cp_model

from ..schema import Problem
from .availability import Eligibility
from .base import ObjectiveTerm, Variables


def add(problem: Problem, model: cp_model.CpModel, variables: Variables, eligibility: Eligibility) -> list[ObjectiveTerm]:
    for p, patient in enumerate(problem.patients):
        for topic, count in problem.required_topics_for(patient).items():
            on_topic = [variables.attend[p, b] for b in eligibility.blocks_of_patient[p] if problem.blocks[b].topic == topic]
            if len(on_topic) < count:
                model.add(variables.placed[p] == 0)
            else:
                model.add(cp_model.LinearExpr.sum(on_topic) >= count * variables.placed[p])
    return []
