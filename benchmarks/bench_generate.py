"""Benchmark: generate 1,000 self-assessment workbooks (target: under 8 s on 2 cores).

Prints the median of several runs for the whole round (build, write, hash, ledger,
mail merge) and for building the workbook bytes alone. Run: python benchmarks/bench_generate.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from cmrg_excel.contracts import read_contracts
from cmrg_excel.framework import builtin_paths
from cmrg_excel.generate import build_template, generate_round, spec_for, write_contract_list
from cmrg_excel.workspace import init_workspace, open_workspace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contracts", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sample = read_contracts(next(builtin_paths()[0].parent.glob("sample-contracts.csv"))).contracts
    contracts = [replace(sample[i % len(sample)], contract_id=f"B-{i:05d}") for i in range(args.contracts)]
    whole, build = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            ws, _ = init_workspace(Path(tmp) / "ws")
            write_contract_list(ws.contracts_path, contracts)
            ws = open_workspace(ws.root)
            t0 = time.perf_counter()
            result = generate_round(ws, f"R{run}")
            whole.append(time.perf_counter() - t0)
            assert len(result.files) == args.contracts
            fw = ws.framework()
            t0 = time.perf_counter()
            for c in contracts:
                build_template(spec_for(ws, c, fw, "X", result.deadline))
            build.append(time.perf_counter() - t0)
    n = args.contracts
    print(f"contracts: {n}, framework: {fw.label} ({len(fw.activities)} activities), runs: {args.runs}")
    print(f"whole round (build + write + ledger): median {statistics.median(whole):.2f} s "
          f"({n / statistics.median(whole):.0f} files/s)  runs: {', '.join(f'{t:.2f}' for t in whole)}")
    print(f"build workbook bytes only:           median {statistics.median(build):.2f} s "
          f"({1000 * statistics.median(build) / n:.1f} ms per workbook)")
    target = 8.0
    verdict = "PASS" if statistics.median(whole) < target else "FAIL"
    print(f"target: 1,000 templates under {target:.0f} s -> {verdict}")
    sys.exit(0)


if __name__ == "__main__":
    main()
