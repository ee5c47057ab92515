"""Benchmark runner: iop_sched against its baselines, medians over seeds.

    python benchmarks/run.py --size large --seeds 3 --time-limit 60
    python -m benchmarks.run --size small --seed-list 0,4 --methods iop_sched,fcfs
    python benchmarks/run.py --size medium --config lns_only:use_lns_only=true

For every seed and every method the runner starts a fresh Python process
(``run.py --_single ...``) that generates the program with
``benchmarks.generate.generate(size, seed)``, solves it, checks the schedule with
the independent validator and writes one JSON result file. One process per run
gives each run its own peak memory (``ru_maxrss``) and lets a run that crashes or
overruns its wall-clock allowance (``time_limit * 1.5 + 60`` s) be recorded as
such without losing the others.

Methods (a registry, ``METHODS``; one entry per configuration):

* ``iop_sched`` -- ``iop_sched.solve`` with its default parameters: the pinned per-tier portfolios
  (``--workers N`` replaces them by CP-SAT's own portfolio of N workers).
* ``iop_sched_8workers`` -- the first configuration: CP-SAT's own portfolio of 8 workers on 2 cores.
* ``iop_sched_2workers`` -- the earlier, naive configuration: 2 CP-SAT workers (a reduced
  portfolio without the LP-based bound workers).
* ``iop_sched_3workers`` -- the pinned portfolio of the second and third sessions: 3 workers,
  full-problem subsolvers default_lp and quick_restart, LNS on the third (one worker more
  than the machine's cores).
* ``highs`` -- the same model as a MIP on HiGHS (mip_rel_gap=0), tier 1 then tiers 2 and 3.
* ``fcfs`` -- first come, first served: what a coordinator does by hand; no bound.
* ``--config name:key=value,...`` adds an iop_sched configuration whose CP-SAT
  ``extra_parameters`` are the given keys (``workers=N`` sets the worker count instead),
  so a parameter change is measured next to the default.

The seed is both the generator seed (a different program per seed) and the solver's
random seed; ``--instance K`` keeps program K for every seed so only the solvers vary.

Outputs in ``--out`` (default ``benchmarks/results``): ``<size>-runs.csv`` (every run),
``<size>-summary.csv`` (medians per method), ``<size>-traces.json`` (tier-1 progress),
``<size>-progress.png`` (placed and proven bound against time), ``<size>-meta.json``
(machine, versions, command, date) and ``logs/`` (each child's stdout and stderr).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and __package__ in (None, ""):
    # Run as a script (python benchmarks/run.py): make `benchmarks` and the checkout's `iop_sched` importable.
    sys.path.insert(0, str(REPO))

from benchmarks.generate import SIZES, generate  # noqa: E402

DEFAULT_METHODS = ("iop_sched", "iop_sched_8workers", "highs", "fcfs")
DEFAULT_WORKERS = 0  # 0: iop_sched's pinned per-tier portfolios (workers=None)
DEFAULT_OUT = REPO / "benchmarks" / "results"
#: Share of the final placed count that counts as "nearly there".
NEARLY = 0.99

TRACE_NOTES = {
    "progress": "every tier-1 solution and bound from iop_sched's progress callback, plus the end of tier 1",
    "tier1_end": "no intermediate points: only its tier-1 result, at build + tier-1 seconds",
    "final": "no intermediate points: only the final schedule, at solve_seconds (no bound)",
}

# A trace point: [seconds since the solve started, patients placed or None, proven bound or None].
TracePoint = list
Method = Callable[[Any, float, int, list], tuple[dict, dict]]


# --------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------

def _iop_sched(problem, time_limit: float, seed: int, trace: list, *, workers: int = DEFAULT_WORKERS,
               extra_parameters: Optional[dict] = None) -> tuple[dict, dict]:
    """iop_sched.solve; the tier-1 trace comes from its progress callback."""
    from iop_sched import solve

    events: list[dict] = []
    schedule = solve(problem, time_limit=time_limit, workers=workers or None, seed=seed, progress=events.append,
                     extra_parameters=dict(extra_parameters) if extra_parameters else None)
    stats = schedule.stats
    last = 0.0
    searched: Optional[float] = None  # the search's own last bound on tier 1
    after_tier1 = False  # a bound came after tier 1 (the LP bound, `iop_sched.week_hull`), at its own time
    for event in events:
        if event["tier"] != 1 or event.get("event") == "waiting":  # (the schedule in hand again, not a new one)
            continue
        value = None if event["value"] is None else float(event["value"]) + 0.0  # -0.0 -> 0.0
        bound = None if event["bound"] is None else float(event["bound"]) + 0.0
        trace.append([float(event["elapsed"]), value, bound])
        if event.get("event") == "lp_bound":
            after_tier1 = True
            continue
        last = max(last, float(event["elapsed"]))
        searched = bound if bound is not None else searched
    tiers = stats.get("tiers") or []
    # The end of tier 1: everything but the later tiers' own solve times (an upper bound by the hinting time).
    later = sum(float(t["seconds"]) for t in tiers[1:])
    tier1_end = max(last, float(stats["solve_seconds"]) - later)
    if tiers:
        first = tiers[0]
        # tier 1's final bound, unless it came later: then the search's own, so no proof is dated too early
        bound = searched if after_tier1 else None if first["bound"] is None else float(first["bound"])
        trace.append([tier1_end, None if first["value"] is None else float(first["value"]), bound])
    return schedule.to_dict(), {"trace_kind": "progress", "tier1_seconds": tier1_end, "has_bound": True}


def _highs(problem, time_limit: float, seed: int, trace: list) -> tuple[dict, dict]:
    """The same model as a MIP on HiGHS; only the end of tier 1 is known (build + tier-1 seconds)."""
    from benchmarks.baselines import highs_mip

    document = highs_mip(problem, time_limit, tiers=3, explain=False, seed=seed)  # attend <= open, as iop_sched
    stats = document["stats"]
    tiers = stats.get("tiers") or []
    tier1_end = float(stats.get("build_seconds", 0.0)) + (float(tiers[0]["seconds"]) if tiers else 0.0)
    if tiers:
        first = tiers[0]
        trace.append([tier1_end, None if first["value"] is None else float(first["value"]),
                      None if first["bound"] is None else float(first["bound"])])
    return document, {"trace_kind": "tier1_end", "tier1_seconds": tier1_end, "has_bound": True}


def _fcfs(problem, time_limit: float, seed: int, trace: list) -> tuple[dict, dict]:
    """First come, first served: deterministic, no time limit, no bound; one point at the end."""
    from benchmarks.baselines import first_come_first_served

    document = first_come_first_served(problem, explain=False)
    stats = document["stats"]
    trace.append([float(stats["solve_seconds"]), float(stats["placed"]), None])
    return document, {"trace_kind": "final", "tier1_seconds": float(stats["solve_seconds"]), "has_bound": False}


#: name -> function(problem, time_limit, seed, trace) -> (schedule document, extra stats).
METHODS: dict[str, Method] = {
    "iop_sched": functools.partial(_iop_sched, workers=DEFAULT_WORKERS),
    "iop_sched_8workers": functools.partial(_iop_sched, workers=8),
    "iop_sched_2workers": functools.partial(_iop_sched, workers=2),
    "iop_sched_3workers": functools.partial(_iop_sched, workers=DEFAULT_WORKERS, extra_parameters={
        "num_workers": 3, "subsolvers": ["default_lp", "quick_restart"]}),
    "highs": _highs,
    "fcfs": _fcfs,
}


def parse_value(text: str) -> Any:
    """A --config value: bool (true/false/yes/no), int, float, a|b|c list of texts, else the text itself."""
    if "|" in text:
        return [part for part in text.split("|") if part]
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_config(spec: str) -> tuple[str, int, dict]:
    """'name:key=value,key=value' -> (name, workers, CP-SAT extra parameters); `workers` is not a CP-SAT name."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if not name or any(c in name for c in " ,/"):
        raise ValueError(f"--config {spec!r}: give it a name, as in name:key=value,key=value")
    if name in METHODS:
        raise ValueError(f"--config {spec!r}: {name!r} is a built-in method; choose another name")
    from ortools.sat import sat_parameters_pb2

    known = sat_parameters_pb2.SatParameters.DESCRIPTOR.fields_by_name
    workers = DEFAULT_WORKERS
    parameters: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals:
            raise ValueError(f"--config {spec!r}: {item!r} is not key=value")
        if key == "workers":
            workers = int(value)
        elif key not in known:
            raise ValueError(f"--config {spec!r}: {key!r} is not a CP-SAT parameter")
        else:
            parameters[key] = parse_value(value)
    return name, workers, parameters


def methods_for(workers: int = DEFAULT_WORKERS, configs: Sequence[str] = ()) -> dict[str, Method]:
    """The registry with `iop_sched` at `workers` workers and one entry per --config."""
    methods = dict(METHODS)
    methods["iop_sched"] = functools.partial(_iop_sched, workers=workers)
    for spec in configs:
        name, config_workers, parameters = parse_config(spec)
        if name in methods:
            raise ValueError(f"--config {spec!r}: {name!r} is given twice")
        methods[name] = functools.partial(_iop_sched, workers=config_workers, extra_parameters=parameters)
    return methods


# --------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------

def trace_times(trace: Sequence[TracePoint], placed: int, has_bound: bool = True) -> dict[str, Optional[float]]:
    """From a tier-1 trace: time to the first non-empty schedule, to 99 % of `placed`, to the proof of tier 1."""
    first = nearly = proof = None
    for t, value, bound in sorted(trace, key=lambda point: point[0]):
        if value is None:
            continue
        if first is None and value > 0:
            first = t
        if nearly is None and placed > 0 and value >= NEARLY * placed - 1e-9:
            nearly = t
        if proof is None and has_bound and bound is not None and value >= bound - 1e-6:
            proof = t
    return {"t_first": first, "t_99": nearly, "t_proof": proof}


def _relative_gap(value: Optional[float], bound: Optional[float]) -> Optional[float]:
    """|value - bound| / |value| for a minimised tier (0 when they meet)."""
    if value is None or bound is None:
        return None
    if value == bound:
        return 0.0
    return abs(value - bound) / abs(value) if value else None


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def make_problem(size: str, seed: int):
    """The generated program of this size and seed, loaded."""
    from iop_sched import problem_from_data

    return problem_from_data(generate(size, seed))


def run_single(size: str, method: str, seed: int, time_limit: float, *, workers: int = DEFAULT_WORKERS,
               configs: Sequence[str] = (), instance: Optional[int] = None) -> tuple[dict, list]:
    """Run one method on one program in this process: (record, tier-1 trace)."""
    from iop_sched.validate import validate_schedule

    methods = methods_for(workers, configs)
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(methods)}")
    problem = make_problem(size, seed if instance is None else instance)
    trace: list[TracePoint] = []
    started = time.monotonic()
    document, extra = methods[method](problem, float(time_limit), int(seed), trace)
    wall = time.monotonic() - started
    violations = validate_schedule(problem, document)
    stats = document["stats"]
    has_bound = bool(extra.get("has_bound", True))
    placed = int(stats["placed"])
    bound = int(stats["placed_bound"]) if has_bound else None
    tiers = {int(t["tier"]): t for t in stats.get("tiers") or []}
    record: dict[str, Any] = {
        "method": method,
        "size": size,
        "seed": int(seed),
        "instance": int(seed if instance is None else instance),
        "patients": int(stats["patients"]),
        "status": document["status"],
        "placed": placed,
        "placed_bound": bound,
        "gap": (None if bound is None else ((bound - placed) / bound if bound else 0.0)),
        **trace_times(trace, placed, has_bound),
        "tier1_seconds": extra.get("tier1_seconds"),
        "solve_seconds": float(stats["solve_seconds"]),
        "wall_seconds": round(wall, 3),
        "open_groups": stats.get("open_blocks"),
        "clinician_hours": stats.get("clinician_hours"),
        "tier1_status": tiers.get(1, {}).get("status"),
    }
    for tier in (2, 3):
        outcome = tiers.get(tier, {})
        record[f"tier{tier}_status"] = outcome.get("status")
        record[f"tier{tier}_value"] = outcome.get("value")
        record[f"tier{tier}_bound"] = outcome.get("bound")
        record[f"tier{tier}_gap"] = _relative_gap(outcome.get("value"), outcome.get("bound"))
    record.update({
        "peak_mb": round(_peak_mb(), 1),
        "violations": len(violations),
        "violation_examples": " | ".join(str(v) for v in violations[:5]),
        "trace_kind": extra.get("trace_kind", "final"),
        "parameters": json.dumps(stats.get("parameters", {}), sort_keys=True, default=str),
        "error": "",
    })
    return record, trace


def failed_record(size: str, method: str, seed: int, instance: Optional[int], status: str, error: str) -> dict:
    """The record of a run that crashed or ran out of wall-clock time (left out of every median)."""
    return {"method": method, "size": size, "seed": int(seed), "instance": int(seed if instance is None else instance),
            "status": status, "error": error}


def run_child(size: str, method: str, seed: int, time_limit: float, *, workers: int = DEFAULT_WORKERS,
              configs: Sequence[str] = (), instance: Optional[int] = None,
              log_dir: Optional[Path] = None) -> tuple[dict, list]:
    """Run one method on one program in its own process (own peak memory; a crash or overrun is recorded)."""
    allowance = time_limit * 1.5 + 60
    with tempfile.TemporaryDirectory(prefix="iop-bench-") as folder:
        result = Path(folder) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--_single", "--size", size, "--method", method,
                   "--seed-list", str(seed), "--time-limit", repr(float(time_limit)), "--workers", str(workers),
                   "--result", str(result)]
        if instance is not None:
            command += ["--instance", str(instance)]
        for spec in configs:
            command += ["--config", spec]
        log_path = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            log_path = log_dir / f"{size}-{method}-seed{seed}.log"
        with open(log_path if log_path else os.devnull, "w", encoding="utf-8") as log:
            log.write("$ " + " ".join(shlex.quote(part) for part in command) + "\n")
            log.flush()
            try:
                completed = subprocess.run(command, cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT,
                                           timeout=allowance, check=False)
            except subprocess.TimeoutExpired:
                return failed_record(size, method, seed, instance, "timeout",
                                     f"killed after {allowance:.0f} s of wall-clock time"), []
        if completed.returncode != 0 or not result.exists():
            tail = ""
            if log_path is not None:
                lines = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                         if line.strip()]
                tail = " / ".join(lines[-3:])
            return failed_record(size, method, seed, instance, "crashed",
                                 f"exit status {completed.returncode}: {tail}"[:500]), []
        data = json.loads(result.read_text(encoding="utf-8"))
        return data["record"], data["trace"]


# --------------------------------------------------------------------------------------
# Medians and the table
# --------------------------------------------------------------------------------------

def _ok(record: dict) -> bool:
    return not record.get("error") and record.get("status") not in ("crashed", "timeout")


def _median(values: Iterable[Any], never_is_inf: bool = False) -> Optional[float]:
    """Median of the values; None is dropped, or counts as +inf ("never") when `never_is_inf`."""
    kept = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if never_is_inf:
                kept.append(math.inf)
            continue
        kept.append(float(value))
    return statistics.median(kept) if kept else None


# (summary column, record field, None means "never" for this field)
_MEDIAN_FIELDS = (
    ("patients", "patients", False),
    ("placed", "placed", False),
    ("placed_bound", "placed_bound", False),
    ("gap", "gap", False),
    ("t_first", "t_first", True),
    ("t_99", "t_99", True),
    ("t_proof", "t_proof", True),
    ("tier1_seconds", "tier1_seconds", False),
    ("solve_seconds", "solve_seconds", False),
    ("open_groups", "open_groups", False),
    ("clinician_hours", "clinician_hours", False),
    ("tier2_value", "tier2_value", False),
    ("tier2_bound", "tier2_bound", False),
    ("tier2_gap", "tier2_gap", False),
    ("tier3_value", "tier3_value", False),
    ("tier3_bound", "tier3_bound", False),
    ("tier3_gap", "tier3_gap", False),
    ("peak_mb", "peak_mb", False),
)


def summarize(records: Sequence[dict]) -> list[dict]:
    """One row per method (in order of first appearance): medians over its successful runs."""
    order: list[str] = []
    for record in records:
        if record["method"] not in order:
            order.append(record["method"])
    rows = []
    for method in order:
        mine = [r for r in records if r["method"] == method]
        ok = [r for r in mine if _ok(r)]
        row: dict[str, Any] = {"method": method, "runs": len(mine), "failed": len(mine) - len(ok)}
        for column, field, never_is_inf in _MEDIAN_FIELDS:
            row[column] = _median((r.get(field) for r in ok), never_is_inf)
        placed = [r["placed"] for r in ok if r.get("placed") is not None]
        row["placed_min"] = min(placed) if placed else None
        row["placed_max"] = max(placed) if placed else None
        row["proved"] = sum(1 for r in ok if r.get("t_proof") is not None)
        row["has_bound"] = any(r.get("placed_bound") is not None for r in ok)
        counts: dict[str, int] = {}
        for r in mine:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        row["statuses"] = ", ".join(f"{n} {status}" for status, n in counts.items())
        row["violations"] = sum(int(r.get("violations") or 0) for r in ok)
        row["trace_kind"] = next((r.get("trace_kind") for r in ok if r.get("trace_kind")), "")
        rows.append(row)
    return rows


def compare(records: Sequence[dict], method: str, baseline: str = "fcfs") -> Optional[dict]:
    """Per-seed placed difference method - baseline (patients and %), medians over the seeds both finished."""
    by_seed = {r["seed"]: r for r in records if r["method"] == baseline and _ok(r)}
    pairs = [(r["seed"], r["placed"], by_seed[r["seed"]]["placed"])
             for r in records if r["method"] == method and _ok(r) and r["seed"] in by_seed]
    if not pairs:
        return None
    diffs = [mine - theirs for _, mine, theirs in pairs]
    percents = [100.0 * (mine - theirs) / theirs if theirs else math.inf for _, mine, theirs in pairs]
    return {"method": method, "baseline": baseline, "seeds": [seed for seed, _, _ in pairs],
            "diffs": diffs, "percents": percents,
            "median_diff": statistics.median(diffs), "median_percent": statistics.median(percents)}


def _fmt_seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _fmt_number(value: Optional[float], digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0 and float(value).is_integer():
        return str(int(value))
    return f"{value:.{max(digits, 1)}f}"


def _fmt_percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def format_table(summary: Sequence[dict], seeds: Sequence[int] = ()) -> str:
    """Metrics as rows, one column per method; medians over seeds."""
    def placed(row: dict) -> str:
        if row["placed"] is None:
            return "-"
        text = _fmt_number(row["placed"])
        if row["placed_min"] is not None and row["placed_min"] != row["placed_max"]:
            text += f" ({row['placed_min']}-{row['placed_max']})"
        elif row["placed_min"] is not None and row["runs"] - row["failed"] > 1:
            text += " (all)"
        return text

    def at_most(row: dict) -> str:
        """Without intermediate points a time to a schedule is only known to be at most the end of tier 1."""
        return "<=" if row["trace_kind"] == "tier1_end" else ""

    lines_spec: list[tuple[str, Callable[[dict], str]]] = [
        ("runs (failed)", lambda r: f"{r['runs']} ({r['failed']})"),
        ("patients", lambda r: _fmt_number(r["patients"])),
        ("placed (min-max)", placed),
        ("proven bound", lambda r: _fmt_number(r["placed_bound"]) if r["has_bound"] else "none"),
        ("gap", lambda r: _fmt_percent(r["gap"]) if r["has_bound"] else "-"),
        ("first schedule", lambda r: at_most(r) + _fmt_seconds(r["t_first"])),
        ("99 % of final", lambda r: at_most(r) + _fmt_seconds(r["t_99"])),
        ("tier-1 proof", lambda r: _fmt_seconds(r["t_proof"]) if r["has_bound"] else "no bound"),
        ("proved (runs)", lambda r: f"{r['proved']}/{r['runs'] - r['failed']}" if r["has_bound"] else "-"),
        ("tier-1 time", lambda r: _fmt_seconds(r["tier1_seconds"])),
        ("total time", lambda r: _fmt_seconds(r["solve_seconds"])),
        ("open groups", lambda r: _fmt_number(r["open_groups"])),
        ("clinician hours", lambda r: _fmt_number(r["clinician_hours"], 1)),
        ("tier 2 value", lambda r: _fmt_number(r["tier2_value"])),
        ("tier 2 bound", lambda r: _fmt_number(r["tier2_bound"])),
        ("tier 2 gap", lambda r: _fmt_percent(r["tier2_gap"])),
        ("tier 3 value", lambda r: _fmt_number(r["tier3_value"])),
        ("tier 3 bound", lambda r: _fmt_number(r["tier3_bound"])),
        ("tier 3 gap", lambda r: _fmt_percent(r["tier3_gap"])),
        ("peak memory", lambda r: "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f} MB"),
        ("violations", lambda r: str(r["violations"])),
        ("status", lambda r: r["statuses"]),
        ("trace", lambda r: r["trace_kind"] or "-"),
    ]
    header = ["median over seeds" + (f" {','.join(map(str, seeds))}" if seeds else "")] + [r["method"] for r in summary]
    body = [[label] + [render(row) for row in summary] for label, render in lines_spec]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(cells))

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule] + [line(cells) for cells in body])


def format_comparisons(records: Sequence[dict], methods: Sequence[str], baseline: str = "fcfs") -> str:
    lines = []
    for method in methods:
        if method == baseline:
            continue
        result = compare(records, method, baseline)
        if result is None:
            continue
        per_seed = ", ".join(f"seed {s}: {d:+d}" for s, d in zip(result["seeds"], result["diffs"]))
        lines.append(f"{method} vs {baseline}: {result['median_diff']:+g} patients placed "
                     f"({result['median_percent']:+.1f} %), median over seeds [{per_seed}]")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Machine, files, plot
# --------------------------------------------------------------------------------------

def machine_info() -> dict:
    """Cores, CPU model, memory, Python, ortools/HiGHS versions and the checkout's commit."""
    from importlib import metadata

    info: dict[str, Any] = {"nproc": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version()}
    if hasattr(os, "sched_getaffinity"):
        info["nproc_usable"] = len(os.sched_getaffinity(0))
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info.setdefault("cpu", platform.processor() or "unknown")
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    for package in ("ortools", "highspy", "pandas", "matplotlib"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
        info["git"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        info["git"] = None
    return info


def format_header(meta: dict) -> str:
    m = meta["machine"]
    usable = f" ({m['nproc_usable']} usable)" if m.get("nproc_usable") not in (None, m.get("nproc")) else ""
    return "\n".join([
        f"# {meta['date']}  {meta['command']}",
        f"# machine: {m.get('nproc')} cores{usable}, {m.get('cpu')}, {m.get('memory_gb', '?')} GB; "
        f"python {m.get('python')}, ortools {m.get('ortools')}, highspy {m.get('highspy')}; git {m.get('git')}",
        f"# size {meta['size']}, seeds {','.join(map(str, meta['seeds']))}"
        + (f" (all on program {meta['instance']})" if meta.get("instance") is not None else
           " (seed = generator seed and solver seed)")
        + f", time limit {meta['time_limit']:g} s, methods {', '.join(meta['methods'])}",
    ])


def plot(path: Path, size: str, records: Sequence[dict], traces: Sequence[dict]) -> None:
    """Placed (thick) and proven bound (thin) against time during tier 1; finals of final-only methods as markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    methods: list[str] = []
    seeds: list[int] = []
    for record in records:
        if record["method"] not in methods:
            methods.append(record["method"])
        if record["seed"] not in seeds:
            seeds.append(record["seed"])
    colours = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(methods)}
    styles = {s: ("-", "--", ":", "-.")[i % 4] for i, s in enumerate(seeds)}
    floor = 1e-3

    fig, ax = plt.subplots(figsize=(11, 6.5))
    for run in traces:
        points = sorted(run["points"], key=lambda p: p[0])
        if not points:
            continue
        colour, style = colours[run["method"]], styles[run["seed"]]
        if run["kind"] == "progress":
            placed = [(max(t, floor), v) for t, v, _ in points if v is not None]
            bound = [(max(t, floor), b) for t, _, b in points if b is not None]
            if placed:
                ax.step(*zip(*placed), where="post", color=colour, linestyle=style, linewidth=2.2, alpha=0.85)
            if bound:
                ax.step(*zip(*bound), where="post", color=colour, linestyle=style, linewidth=1.0, alpha=0.6)
        else:
            t, value, bound = points[-1]
            if value is not None:
                ax.plot([max(t, floor)], [value], marker="o", color=colour, markersize=8, linestyle="none")
            if bound is not None:
                ax.plot([max(t, floor)], [bound], marker="v", color=colour, markersize=7, linestyle="none",
                        markerfacecolor="none")
    patients = {r.get("patients") for r in records if r.get("patients") is not None}
    if len(patients) == 1:
        ax.axhline(patients.pop(), color="grey", linewidth=0.8, linestyle=(0, (1, 3)))
    ax.set_xscale("log")
    ax.set_xlabel("seconds since the solve started (log)")
    ax.set_ylabel("patients (tier 1)")
    ax.set_title(f"{size}: patients placed and proven bound during tier 1")
    handles = [Line2D([], [], color=colours[m], linewidth=2.2, label=m) for m in methods]
    handles += [Line2D([], [], color="black", linestyle=styles[s], label=f"seed {s}") for s in seeds]
    handles += [Line2D([], [], color="black", linewidth=2.2, label="placed"),
                Line2D([], [], color="black", linewidth=1.0, alpha=0.6, label="proven bound"),
                Line2D([], [], color="black", marker="o", linestyle="none", label="final placed (no trace)"),
                Line2D([], [], color="black", marker="v", markerfacecolor="none", linestyle="none",
                       label="final bound (no trace)")]
    ax.legend(handles=handles, loc="best", fontsize=8, ncol=2)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(records: Sequence[dict], traces: Sequence[dict], meta: dict, out: Path) -> str:
    """Write the CSVs, traces, meta and plot into `out`; return the text to print."""
    import pandas as pd

    size = meta["size"]
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(records)
    pd.DataFrame(list(records)).to_csv(out / f"{size}-runs.csv", index=False)
    pd.DataFrame(summary).to_csv(out / f"{size}-summary.csv", index=False)
    (out / f"{size}-meta.json").write_text(json.dumps(meta, indent=1, default=str) + "\n", encoding="utf-8")
    (out / f"{size}-traces.json").write_text(json.dumps(
        {"meta": meta, "notes": TRACE_NOTES, "point": ["seconds", "placed", "bound"], "runs": list(traces)},
        indent=1, default=str) + "\n", encoding="utf-8")
    plot(out / f"{size}-progress.png", size, records, traces)

    kinds = {row["method"]: row["trace_kind"] for row in summary}
    notes = [f"  {m}: {TRACE_NOTES.get(k, k)}" for m, k in kinds.items() if k]
    text = [format_table(summary, meta.get("seeds", ())), ""]
    comparison = format_comparisons(records, [row["method"] for row in summary])
    if comparison:
        text += [comparison, ""]
    text += ["Times are seconds since the method started (model building included); medians over seeds, "
             "'never' counts as infinite; '<=' marks times known only as the end of tier 1.", "Traces:"] + notes
    problems = []
    for record in records:
        if not _ok(record):
            problems.append(f"!!! {record['method']} seed {record['seed']}: {record['status']}: {record['error']}")
        elif record.get("violations"):
            problems.append(f"!!! {record['method']} seed {record['seed']}: the validator found "
                            f"{record['violations']} broken rule(s): {record['violation_examples']}")
    if problems:
        text += ["", "!" * 78, "WARNING: some runs failed or broke hard rules:"] + problems + ["!" * 78]
    text += ["", f"Wrote {out}/{size}-runs.csv, {size}-summary.csv, {size}-traces.json, {size}-progress.png, "
                 f"{size}-meta.json"]
    return "\n".join(text)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark iop_sched against first come, first served and HiGHS; medians over seeds.")
    parser.add_argument("--size", choices=SIZES, required=True)
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    seeds.add_argument("--seed-list", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--instance", type=int, default=None,
                        help="solve generated program K for every seed (only the solver seed varies)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (default 60)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help=f"comma-separated (default {','.join(DEFAULT_METHODS)}); --config names are added")
    parser.add_argument("--config", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="an extra iop_sched configuration: CP-SAT parameters (workers=N sets the workers)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="workers of the iop_sched method (0: its pinned per-tier portfolios)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder (default benchmarks/results)")
    parser.add_argument("--_single", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser


def _seeds(args: argparse.Namespace) -> list[int]:
    if args.seed_list:
        return [int(part) for part in args.seed_list.split(",") if part.strip()]
    if args.seeds < 1:
        raise ValueError("--seeds must be at least 1")
    return list(range(args.seeds))


def main(argv: Optional[list[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        seeds = _seeds(args)
        registry = methods_for(args.workers, args.config)
    except ValueError as error:
        parser.error(str(error))
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")

    if args._single:  # the child: one method, one seed, result as JSON (stdout is HiGHS's)
        record, trace = run_single(args.size, args.method, seeds[0], args.time_limit, workers=args.workers,
                                   configs=args.config, instance=args.instance)
        args.result.write_text(json.dumps({"record": record, "trace": trace}), encoding="utf-8")
        return 0

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    methods += [parse_config(spec)[0] for spec in args.config if parse_config(spec)[0] not in methods]
    unknown = [m for m in methods if m not in registry]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(registry)}")
    if "highs" in methods:
        try:
            import highspy  # noqa: F401
        except ImportError:
            parser.error("the highs method needs highspy: pip install '.[bench]'")

    meta = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(part) for part in [Path(sys.executable).name] + sys.argv),
        "cwd": os.getcwd(),
        "machine": machine_info(),
        "size": args.size,
        "seeds": seeds,
        "instance": args.instance,
        "time_limit": args.time_limit,
        "workers": args.workers,
        "methods": methods,
        "configs": args.config,
        "wall_clock_allowance_seconds": args.time_limit * 1.5 + 60,
    }
    print(format_header(meta), flush=True)
    out: Path = args.out
    records: list[dict] = []
    traces: list[dict] = []
    total = len(seeds) * len(methods)
    for seed in seeds:  # seed-major, so slow drift of the machine spreads over the methods
        for method in methods:
            record, trace = run_child(args.size, method, seed, args.time_limit, workers=args.workers,
                                      configs=args.config, instance=args.instance, log_dir=out / "logs")
            records.append(record)
            traces.append({"method": method, "seed": seed, "kind": record.get("trace_kind", "final"),
                           "points": trace})
            if _ok(record):
                bound = record["placed_bound"]
                check = "valid" if record["violations"] == 0 else f"!!! {record['violations']} VIOLATIONS"
                print(f"[{len(records)}/{total}] {method} seed {seed}: placed {record['placed']}/{record['patients']}"
                      f", bound {'-' if bound is None else bound}, {record['status']}, "
                      f"{record['solve_seconds']:.1f} s, {record['peak_mb']:.0f} MB, {check}", flush=True)
            else:
                print(f"[{len(records)}/{total}] {method} seed {seed}: !!! {record['status']}: {record['error']}",
                      flush=True)
    print()
    print(report(records, traces, meta, out))
    return 0 if all(_ok(r) and not r.get("violations") for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
