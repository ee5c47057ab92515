"""What every constraint family shares: the variables it reads and the objective terms it returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

TIER_PINS = -1     # only with pins: pinned assignments held
TIER_KEEP = 0      # re-planning only: patients placed before, placed again
TIER_PLACED = 1
TIER_WISHES = 2
TIER_COSTS = 3
TIER_CHANGES = 4   # re-planning only: fewest changed assignments (solved right after TIER_PLACED)
TIERS = (TIER_PLACED, TIER_WISHES, TIER_COSTS)
#: Where a schedule reports tier 1's bound when a tier before it held it to a condition (`placed_bound`
#: is then the number of patients).
CONDITIONAL_BOUND_KEYS = {TIER_PINS: "placed_bound_holding_pins", TIER_KEEP: "placed_bound_keeping_previous"}
REPLANNING_TIERS = (TIER_KEEP, TIER_PLACED, TIER_CHANGES, TIER_WISHES, TIER_COSTS)
#: Tiers whose quantity is maximised (their terms are written as minus the count).
MAXIMISED_TIERS = frozenset({TIER_PINS, TIER_KEEP, TIER_PLACED})
TIER_NAMES = {
    TIER_PINS: "pins held",
    TIER_KEEP: "previously placed patients kept",
    TIER_PLACED: "patients placed",
    TIER_CHANGES: "changed assignments",
    TIER_WISHES: "patients' wishes and continuity",
    TIER_COSTS: "open groups, clinician hours and fairness",
}


@dataclass
class ObjectiveTerm:
    """`weight * expression` to minimise inside one tier; `name` says what it measures."""

    tier: int
    name: str
    expression: cp_model.LinearExprT
    weight: int = 1


@dataclass
class Variables:
    """Decision variables, keyed by positions in the problem's lists."""

    attend: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)   # (patient, block)
    placed: list[cp_model.IntVar] = field(default_factory=list)                    # by patient
    open: list[cp_model.IntVar] = field(default_factory=list)                      # by block
    staff: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)    # (clinician, block)
    #: (patient, day): the patient attends a group that day; made by patient_week when the rules ask for days
    day_used: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
