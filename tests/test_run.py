"""The benchmark runner: one run of each kind, its files and table, and the medians (no timing asserted)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import run  # noqa: E402

TIME_LIMIT = 5.0


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[list[dict], list[dict], Path]:
    """fcfs through the child process (as the runner does it), iop_sched in this process; small, seed 0."""
    logs = tmp_path_factory.mktemp("logs")
    records, traces = [], []
    fcfs = run.run_child("small", "fcfs", 0, TIME_LIMIT, log_dir=logs)
    iop = run.run_single("small", "iop_sched", 0, TIME_LIMIT)
    for record, trace in (fcfs, iop):
        records.append(record)
        traces.append({"method": record["method"], "seed": record["seed"], "kind": record.get("trace_kind", "final"),
                       "points": trace})
    return records, traces, logs


def test_runs_finish_and_pass_the_validator(two_runs):
    records, traces, logs = two_runs
    fcfs, iop = records
    assert fcfs["status"] not in ("crashed", "timeout"), fcfs.get("error")
    assert (logs / "small-fcfs-seed0.log").exists()
    for record in records:
        assert record["violations"] == 0, record["violation_examples"]
        assert 0 < record["placed"] <= record["patients"]
        assert record["peak_mb"] > 0
    assert fcfs["placed_bound"] is None and fcfs["gap"] is None and fcfs["t_proof"] is None
    assert fcfs["trace_kind"] == "final" and len(traces[0]["points"]) == 1
    # iop_sched proves its bound and never places fewer than the coordinator by hand
    assert iop["placed"] <= iop["placed_bound"] <= iop["patients"]
    assert iop["placed"] >= fcfs["placed"]
    assert iop["trace_kind"] == "progress" and len(traces[1]["points"]) >= 2
    assert iop["t_first"] is not None and iop["t_99"] is not None
    assert iop["tier2_value"] is not None and iop["tier3_value"] is not None


def test_report_writes_every_file_and_names_every_method(two_runs, tmp_path):
    records, traces, _ = two_runs
    meta = {"date": "2027-01-04T09:00:00+00:00", "command": "python benchmarks/run.py --size small", "cwd": ".",
            "machine": run.machine_info(), "size": "small", "seeds": [0], "instance": None,
            "time_limit": TIME_LIMIT, "methods": ["fcfs", "iop_sched"]}
    text = run.report(records, traces, meta, tmp_path)
    for name in ("small-runs.csv", "small-summary.csv", "small-traces.json", "small-progress.png",
                 "small-meta.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "iop_sched" in text and "fcfs" in text
    assert "iop_sched vs fcfs" in text
    assert "WARNING" not in text
    header = run.format_header(meta)
    assert "cores" in header and "ortools" in header
    saved = json.loads((tmp_path / "small-traces.json").read_text(encoding="utf-8"))
    assert {r["method"] for r in saved["runs"]} == {"fcfs", "iop_sched"}


def _record(method: str, seed: int, placed: int, bound, t_proof, peak: float, **more) -> dict:
    return {"method": method, "size": "small", "seed": seed, "patients": 30, "status": "feasible",
            "placed": placed, "placed_bound": bound,
            "gap": None if bound is None else (bound - placed) / bound,
            "t_first": 0.1 * (seed + 1), "t_99": 0.2 * (seed + 1), "t_proof": t_proof,
            "tier1_seconds": 1.0, "solve_seconds": 10.0 + seed, "open_groups": 10 + seed, "clinician_hours": 20.0,
            "tier2_value": 100 + seed, "tier2_bound": 90, "tier2_gap": None, "tier3_value": None, "tier3_bound": None,
            "tier3_gap": None, "peak_mb": peak, "violations": 0, "trace_kind": "progress", "error": "", **more}


def test_medians_over_seeds():
    records = [
        _record("iop_sched", 0, 28, 28, 0.5, 100.0),
        _record("iop_sched", 1, 25, 27, None, 300.0),   # never proved: counts as infinite
        _record("iop_sched", 2, 26, 27, 2.0, 200.0),
        _record("fcfs", 0, 20, None, None, 50.0, trace_kind="final"),
        _record("fcfs", 1, 22, None, None, 60.0, trace_kind="final"),
        _record("fcfs", 2, 18, None, None, 70.0, trace_kind="final"),
        {"method": "fcfs", "size": "small", "seed": 3, "status": "crashed", "error": "exit status 1"},
    ]
    iop, fcfs = run.summarize(records)
    assert iop["method"] == "iop_sched" and fcfs["method"] == "fcfs"
    assert (iop["runs"], iop["failed"]) == (3, 0)
    assert iop["placed"] == 26 and (iop["placed_min"], iop["placed_max"]) == (25, 28)
    assert iop["placed_bound"] == 27
    assert iop["gap"] == pytest.approx(1 / 27)           # median of 0, 2/27, 1/27
    assert iop["t_proof"] == 2.0 and iop["proved"] == 2  # median of 0.5, 2.0, inf
    assert iop["t_first"] == pytest.approx(0.2)
    assert iop["solve_seconds"] == 11.0 and iop["open_groups"] == 11 and iop["peak_mb"] == 200.0
    assert iop["tier2_value"] == 101 and iop["tier3_value"] is None
    assert (fcfs["runs"], fcfs["failed"]) == (4, 1)       # the crashed run is counted, never averaged
    assert fcfs["placed"] == 20 and fcfs["placed_bound"] is None and not fcfs["has_bound"]
    assert "1 crashed" in fcfs["statuses"]

    comparison = run.compare(records, "iop_sched", "fcfs")
    assert comparison["diffs"] == [8, 3, 8] and comparison["median_diff"] == 8
    assert comparison["median_percent"] == pytest.approx(40.0)

    text = run.format_table(run.summarize(records), [0, 1, 2])
    assert "iop_sched" in text and "fcfs" in text and "26 (25-28)" in text and "none" in text


def test_median_of_times_never_proved_is_never():
    assert run._median([None, None, 1.0], never_is_inf=True) == math.inf
    assert run._median([None, None, 1.0]) == 1.0
    assert run._median([]) is None


def test_trace_times():
    trace = [[0.01, None, 30.0], [0.02, 0.0, 30.0], [0.5, 20.0, 29.0], [1.5, 28.0, 29.0], [3.0, 28.0, 28.0]]
    assert run.trace_times(trace, 28) == {"t_first": 0.5, "t_99": 1.5, "t_proof": 3.0}
    assert run.trace_times(trace[:4], 28)["t_proof"] is None
    assert run.trace_times([[0.3, 18.0, None]], 18, has_bound=False) == {"t_first": 0.3, "t_99": 0.3, "t_proof": None}


def test_config_becomes_a_method():
    name, workers, parameters = run.parse_config("lp2:linearization_level=2,use_lns=false,relative_gap_limit=0.01,"
                                                 "workers=4")
    assert (name, workers) == ("lp2", 4)
    assert parameters == {"linearization_level": 2, "use_lns": False, "relative_gap_limit": 0.01}
    methods = run.methods_for(8, ["lp2:linearization_level=2"])
    assert set(run.DEFAULT_METHODS) < set(methods) and "lp2" in methods
    with pytest.raises(ValueError):
        run.parse_config("bad:no_such_parameter=1")
    with pytest.raises(ValueError):
        run.parse_config("fcfs:linearization_level=2")


class _Solved:
    def __init__(self, stats: dict):
        self.stats = stats

    def to_dict(self) -> dict:
        return {"stats": self.stats}


def _iop_sched_trace(monkeypatch, events: list[dict], final_bound: int) -> list:
    """The runner's tier-1 trace from a stand-in solve that reports `events` and ends with tier 1 at 11 of
    `final_bound` after 4 s of a 10-s solve."""
    import iop_sched

    def stand_in(problem, progress=None, **options):
        for event in events:
            progress(event)
        return _Solved({"solve_seconds": 10.0, "tiers": [{"tier": 1, "value": 11, "bound": final_bound, "seconds": 4.0},
                                                          {"tier": 2, "value": 5, "bound": 5, "seconds": 6.0}]})

    monkeypatch.setattr(iop_sched, "solve", stand_in)
    trace: list = []
    run._iop_sched(None, 10.0, 0, trace)
    return trace


def test_a_tier_one_proof_from_the_lp_is_dated_when_the_lp_reported_it(monkeypatch):
    searched = [{"tier": 1, "event": "solution", "value": 10, "bound": 12, "elapsed": 1.0},
                {"tier": 1, "event": "solution", "value": 11, "bound": 12, "elapsed": 2.0}]
    lp = {"tier": 1, "event": "lp_bound", "value": 11, "bound": 11, "elapsed": 9.5}
    trace = _iop_sched_trace(monkeypatch, searched + [lp], 11)
    assert [4.0, 11.0, 12.0] in trace  # the end of tier 1 keeps the search's bound
    assert run.trace_times(trace, 11)["t_proof"] == 9.5
    # proven by the search itself: at the end of tier 1
    assert run.trace_times(_iop_sched_trace(monkeypatch, searched, 11), 11)["t_proof"] == 4.0


def test_the_schedule_in_hand_reported_while_tier_one_waits_is_not_a_first_schedule(monkeypatch):
    waiting = [{"tier": 1, "event": "waiting", "value": 7, "bound": None, "elapsed": t} for t in (1.0, 2.0)]
    searched = [{"tier": 1, "event": "solution", "value": 11, "bound": 11, "elapsed": 3.0}]
    times = run.trace_times(_iop_sched_trace(monkeypatch, waiting + searched, 11), 11)
    assert times["t_first"] == 3.0  # the solver's own first schedule, not the first-come-first-served week
    assert run.trace_times(_iop_sched_trace(monkeypatch, searched, 11), 11)["t_first"] == 3.0
