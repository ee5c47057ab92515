"""Read a problem document and report every fault with its place.

Pydantic checks each value; this module adds the rules that span the document
(unique ids, references between lists, dates inside the program) and turns
everything into lines like ``patients[3].busy[0].end: ...`` that a clinic
system's developer can act on.
"""

from __future__ import annotations

import json
import re
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Union

from pydantic import ValidationError

from .schema import Problem

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ProblemError(ValueError):
    """An invalid document: `faults` holds one "place: message" line per fault."""

    def __init__(self, faults: list[str]):
        self.faults = faults
        super().__init__("invalid problem document:\n" + "\n".join(faults))


def format_place(location: Iterable[Union[str, int]]) -> str:
    """('patients', 3, 'busy', 0, 'end') -> 'patients[3].busy[0].end'."""
    place = ""
    for part in location:
        if isinstance(part, int):
            place += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            place += ("." if place else "") + str(part)
        else:  # a key nobody could read after a dot (empty, spaces, punctuation)
            place += f"[{json.dumps(str(part), ensure_ascii=not _is_text(str(part)))}]"
    return place or "(document)"


def _pydantic_faults(error: ValidationError) -> list[str]:
    faults = []
    for item in error.errors(include_url=False):
        location = [part for part in item["loc"] if not _is_internal_loc(part)]
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (not part of iop-sched/1; check the spelling)"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        elif item["type"] == "literal_error" and location and location[-1] == "format":
            message = f"must be \"iop-sched/1\", not {item.get('input')!r}"
        faults.append(f"{format_place(location)}: {message}")
    return faults


def _is_internal_loc(part: Union[str, int]) -> bool:
    """Pydantic adds validator names like 'function-after[...]' to locations; a user never wrote them."""
    return isinstance(part, str) and ("[" in part or part in {"function-before", "function-after"})


def _raw_list(data: dict, name: str) -> list[dict]:
    items = data.get(name)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _raw_ids(data: dict, name: str) -> set[str]:
    return {item["id"] for item in _raw_list(data, name) if isinstance(item.get("id"), str)}


def reference_faults(data: dict) -> list[str]:
    """Unique ids and references, read from the raw data so they are reported beside type faults."""
    faults: list[str] = []
    for name in ("rooms", "blocks", "clinicians", "patients"):
        items = data.get(name)
        if not isinstance(items, list):
            continue
        seen: set[str] = set()
        for index, item in enumerate(items):
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str):
                continue
            if item_id in seen:
                faults.append(f"{name}[{index}].id: {item_id!r} is used by another entry of {name}; ids must be unique")
            seen.add(item_id)
    references = (("blocks", "room", "rooms", "room"), ("patients", "primary_clinician", "clinicians", "clinician"),
                  ("patients", "pinned_blocks", "blocks", "block"), ("blocks", "pinned_clinicians", "clinicians", "clinician"))
    for list_name, key, target, noun in references:
        known = _raw_ids(data, target)
        items = data.get(list_name)
        for index, item in enumerate(items if isinstance(items, list) else []):
            value = item.get(key) if isinstance(item, dict) else None
            if isinstance(value, str) and value not in known:
                faults.append(f"{list_name}[{index}].{key}: no {noun} has id {value!r}")
            if isinstance(value, list):
                for position, entry in enumerate(value):
                    if isinstance(entry, str) and entry not in known:
                        faults.append(f"{list_name}[{index}].{key}[{position}]: no {noun} has id {entry!r}")
    return faults


def cross_reference_faults(problem: Problem) -> list[str]:
    """Rules that need more than one part of the document (after every value is valid)."""
    faults: list[str] = []
    # Closures outside the program's weeks are accepted and simply never met: clinics send
    # a year's holiday list (the acceptance program closes on a date after its last week).

    rooms = {room.id: room for room in problem.rooms}
    for index, block in enumerate(problem.blocks):
        room = rooms.get(block.room) if block.room is not None else None
        if room is not None and room.virtual and block.modality == "in_person":
            faults.append(f"blocks[{index}].modality: an in-person block cannot meet in virtual room {room.id!r}")

    for list_name, items in (("patients", problem.patients), ("clinicians", problem.clinicians)):
        files = {f"{item.id}.ics" for item in items}
        for index, item in enumerate(items):
            parts = item.id.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder in files:
                    faults.append(f"{list_name}[{index}].id: {item.id!r} needs a folder {folder!r} where the calendar "
                                  f"file of id {folder[:-len('.ics')]!r} goes")

    # Not refused, because the format does not make them errors (each is a valid document):
    # - an admission after the program's last date, or a discharge before its start: the patient
    #   is scheduled like any other (admission dates bound the calendar, not the week) and their
    #   calendar has no session;
    # - program rules whose minimum hours are above the maximum: each patient they reach is not
    #   placed, with the reason `hours_conflict`, as for a patient's own conflicting hours.
    return faults


def problem_from_data(data: Any) -> Problem:
    """Validate already-parsed JSON data; raises ProblemError listing every fault."""
    if not isinstance(data, dict):
        raise ProblemError([f"(document): must be a JSON object, not {type(data).__name__}"])
    faults = _text_faults(data)  # data built in code meets the same text rules as a parsed file
    if faults:
        raise ProblemError(faults)
    faults = reference_faults(data)
    try:
        problem = Problem.model_validate(data)
    except ValidationError as error:
        raise ProblemError(_pydantic_faults(error) + faults) from None
    faults += cross_reference_faults(problem)
    if faults:
        raise ProblemError(faults)
    return problem


class _JsonObject(dict):
    """A JSON object that remembers the keys given more than once (json keeps the last one silently)."""

    repeated: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> _JsonObject:
    result = _JsonObject(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        result.repeated = tuple(dict.fromkeys(key for position, key in enumerate(keys) if key in keys[:position]))
    return result


def _is_text(value: str) -> bool:
    """False for strings holding lone surrogates (JSON escapes like \\udc80): no UTF-8 file can carry them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_faults(data: Any) -> list[str]:
    """Keys given twice in one object, and strings that are not Unicode text, each with its place."""
    faults: list[str] = []
    pending: deque[tuple[tuple, Any]] = deque([((), data)])  # breadth first, in document order, linear time
    while pending:
        place, value = pending.popleft()
        if isinstance(value, dict):
            for key in getattr(value, "repeated", ()):
                faults.append(f"{format_place(place + (key,))}: given more than once in one object; give each key once")
            for key, item in value.items():
                if isinstance(key, str) and not _is_text(key):  # other keys (data built in code): pydantic says
                    faults.append(f"{format_place(place)}: a key is not Unicode text (a lone surrogate such as \\udc80)")
                    continue
                pending.append((place + (key,), item))
        elif isinstance(value, list):
            pending.extend((place + (index,), item) for index, item in enumerate(value))
        elif isinstance(value, str) and not _is_text(value):
            faults.append(f"{format_place(place)}: not Unicode text (a lone surrogate such as \\udc80)")
    return faults


def parse_json(text: Union[str, bytes], where: str = "(document)") -> Any:
    """JSON text to data, every way it can fail turned into a fault naming `where`.

    Besides syntax: text that is not UTF-8, nesting too deep to read, integers too long to
    convert, keys given twice in one object and strings that are not Unicode text are refused,
    so no later step (validation, the solver, writing calendars) meets them.
    """
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ProblemError([f"{where}: {len(text)} bytes is larger than the {MAX_DOCUMENT_BYTES} bytes accepted"])
    try:
        data = json.loads(text, object_pairs_hook=_json_object)
    except json.JSONDecodeError as error:
        raise ProblemError([f"{where}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"]) from None
    except UnicodeDecodeError as error:
        raise ProblemError([f"{where}: not UTF-8 text ({error.reason})"]) from None
    except RecursionError:
        raise ProblemError([f"{where}: nested too deeply to read (lists or objects inside each other)"]) from None
    except ValueError as error:  # an integer of more than 4300 digits is the one known case
        reason = "a number has far more digits than any value needs" if "digits" in str(error) else str(error)
        raise ProblemError([f"{where}: cannot be read: {reason}"]) from None
    faults = _text_faults(data)
    if faults:
        raise ProblemError([fault if where == "(document)" else f"{where}: {fault}" for fault in faults])
    return data


def problem_from_json(text: Union[str, bytes]) -> Problem:
    """Parse and validate a JSON problem document."""
    return problem_from_data(parse_json(text))


def read_document(path: Union[str, Path]) -> bytes:
    """A document's bytes, read once (a pipe such as /dev/stdin cannot be read twice)."""
    path = Path(path)
    try:
        size = path.stat().st_size if path.is_file() else 0  # a pipe has no size: the read below stops it
        if size > MAX_DOCUMENT_BYTES:
            raise ProblemError([f"{path}: {size} bytes is larger than the {MAX_DOCUMENT_BYTES} bytes accepted"])
        with open(path, "rb") as handle:
            text = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise ProblemError([f"{path}: cannot read ({error.strerror or error})"]) from None
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ProblemError([f"{path}: larger than the {MAX_DOCUMENT_BYTES} bytes accepted"])
    return text


def load_problem(path: Union[str, Path]) -> Problem:
    """Read a problem document from a file."""
    return problem_from_json(read_document(path))
