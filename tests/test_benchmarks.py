"""The benchmark script runs and prints its whole table (a smoke test: no timing is checked)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_benchmark_script_prints_every_row():
    result = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 18 + 2  # header, 18 comparisons, memory and import time
    for line in table[1:-2]:
        difference = float(line.split("|")[6])
        assert difference < 1e-8, f"emlab and the reference disagree: {line}"
