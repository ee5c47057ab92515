"""hypothesis fuzzes the loader: any input gives a Problem or a clear ProblemError, never a crash."""

from __future__ import annotations

import copy
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iop_sched import ProblemError, problem_from_data, problem_from_json
from programs import acceptance_path

BASE = json.loads(acceptance_path().read_text()) if acceptance_path().exists() else None
FAULT_LINE = re.compile(r"^\S.*?: .+")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["mon", "18:00", "25:00", "24:00", "2027-03-01", "adult", "", "oak"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def paths(document, prefix=()):
    """Every (path) to a value inside the document."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from paths(value, prefix + (index,))


ALL_PATHS = [p for p in paths(BASE) if p] if BASE else []


def set_at(document, path, value):
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def assert_clear(call):
    try:
        call()
    except ProblemError as error:
        assert error.faults, "a ProblemError lists its faults"
        for line in error.faults:
            assert FAULT_LINE.match(line), line


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(ALL_PATHS), json_values)
def test_replacing_any_value_gives_a_problem_or_a_clear_error(path, value):
    document = copy.deepcopy(BASE)
    set_at(document, path, value)
    assert_clear(lambda: problem_from_data(document))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(ALL_PATHS))
def test_removing_any_key_gives_a_problem_or_a_clear_error(path):
    document = copy.deepcopy(BASE)
    target = document
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    assert_clear(lambda: problem_from_data(document))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(json_values)
def test_any_json_value_as_a_document(value):
    assert_clear(lambda: problem_from_data(value))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200))
def test_any_bytes_as_a_file(data):
    assert_clear(lambda: problem_from_json(data))
