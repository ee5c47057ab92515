"""The measuring scripts' rows: printed as an aligned table, optionally written as CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional, Sequence


def show(rows: Sequence[dict], columns: Sequence[str], csv_path: Optional[Path] = None, width: int = 12) -> None:
    """Print `rows` under `columns`, each right-aligned to `width`; write them to `csv_path` too when given."""
    print("  ".join(f"{c:>{width}}" for c in columns))
    for row in rows:
        print("  ".join(f"{str(row[c]):>{width}}" for c in columns))
    if csv_path:
        with csv_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
