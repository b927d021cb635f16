"""Benchmark: generate 1,000 self-assessment workbooks (target: under 8 s on 2 cores).

Prints the median of several runs for the whole round (stamp or build, write, hash,
ledger, mail merge), and per workbook on one core: stamping it from a base (cmrg_excel/issue/stamp.py,
what a round does for fresh templates; bases included) and building it with build_template
(what the bases, and carried-forward or corrections workbooks, cost).
Run: python benchmarks/bench_generate.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from cmrg_excel.core.contracts import read_contracts
from cmrg_excel.core.framework import builtin_paths
from cmrg_excel.issue.generate import generate_round, spec_for
from cmrg_excel.issue.template import build_template
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.issue.stamp import Stamper
from cmrg_excel.programme.init import init_workspace
from cmrg_excel.core.workspace import open_workspace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contracts", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build-sample", type=int, default=200, help="workbooks built with build_template per run")
    args = ap.parse_args()
    sample = read_contracts(next(builtin_paths()[0].parent.glob("sample-contracts.csv"))).contracts
    contracts = [replace(sample[i % len(sample)], contract_id=f"B-{i:05d}") for i in range(args.contracts)]
    whole, stamp, build = [], [], []
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
            specs = [spec_for(ws, c, fw, "X", result.deadline) for c in contracts]
            stamper = Stamper()
            t0 = time.perf_counter()
            for spec in specs:
                stamper.build(spec)
            stamp.append((time.perf_counter() - t0) / len(specs))
            assert stamper.stamped == len(specs)
            to_build = specs[: args.build_sample]
            t0 = time.perf_counter()
            for spec in to_build:
                build_template(spec)
            build.append((time.perf_counter() - t0) / len(to_build))
    n = args.contracts
    print(f"contracts: {n}, framework: {fw.label} ({len(fw.activities)} activities), runs: {args.runs}")
    print(f"whole round (stamp + write + ledger): median {statistics.median(whole):.2f} s "
          f"({n / statistics.median(whole):.0f} files/s)  runs: {', '.join(f'{t:.2f}' for t in whole)}")
    print(f"stamp one workbook, one core:         median {1000 * statistics.median(stamp):.1f} ms "
          f"({stamper.bases} bases for {n} workbooks, included)")
    print(f"build one workbook, one core:         median {1000 * statistics.median(build):.1f} ms "
          f"(build_template, {len(to_build)} workbooks)")
    target = 8.0
    verdict = "PASS" if statistics.median(whole) < target else "FAIL"
    print(f"target: 1,000 templates under {target:.0f} s -> {verdict}")
    sys.exit(0)


if __name__ == "__main__":
    main()
