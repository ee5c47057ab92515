"""The repository root on sys.path, so tests can use `benchmarks` (the generator) without installing it."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
