"""Independent parts measured: generated programs side by side, solved whole and part by part.

    python benchmarks/parts.py --size medium --copies 2 --seeds 3 --time-limit 40

A program of `--copies` generated programs (generator seeds 0, 2, 4, ...), made
independent the way separate clinics are: ids, sites and credentials of each copy
are its own, and each copy's patients and groups carry the copy's audience tag (so
no patient reaches another copy's telehealth group and no clinician staffs it).
Each solver seed runs `iop_sched.solve` with `decompose=True` (the default) and
`decompose=False`; the table gives patients placed, the proven bound, the time to
tier 1's proof (never: not proven) and the values of tiers 2 and 3 (lower is better).
Every schedule is checked by the independent validator.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate import generate  # noqa: E402
from iop_sched import problem_from_data, solve  # noqa: E402
from iop_sched.validate import validate_schedule  # noqa: E402


def own_copy(document: dict, tag: str) -> dict:
    """One generated program as one clinic among several: nothing it names is another copy's."""
    document = copy.deepcopy(document)
    for room in document["rooms"]:
        room["id"] = f"{tag}-{room['id']}"
        if room.get("site"):
            room["site"] = f"{tag}-{room['site']}"
    for block in document["blocks"]:
        block["id"], block["room"] = f"{tag}-{block['id']}", f"{tag}-{block['room']}"
        block["audience"] = sorted(set(block.get("audience", [])) | {tag})
        block["credentials"] = [f"{tag}-{c}" for c in block.get("credentials") or ["LADC", "LPC", "LCSW", "LMFT"]]
    for clinician in document["clinicians"]:
        clinician["id"] = f"{tag}-{clinician['id']}"
        clinician["credentials"] = [f"{tag}-{c}" for c in clinician["credentials"]]
        if clinician.get("sites"):
            clinician["sites"] = [f"{tag}-{s}" for s in clinician["sites"]]
    for patient in document["patients"]:
        patient["id"] = f"{tag}-{patient['id']}"
        patient["tags"] = sorted(set(patient.get("tags", [])) | {tag})
        patient.pop("admitted", None)  # each copy has its own dates; the program's are the first copy's
        patient.pop("discharge", None)
        if patient.get("sites"):
            patient["sites"] = [f"{tag}-{s}" for s in patient["sites"]]
        if patient.get("primary_clinician"):
            patient["primary_clinician"] = f"{tag}-{patient['primary_clinician']}"
    return document


def side_by_side(size: str, copies: int) -> dict:
    """`copies` generated programs (seeds 0, 2, 4, ...) as one independent-part program."""
    programs = [own_copy(generate(size, 2 * k), f"k{k}") for k in range(copies)]
    whole = programs[0]
    for other in programs[1:]:
        for key in ("rooms", "blocks", "clinicians", "patients"):
            whole[key] += other[key]
    return whole


def _median(values) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):g}" if known else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=40.0)
    args = parser.parse_args(argv)
    problem = problem_from_data(side_by_side(args.size, args.copies))
    rows: dict[bool, list[tuple]] = {True: [], False: []}
    for seed in range(args.seeds):
        for decompose in (True, False):
            started = time.monotonic()
            schedule = solve(problem, time_limit=args.time_limit, seed=seed, decompose=decompose)
            seconds = time.monotonic() - started
            violations = validate_schedule(problem, schedule.to_dict())
            tiers = {t["tier"]: t for t in schedule.stats["tiers"]}
            proof = tiers[1]["seconds"] if tiers[1]["status"] == "optimal" else None
            row = (schedule.stats["placed"], schedule.stats["placed_bound"], proof,
                   tiers.get(2, {}).get("value"), tiers.get(3, {}).get("value"), len(violations), seconds)
            rows[decompose].append(row)
            print(f"seed {seed} {'parts' if decompose else 'whole'}: placed {row[0]} bound {row[1]} "
                  f"proof {'never' if proof is None else f'{proof:.1f} s'} tier2 {row[3]} tier3 {row[4]} "
                  f"violations {row[5]} ({seconds:.1f} s)", flush=True)
    print(f"\n{len(problem.patients)} patients, {len(problem.blocks)} blocks; medians over {args.seeds} seeds")
    print("| solve | placed | bound | tier-1 proof | tier 2 | tier 3 | proofs |")
    print("|---|---|---|---|---|---|---|")
    for decompose in (True, False):
        runs = rows[decompose]
        proofs = sorted(math.inf if r[2] is None else r[2] for r in runs)  # not proven counts as never
        proof = proofs[(len(proofs) - 1) // 2]
        print(f"| {'part by part' if decompose else 'whole'} | {_median(r[0] for r in runs)} | "
              f"{_median(r[1] for r in runs)} | {'never' if proof == math.inf else f'{proof:.1f} s'} | "
              f"{_median(r[3] for r in runs)} | {_median(r[4] for r in runs)} | "
              f"{sum(p < math.inf for p in proofs)}/{len(runs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
