"""Independent parts: sites that share no patient, clinician or room time are solved apart.

Two blocks belong to one part when one patient could attend both, one clinician
could staff both, or they overlap in the same physical room. Nothing else links
blocks before the costs tier: the number placed and the wishes tier are sums over
patients, so the optimum of each part adds up to the program's optimum, and each
part's proof is far quicker than the proof of the whole (two medium programs side
by side, benchmarks/parts.py: see benchmarks/RESULTS.md). The costs tier weighs
the busiest clinician of the whole program, so it is solved on the whole model,
with the parts' results fixed as totals.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constraints.availability import Eligibility
from .constraints.rooms import double_booking_cliques
from .schema import Problem


@dataclass(frozen=True)
class Part:
    """Positions, in the whole problem's lists, of one part's patients and blocks."""

    patients: tuple[int, ...]
    blocks: tuple[int, ...]


class _Joined:
    """Union-find over block positions."""

    def __init__(self, size: int):
        self._parent = list(range(size))

    def root(self, item: int) -> int:
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]
            item = self._parent[item]
        return item

    def join(self, items: list[int]) -> None:
        for other in items[1:]:
            first, second = self.root(items[0]), self.root(other)
            if first != second:
                self._parent[max(first, second)] = min(first, second)


def independent_parts(problem: Problem, eligibility: Eligibility) -> list[Part]:
    """The parts that hold at least one patient with a reachable block, in order of their first block.

    Patients who can reach no block belong to no part (nobody can place them),
    nor do blocks no patient of the part's can reach unless a clinician or a room joins them.
    """
    joined = _Joined(len(problem.blocks))
    for blocks in eligibility.blocks_of_patient:
        joined.join(list(blocks))
    for blocks in eligibility.blocks_of_clinician:
        joined.join(list(blocks))
    for clique in double_booking_cliques(problem):
        joined.join(clique)
    blocks_of_root: dict[int, list[int]] = {}
    for b in range(len(problem.blocks)):
        blocks_of_root.setdefault(joined.root(b), []).append(b)
    patients_of_root: dict[int, list[int]] = {}
    for p, blocks in enumerate(eligibility.blocks_of_patient):
        if blocks:
            patients_of_root.setdefault(joined.root(blocks[0]), []).append(p)
    return [Part(tuple(patients_of_root[root]), tuple(blocks_of_root[root]))
            for root in sorted(patients_of_root)]


def part_problem(problem: Problem, part: Part) -> Problem:
    """The problem of one part: its patients and blocks, every room and clinician (ids stay resolvable).

    Clinicians of other parts can staff none of this part's blocks, so they get no variable.
    """
    return problem.model_copy(update={
        "patients": [problem.patients[p] for p in part.patients],
        "blocks": [problem.blocks[b] for b in part.blocks],
    })
