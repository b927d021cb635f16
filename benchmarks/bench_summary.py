"""Benchmark: the summary workbook for 1,000 contracts x 2 rounds x all 70 activities.

Target: under 3 s on a 2-core machine (median of several runs), for build_summary on
DataFrames already loaded (the register read is a separate, SQL-bound step).

    python benchmarks/bench_summary.py                 # 1,000 contracts, 5 runs
    python benchmarks/bench_summary.py --contracts 200 --runs 3
    python benchmarks/bench_summary.py --render docs/images   # README pictures via LibreOffice
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cmrg_excel.core.framework import find
from cmrg_excel.register import ANSWER_COLUMNS
from cmrg_excel.report.summary import SummaryData, SummarySettings, build_summary

DIRECTORATES = ["Adult Social Care", "Children's Services", "Growth, Environment and Transport",
                "Chief Executive's Department", "Public Health"]
TITLES = ["Highways maintenance", "Home care", "School meals", "Waste collection", "Street lighting",
          "IT managed service", "Facilities management", "Leisure centres", "Supported living", "Fleet hire",
          "Parking enforcement", "Library services", "Grounds maintenance", "Legal services"]
SUPPLIERS = ["Example Roads Ltd", "Care Co", "Meals Ltd", "CleanCity plc", "BrightLights Ltd", "Datacore Ltd",
             "FM Partners", "ActiveLife Trust", "Homes Together", "Fleet Direct", "ParkRight", "=HYPERLINK(\"http://x\",\"y\")"]
# Area effects make the picture realistic: Administration (3) weakest, Managing performance (5) strongest.
AREA_SHIFT = {1: 0.2, 2: 0.0, 3: -0.9, 4: 0.3, 5: 0.8, 6: -0.2, 7: -0.4, 8: 0.1}


def synthetic(n_contracts: int = 1000, rounds=("2025-26", "2026-27"), seed: int = 7,
              framework: str = "nao-cm-areas-1-8") -> tuple[pd.DataFrame, object]:
    """Answers with exactly register.ANSWER_COLUMNS for n contracts in every round."""
    fw = find(framework)
    rng = np.random.default_rng(seed)
    acts = fw.activities
    labels = {lv.score: lv.label for lv in fw.scale.levels}
    ids = [f"C-{i:04d}" for i in range(1, n_contracts + 1)]
    base = rng.normal(1.8, 0.6, n_contracts)
    contracts = pd.DataFrame({
        "contract_id": ids,
        "title": [TITLES[i % len(TITLES)] + f" {i // len(TITLES) + 1}" for i in range(n_contracts)],
        "supplier": [SUPPLIERS[i % len(SUPPLIERS)] for i in range(n_contracts)],
        "directorate": [DIRECTORATES[i % len(DIRECTORATES)] for i in range(n_contracts)],
        "owner_name": [f"Owner {i}" for i in range(n_contracts)],
        "annual_value_gbp": np.round(rng.lognormal(13, 1.2, n_contracts), -2),
        "risk": rng.choice(["High", "Medium", "Low"], n_contracts),
        "complexity": rng.choice(["High", "Medium", "Low"], n_contracts),
    })
    frames = []
    for k, rnd in enumerate(rounds):
        n_a = len(acts)
        cid = np.repeat(np.arange(n_contracts), n_a)
        area = np.tile([a.area for a in acts], n_contracts)
        shift = np.vectorize(AREA_SHIFT.get)(area, 0.0)
        raw = base[cid] + shift + 0.35 * k + rng.normal(0, 0.7, len(cid))
        score = np.clip(np.rint(raw), 0, 4)
        na = rng.random(len(cid)) < 0.04
        df = contracts.iloc[cid].reset_index(drop=True)
        df["round"] = rnd
        df["framework_id"] = fw.id
        df["framework_version"] = fw.version
        df["area"] = area
        df["area_name"] = np.tile([fw.area(a.area).name for a in acts], n_contracts)
        df["ref"] = np.tile([a.ref for a in acts], n_contracts)
        df["activity"] = np.tile([a.text for a in acts], n_contracts)
        df["score"] = np.where(na, np.nan, score)
        df["rating"] = [fw.scale.not_applicable if n else labels[int(s)] for s, n in zip(score, na)]
        df["not_applicable"] = na
        short = rng.random(len(cid)) < 0.05
        df["evidence"] = np.where(short, "", "Monthly performance report to the contract board, minutes on file.")
        need = (score <= 1) & ~na
        df["action"] = np.where(need, "Agree an improvement plan with the supplier and report progress.", "")
        df["action_owner"] = np.where(need, "Contract manager", "")
        df["target_date"] = pd.to_datetime(np.where(need, "2026-09-30", None))
        df["change"] = "new" if k == 0 else rng.choice(["changed", "re-confirmed"], len(cid), p=[0.4, 0.6])
        df["submission_id"] = cid + 1 + k * n_contracts
        df["submission_status"] = "current"
        df["token"] = [f"tok{k}-{c}" for c in cid]
        df["file_sha256"] = [f"{(c * 7919 + k):064x}" for c in cid]
        df["sheet"] = "Self-assessment"
        df["rating_cell"] = "D" + pd.Series(np.tile(np.arange(8, 8 + n_a), n_contracts)).astype(str)
        df["evidence_cell"] = "E" + pd.Series(np.tile(np.arange(8, 8 + n_a), n_contracts)).astype(str)
        df["received_at"] = pd.Timestamp("2026-11-20 10:30", tz="UTC")
        df["attested_name"] = df["owner_name"]
        df["attested_on"] = "2026-11-19"
        frames.append(df[ANSWER_COLUMNS])
    return pd.concat(frames, ignore_index=True), fw


def summary_data(all_answers: pd.DataFrame, fw, round_: str, outstanding: int = 0) -> SummaryData:
    ans = all_answers[all_answers["round"] == round_].reset_index(drop=True)
    ids = sorted(ans["contract_id"].unique())
    extra = [f"X-{i:04d}" for i in range(outstanding)]
    issues = pd.DataFrame({"token": ids + extra, "contract_id": ids + extra, "round": round_, "status": "issued"})
    return SummaryData(
        answers=ans, all_answers=all_answers, issues=issues, submissions=pd.DataFrame(), scale=fw.scale,
        round=round_, council="Example County Council", today=dt.date(2026, 12, 1),
        rounds=list(dict.fromkeys(all_answers["round"])), areas=[(a.number, a.name) for a in fw.areas],
        activities=[(x.ref, x.area, x.text) for x in fw.activities], framework_label=fw.label,
    )


def bench(n: int, runs: int) -> float:
    answers, fw = synthetic(n)
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            data = summary_data(answers, fw, "2026-27")
            t0, c0 = time.perf_counter(), time.process_time()
            res = build_summary(data, SummarySettings(), Path(tmp) / "summary.xlsx")
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            size = res.path.stat().st_size
            print(f"run {i + 1}: {times[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU  ({size / 1e6:.1f} MB, "
                  f"{res.contracts_reviewed} contracts, {len(data.answers):,} answers, {res.actions:,} actions)")
    med = statistics.median(times)
    print(f"median of {runs}: {med:.2f} s wall ({statistics.median(cpu):.2f} s CPU; load average "
          f"{os.getloadavg()[0]:.1f}) for {n:,} contracts x 2 rounds x {answers['ref'].nunique()} activities "
          f"(target < 3 s) {'PASS' if med < 3 else 'FAIL'}")
    return med


def fill_register(ws, answers: pd.DataFrame, fw) -> None:
    """Write synthetic answers into a workspace's SQLite register, as ingest would have filed them."""
    from cmrg_excel import register as reg

    conn = reg.connect(ws.register_path)
    with reg.transaction(conn):
        reg.store_framework(conn, fw)
        first = answers.drop_duplicates("contract_id")
        conn.executemany(
            "INSERT INTO contracts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(r.contract_id, r.title, r.supplier, r.directorate, r.owner_name, "o@x.gov.uk",
              float(r.annual_value_gbp), float(r.annual_value_gbp) * 5, r.risk, r.complexity, "{}", "2026-01-01")
             for r in first.itertuples()])
        subs = answers.drop_duplicates(["contract_id", "round"])
        # each round received a year after the one before, ending 20/11/2026
        rounds = list(dict.fromkeys(answers["round"]))
        received = {rnd: f"{2026 - len(rounds) + 1 + i}-11-20T10:30:00+00:00" for i, rnd in enumerate(rounds)}
        for k, r in enumerate(subs.itertuples()):
            conn.execute(
                "INSERT INTO issues (token, contract_id, round, framework_id, framework_version, framework_hash,"
                " layout_version, kind, file_path, file_sha256, generated_at, contract_snapshot) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (r.token, r.contract_id, r.round, fw.id, fw.version, fw.content_hash, "1", "initial", "x",
                 r.file_sha256, f"{r.round}T00:00:00", "{}"))
            conn.execute(
                "INSERT INTO submissions (id, file_sha256, original_name, stored_path, received_at, outcome, status,"
                " token, contract_id, round, framework_hash, attested_name, attested_on) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (int(r.submission_id), r.file_sha256, "f.xlsx", "archive/f.xlsx", received[r.round],
                 "accepted", "current", r.token, r.contract_id, r.round, fw.content_hash, r.attested_name,
                 r.attested_on))
        conn.executemany(
            "INSERT INTO answers (submission_id, ref, area, rating, score, not_applicable, evidence, action,"
            " action_owner, target_date, change, sheet, row) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(int(r.submission_id), r.ref, int(r.area), r.rating, None if r.score != r.score else float(r.score),
              int(r.not_applicable), r.evidence, r.action, r.action_owner,
              None if pd.isna(r.target_date) else r.target_date.date().isoformat(), r.change, r.sheet,
              int(r.rating_cell[1:])) for r in answers.itertuples()])
    conn.close()


def bench_register(n: int, runs: int) -> float:
    """End to end, as `cmrg summary` runs: read the SQLite register, then build."""
    from cmrg_excel.report.summary import load_summary_data
    from cmrg_excel.programme.init import init_workspace

    answers, fw = synthetic(n)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        ws, _ = init_workspace(Path(tmp) / "ws", council="Bench Council", return_email="b@b.gov.uk", password="pw")
        fill_register(ws, answers, fw)
        for i in range(runs):
            t0 = time.perf_counter()
            data = load_summary_data(ws)
            t1 = time.perf_counter()
            build_summary(data, SummarySettings(), ws.outbox / "summary.xlsx")
            times.append(time.perf_counter() - t0)
            print(f"run {i + 1}: {times[-1]:.2f} s (register read {t1 - t0:.2f} s)")
    med = statistics.median(times)
    print(f"end to end median of {runs}: {med:.2f} s")
    return med


def render(out_dir: Path) -> None:
    """Dashboard and Heatmap pictures for the README, through LibreOffice."""
    answers, fw = synthetic(28, seed=3)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_summary(summary_data(answers, fw, "2026-27", outstanding=3), SummarySettings(), tmp / "summary.xlsx")
        profile = f"file:///tmp/lo-profile-summary-{os.getpid()}"
        subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(tmp), str(tmp / "summary.xlsx")], check=True, capture_output=True, timeout=180)
        for page, name in ((1, "summary-dashboard"), (2, "summary-heatmap")):
            subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile",
                            str(tmp / "summary.pdf"), str(out_dir / name)], check=True)
            print(out_dir / f"{name}.png", (out_dir / f"{name}.png").stat().st_size, "bytes")
        shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contracts", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--render", type=Path, help="write the README pictures to this folder and stop")
    ap.add_argument("--register", action="store_true",
                    help="also time the whole command: reading a SQLite register, then building")
    args = ap.parse_args()
    if args.render:
        render(args.render)
        return 0
    ok = bench(args.contracts, args.runs) < 3
    if args.register:
        bench_register(args.contracts, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
