"""The benchmarks still run: each one with a handful of files, so a refactor cannot break them silently.

The figures printed are meaningless at this size (and the targets may FAIL); what is checked is that
every benchmark runs to its end, prints its figures and its verdict, and raises nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def run(script: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


SMOKE = {
    "bench_generate.py": (["--contracts", "4", "--runs", "1", "--build-sample", "2"],
                          [r"contracts: 4, framework: ", r"whole round .* files/s", r"target: .* -> (PASS|FAIL)"]),
    "bench_ingest.py": (["--files", "6", "--baseline", "3", "--repeat", "1", "--memory-files", "0"],
                        [r"setup: 6 issued \+ filled returns", r"straightforward .* files/s",
                         r"cmrg ingest .* 6 files, median of 1 runs", r"CPU per file by stage",
                         r"target >= 500 files/s: (PASS|FAIL)"]),
    "bench_review.py": (["--contracts", "6", "--runs", "1"],
                        [r"committee paper: .* median of 1: [0-9.]+ s wall, [0-9.]+ s CPU \(.*\) \(target < 5 s\) (PASS|FAIL)",
                         r"meeting pack, 4 contracts: .* \(target < 2 s\) (PASS|FAIL)"]),
    "bench_review.py": (["--contracts", "6", "--runs", "1"],
                        [r"setup: 6 contracts x 2 rounds", r"committee paper: .* \(target < 5 s\) (PASS|FAIL)",
                         r"meeting pack, 4 contracts: .* \(target < 2 s\) (PASS|FAIL)"]),
    "bench_summary.py": (["--contracts", "6", "--runs", "1", "--register"],
                         [r"median of 1: [0-9.]+ s wall .* \(target < 3 s\) (PASS|FAIL)",
                          r"end to end median of 1: [0-9.]+ s"]),
}


def test_every_benchmark_has_a_smoke_test():
    assert sorted(p.name for p in BENCHMARKS.glob("bench_*.py")) == sorted(SMOKE)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_to_its_verdict_with_a_handful_of_files(script, tmp_path):
    args, expect = SMOKE[script]
    out = run(script, *args, tmp_path=tmp_path)
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert out.returncode in (0, 1), (out.returncode, out.stderr[-3000:])  # 1: a target not met at this size
    for pattern in expect:
        assert re.search(pattern, out.stdout), (pattern, out.stdout)
