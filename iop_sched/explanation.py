"""An unplaced patient's explanation: sentences for people and `why` entries for machines, side by side."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Explanation:
    """The reasons of one unplaced patient; each sentence has its machine-readable entry at the same place."""

    sentences: list[str] = field(default_factory=list)
    why: list[dict] = field(default_factory=list)

    def add(self, sentence: str, code: str, **details) -> None:
        self.sentences.append(sentence)
        self.why.append({"code": code, **details})
