"""Benchmark: the review group's documents, drafted from the register (no PDF).

Targets on a 2-core machine (medians of several runs):
- the committee paper for a register of 1,000 contracts over two rounds: under 5 s, from
  opening the SQLite register to the .docx written;
- the meeting pack for a meeting of 4 contracts, from the same register: under 2 s.

    python benchmarks/bench_review.py                  # 1,000 contracts, 3 runs
    python benchmarks/bench_review.py --contracts 50 --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_summary import fill_register, synthetic  # noqa: E402

from cmrg_excel.kit.contract_list import write_contract_list  # noqa: E402
from cmrg_excel.kit.document import write_docx  # noqa: E402
from cmrg_excel.programme.init import init_workspace  # noqa: E402
from cmrg_excel.report.committee import write_report  # noqa: E402
from cmrg_excel.review.pack import meeting_pack, meeting_pack_data  # noqa: E402
from cmrg_excel.core.workspace import open_workspace  # noqa: E402


def median_of(runs: int, fn) -> tuple[float, list[float], float]:
    """Median wall time, every wall time, and the median CPU time of this process (which a busy
    machine inflates far less than wall time)."""
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), times, statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contracts", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    answers, fw = synthetic(args.contracts)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ws, _ = init_workspace(Path(tmp) / "ws", council="Bench Council", return_email="b@b.gov.uk", password="pw")
        fill_register(ws, answers, fw)
        # the contract list the plan reads for "reviews planned next"
        from cmrg_excel.core.contracts import Contract

        first = answers.drop_duplicates("contract_id")
        write_contract_list(ws.contracts_path, [Contract(
            contract_id=r.contract_id, title=r.title, supplier=r.supplier, directorate=r.directorate,
            owner_name=r.owner_name, owner_email="o@x.gov.uk", annual_value_gbp=float(r.annual_value_gbp),
            total_value_gbp=float(r.annual_value_gbp) * 5, start_date=dt.date(2024, 4, 1),
            end_date=dt.date(2029, 3, 31), risk=r.risk, complexity=r.complexity, recommission_date=None,
            audit_synergy=False, last_review_date=None) for r in first.itertuples()])
        ws = open_workspace(ws.root)
        print(f"setup: {args.contracts:,} contracts x 2 rounds x {answers['ref'].nunique()} activities "
              f"({len(answers):,} answers) in a SQLite register")

        out = ws.outbox / "paper.docx"
        med, times, cpu = median_of(args.runs,
                                    lambda: write_report(ws, dt.date(2026, 6, 1), dt.date(2026, 11, 30), out))
        print(f"committee paper: {', '.join(f'{t:.2f}' for t in times)} s; median of {args.runs}: {med:.2f} s "
              f"wall, {cpu:.2f} s CPU "
              f"({out.stat().st_size / 1e3:.0f} KB) (target < 5 s) {'PASS' if med < 5 else 'FAIL'}")
        ok &= med < 5

        ids = list(first["contract_id"][:4])
        pack_out = ws.outbox / "pack.docx"

        def pack() -> None:
            data = meeting_pack_data(ws, dt.date(2027, 1, 12), ids)
            write_docx(meeting_pack(data, fw), pack_out)

        med, times, cpu = median_of(args.runs, pack)
        print(f"meeting pack, {len(ids)} contracts: {', '.join(f'{t:.2f}' for t in times)} s; median of "
              f"{args.runs}: {med:.2f} s wall, {cpu:.2f} s CPU (target < 2 s) {'PASS' if med < 2 else 'FAIL'}")
        ok &= med < 2
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
