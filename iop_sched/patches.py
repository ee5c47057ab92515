"""A suggested change as an RFC 6902 JSON Patch against the problem document, and applying one."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Suggestion:
    """One change, its patch, and what it was verified to do."""

    kind: str
    text: str
    patch: list[dict]
    placed_gain: int = 0
    newly_placed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "patch": self.patch, "placed_gain": self.placed_gain,
                "changes": len(self.patch), "newly_placed": self.newly_placed}


def apply_patch(document: dict, patch: list[dict]) -> dict:
    """Apply the `add` and `replace` operations of an RFC 6902 patch to a copy of `document`."""
    result = copy.deepcopy(document)
    for operation in patch:
        parts = [part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]]
        target = result
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if operation["op"] not in ("add", "replace"):
            raise ValueError(f"unsupported patch operation {operation['op']!r}")
        if isinstance(target, list):
            if last == "-":
                target.append(operation["value"])
            elif operation["op"] == "add":
                target.insert(int(last), operation["value"])
            else:
                target[int(last)] = operation["value"]
        else:
            if operation["op"] == "replace" and last not in target:
                raise ValueError(f"replace of a missing member {operation['path']!r}")
            target[last] = operation["value"]
    return result
