"""Property tests: mutate valid returns (cell values and raw bytes); the run never crashes and never
accepts a file whose values break the rules (checked by an independent oracle)."""

from __future__ import annotations

import datetime as dt
import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmrg_excel.kit import layout as L
from cmrg_excel.intake.check import check
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.intake.read import ReaderPool, limits_for, read_bytes
from cmrg_excel.programme.simulate import fill_return
from cmrg_excel.core.workspace import open_workspace

from .conftest import make_contract
from .returns import complete_answers, framework_of, issue_of, ledger
from .test_ingest_safety import assert_consistent, sha

LIMITS = limits_for(10 * 1024 * 1024)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from cmrg_excel.kit.contract_list import write_contract_list
    from cmrg_excel.programme.init import init_workspace
    from cmrg_excel.core.workspace import open_workspace

    ws, _ = init_workspace(tmp_path_factory.mktemp("fuzz") / "ws", password="pw")
    write_contract_list(ws.contracts_path, [make_contract("C-0001"), make_contract("C-0002", title="Care")])
    ws = open_workspace(ws.root)
    generate_round(ws, "R1")
    issue = issue_of(ws, "C-0001")
    fw = framework_of(ws, issue)
    answers = complete_answers(fw)
    att = {"name": "Jane", "role": "Manager", "date": dt.date.today(), "confirm": "Yes"}
    data = fill_return(ws.root / issue.file_path, answers, att)
    return ws, issue, fw, data, ledger(ws)


def oracle_violations(raw, issue, fw) -> list[str]:
    """The rules, written again independently of cmrg_excel.intake.check, over the values read."""
    out = []

    def blank(v):
        return v is None or (isinstance(v, str) and not v.strip())

    def txt(v):
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return "" if v is None else str(v).strip()

    def is_date(v):
        from cmrg_excel.intake.check import parse_date

        d = parse_date(v)[0]
        return d is not None

    if raw.meta is None or str(raw.meta.get("issue_token")) != issue.token:
        return ["identity"]
    for key in ("contract_id", "round", "framework_hash"):
        if str(raw.meta.get(key)) != str(getattr(issue, key)):
            out.append(f"meta {key}")
    if txt(raw.contract.get("contract_id")).casefold() != issue.contract_id.casefold():
        out.append("contract id")
    labels = {" ".join(lb.split()).casefold() for lb in fw.scale.labels}
    na = fw.scale.not_applicable.casefold()
    rows = {txt(r.ref): r for r in raw.rows}
    for act in fw.activities:
        r = rows.get(act.ref)
        if r is None:
            out.append(f"{act.ref} missing")
            continue
        v = r.values
        rating = v.get("rating")
        if not isinstance(rating, str) or " ".join(rating.split()).casefold() not in labels:
            out.append(f"{act.ref} rating")
            continue
        if " ".join(rating.split()).casefold() == na and blank(v.get("evidence")):
            out.append(f"{act.ref} n/a reason")
        if any(not blank(v.get(k)) for k in ("action", "action_owner", "target_date")):
            if blank(v.get("action")) or blank(v.get("action_owner")) or not is_date(v.get("target_date")):
                out.append(f"{act.ref} action")
        for k in ("evidence", "action", "action_owner"):
            if len(txt(v.get(k))) > L.MAX_TEXT[k]:
                out.append(f"{act.ref} {k} length")
    a = raw.attestation
    if blank(a.get("name")) or blank(a.get("role")) or not is_date(a.get("date")):
        out.append("attestation")
    if not isinstance(a.get("confirm"), str) or a.get("confirm").strip().casefold() != "yes":
        out.append("confirm")
    return out


def cell_targets(fw):
    rows = L.activity_rows(fw)
    refs = [a.ref for a in fw.activities]
    targets = []
    for ref in refs[:6] + refs[-3:]:
        for key in ("rating", "evidence", "action", "action_owner", "target_date"):
            targets.append((L.ASSESSMENT, f"{L.ASSESS_BY_KEY[key].letter}{rows[ref]}"))
    targets += [(L.ATTESTATION, f.cell) for f in L.ATTEST_FIELDS]
    targets += [(L.CONTRACT, L.contract_cell(k)) for k in ("contract_id", "title")]
    targets += [(L.META, L.meta_cell(k)) for k in ("issue_token", "round", "contract_id")]
    targets += [(L.ASSESSMENT, f"A{rows[refs[0]]}"), (L.ASSESSMENT, f"D{L.ASSESS_FIRST_ROW}")]
    return targets


VALUES = st.one_of(
    st.none(),
    st.sampled_from(["0 Not in place", "1 Developing", "2 Good", "3 Better", "4 Best", "Not applicable",
                     " 2  GOOD ", "Good", "Good-ish", "2", "Yes", "yes ", "No", "", "   ", "=1+1",
                     "31/03/2027", "31/03/27", "2027-02-30", "C-0002", "R2"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
    st.text(min_size=4001, max_size=4005, alphabet="ab"),
    st.integers(min_value=-10, max_value=100000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2110, 1, 1)),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_cell_mutations_never_crash_and_never_accept_a_broken_file(base, data):
    ws, issue, fw, valid, led = base
    targets = cell_targets(fw)
    chosen = data.draw(st.lists(st.sampled_from(targets), min_size=1, max_size=4, unique=True))
    cells = {t: data.draw(VALUES) for t in chosen}
    mutated = fill_return(valid, {}, None, None, cells)
    res = read_bytes(mutated, LIMITS, "C-0001.xlsx")
    assert res.raw is not None, res.error
    result = check(res.raw, led, file_name="C-0001.xlsx")
    if result.ok:
        assert oracle_violations(res.raw, issue, fw) == [], cells
        assert len(result.answers) == len(fw.activities)
        for a in result.answers:
            assert a.rating in fw.scale.labels
    for p in result.problems:  # every problem is actionable: a message, and a cell when it is about one
        assert p.message
        if p.ref:
            assert p.sheet == L.ASSESSMENT and p.cell


def mutate_bytes(data: bytes, rng: random.Random, kind: str) -> bytes:
    b = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del b[rng.randrange(1, len(b)):]
    elif kind == "insert":
        i = rng.randrange(len(b))
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == "zero":
        i = rng.randrange(len(b))
        b[i:i + rng.randint(1, 512)] = bytes(min(512, len(b) - i))
    return bytes(b)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), kinds=st.lists(st.sampled_from(["flip", "truncate", "insert", "zero"]),
                                                      min_size=4, max_size=4))
def test_byte_mutations_never_crash_and_never_accept_a_broken_file(base, tmp_path_factory, seed, kinds):
    ws, issue, fw, valid, led = base
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("bytes")
    paths = []
    for i, kind in enumerate(kinds):
        p = folder / f"m{i}.xlsx"
        p.write_bytes(mutate_bytes(valid, rng, kind))
        paths.append(p)
    with ReaderPool(workers=2, memory_mb=512, timeout=30, limits=LIMITS) as pool:
        results = list(pool.read(paths))
    assert len(results) == len(paths)
    for res in results:
        if res.raw is None:
            assert res.error or res.fatal or res.crashed
            continue
        result = check(res.raw, led, file_name="C-0001.xlsx")
        if result.ok:
            assert oracle_violations(res.raw, issue, fw) == []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_inbox_end_to_end(base, tmp_path_factory, seed):
    """A whole run over valid, cell-mutated and byte-mutated files: no crash, every file in one place,
    and what the register holds obeys the rules."""
    ws, issue, fw, valid, led = base
    # Each example on its own copy of the workspace: examples must not see each other's files (two
    # examples can make the same bytes, a duplicate of a file the other filed).
    root = tmp_path_factory.mktemp("inbox") / "ws"
    shutil.copytree(ws.root, root)
    ws = open_workspace(root)
    rng = random.Random(seed)
    targets = cell_targets(fw)
    originals = {}
    for i in range(4):
        cells = {rng.choice(targets): rng.choice(["Good-ish", "", "2 good", dt.date(2031, 1, 1), 7, "Yes"])}
        data = fill_return(valid, {}, None, None, cells)
        if i % 2:
            data = mutate_bytes(data, rng, rng.choice(["flip", "truncate", "insert"]))
        if sha(data) in originals:  # the same bytes twice are a duplicate, proved elsewhere; keep one
            continue
        name = f"fuzz-{seed}-{i}.xlsx"
        (ws.inbox / name).write_bytes(data)
        originals[sha(data)] = name
    result = ingest(ws, write_report=False)
    assert all(f.outcome in ("accepted", "rejected", "duplicate") for f in result.files)
    assert_consistent(ws, originals)
    from cmrg_excel.register import answers

    df = answers(ws, include_superseded=True)
    labels = set(fw.scale.labels)
    assert set(df.rating) <= labels
    na = df[df.rating == fw.scale.not_applicable]
    assert (na.evidence.str.strip() != "").all()
