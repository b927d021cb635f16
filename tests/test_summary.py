"""The summary workbook: figures recomputed independently, findings, progress, charts, safety."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from cmrg_excel.core.settings import SettingsError
from click.testing import CliRunner
from openpyxl.utils import get_column_letter, range_boundaries

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.kit.styles import row_height
from cmrg_excel.report.summary import SHEETS, SummaryError, SummarySettings, build_summary, load_summary_data
from cmrg_excel.programme.init import init_workspace
from cmrg_excel.core.workspace import open_workspace

from .conftest import make_contract

TODAY = dt.date(2026, 12, 1)
LONG = "Contract board minutes of 12/10/2026 record the review and decisions."
FORMULA_SUPPLIER = '=HYPERLINK("http://x","y")'


# --- building a register directly ------------------------------------------------------
class Reg:
    """A workspace whose register is filled row by row (no ingest needed)."""

    def __init__(self, tmp_path):
        ws, _ = init_workspace(tmp_path / "ws", council="Test Council", return_email="t@test.gov.uk", password="pw")
        self.ws = open_workspace(ws.root)
        self.fw = self.ws.framework()
        self.conn = reg.connect(self.ws.register_path)
        self.when = 0
        with reg.transaction(self.conn):
            reg.store_framework(self.conn, self.fw)

    def contract(self, cid, **kw):
        with reg.transaction(self.conn):
            reg.upsert_contract(self.conn, make_contract(cid, **kw))

    def issue(self, cid, rnd):
        self.when += 1
        token = f"tok-{cid}-{rnd}"
        with reg.transaction(self.conn):
            reg.record_issue(self.conn, reg.Issue(
                token=token, contract_id=cid, round=rnd, framework_id=self.fw.id,
                framework_version=self.fw.version, framework_hash=self.fw.content_hash, layout_version="1",
                kind="initial", file_path=f"outbox/{rnd}/{cid}.xlsx", file_sha256="0" * 64,
                generated_at=f"2026-01-01T00:00:{self.when:02d}+00:00", deadline=None, contract_snapshot={}))
        return token

    def submit(self, cid, rnd, score_of, evidence_of=None, change="new", actions=None):
        """score_of(ref) -> score or None (Not applicable)."""
        token = self.issue(cid, rnd)
        scale = self.fw.scale
        with reg.transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO submissions (file_sha256, original_name, stored_path, received_at, outcome, status, token,"
                " contract_id, round, framework_hash, attested_name, attested_on) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (f"{cid}-{rnd}".ljust(64, "0"), f"{cid}.xlsx", f"archive/{cid}.xlsx", "2026-11-20T10:30:00+00:00",
                 "accepted", "current", token, cid, rnd, self.fw.content_hash, "Jane Example", "2026-11-19"))
            sid = cur.lastrowid
            for i, act in enumerate(self.fw.activities):
                score = score_of(act.ref)
                label = scale.not_applicable if score is None else scale.label_of(score)
                evidence = (evidence_of(act.ref) if evidence_of else LONG)
                action, owner, target = (actions or {}).get(act.ref, ("", "", None))
                self.conn.execute(
                    "INSERT INTO answers (submission_id, ref, area, rating, score, not_applicable, evidence, action,"
                    " action_owner, target_date, change, sheet, row) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (sid, act.ref, act.area, label, score, int(score is None), evidence, action, owner, target,
                     change, "Self-assessment", 8 + i))

    def load(self, rnd=None):
        return load_summary_data(self.ws, rnd, today=TODAY)


def area_pattern(k: int):
    """Area 3 weakest (0/1), area 5 strongest (3/4), area 7 split (0 or 4), the rest 1/2 alternating."""
    def score(ref):
        area, num = (int(x) for x in ref.split("."))
        if area == 3:
            return (k + num) % 2
        if area == 5:
            return 3 + (k + num) % 2
        if area == 7:
            return 0 if k < 2 else 4
        if area == 8 and num == 2 and k == 0:
            return None  # Not applicable
        return 1 + (k + num) % 2
    return score


@pytest.fixture
def built(tmp_path):
    r = Reg(tmp_path)
    ids = ["C-0001", "C-0002", "C-0003", "C-0004", "C-0005"]
    for k, cid in enumerate(ids):
        r.contract(cid, title=f"Contract {k + 1}", directorate=["Adults", "Children", "Growth"][k % 3],
                   supplier=FORMULA_SUPPLIER if k == 0 else f"Supplier {k}", annual_value_gbp=100_000.0 * (k + 1))
    for k, cid in enumerate(ids):
        evidence = (lambda ref: "" if ref == "5.1" else LONG) if k == 0 else None
        actions = {"3.1": ("=cmd|' /C calc'!A0", "+owner", "2026-06-30"),
                   "3.2": ("Write the plan", "Jane", "2027-03-31")} if k == 1 else None
        r.submit(cid, "R1", area_pattern(k), evidence_of=evidence, actions=actions)
    r.contract("C-0006", title="Not returned")
    r.issue("C-0006", "R1")
    out = r.ws.outbox / "summary-R1.xlsx"
    data = r.load()
    result = build_summary(data, SummarySettings(), out)
    return r, result, out


def sheet_table(ws, header_row: int):
    """Rows of a sheet below header_row (1-based) as a DataFrame, reading until the first empty ID."""
    headers = [c.value for c in ws[header_row]]
    rows = []
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if row[0] is None:
            break
        rows.append(row)
    return pd.DataFrame(rows, columns=headers)


# --- the tests -------------------------------------------------------------------------
def test_opens_on_dashboard_with_every_sheet(built):
    _r, result, out = built
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == SHEETS
    assert wb.active.title == "Dashboard"
    assert result.contracts_reviewed == 5 and result.returns_outstanding == 1
    assert result.annual_value_gbp == pytest.approx(1_500_000)
    dash = wb["Dashboard"]
    assert dash["A4"].value == 5 and dash["C4"].value == 1 and dash["F4"].value == pytest.approx(1_500_000)
    for ws in wb:
        assert ws.page_setup.paperSize == 9, ws.title  # A4
        assert ws.page_setup.orientation == ("portrait" if ws.title == "Dashboard" else "landscape"), ws.title
        assert "Page &P of &N" in ws.oddFooter.right.text, ws.title
        # scaled to fit, with the footer sized to print at 8 points or more whatever the scale
        scale = ws.page_setup.scale or 100
        size = ws.oddFooter.right.size
        assert size * scale / 100 >= 8, ws.title


def test_heatmap_values_equal_independent_means(built):
    r, _result, out = built
    ans = reg.answers(r.ws, "R1")
    expect = ans.groupby(["contract_id", "area"])["score"].mean().unstack()
    overall = ans.groupby("contract_id")["score"].mean()
    ws = openpyxl.load_workbook(out)["Heatmap"]
    got = sheet_table(ws, 4).set_index("Contract ID")
    assert list(got.index) == sorted(expect.index)
    for area, name in [(a.number, a.name) for a in r.fw.areas]:
        col = got[f"{area} {name}"]
        for cid in expect.index:
            assert col[cid] == pytest.approx(expect.loc[cid, area]), (cid, area)
    assert got["Overall"].tolist() == pytest.approx(overall.loc[got.index].tolist())
    assert got["Annual value (£)"].tolist() == [100_000.0 * k for k in range(1, 6)]
    assert ws.freeze_panes == "C5"
    assert ws.tables["Heatmap"].ref == "A4:O9"
    assert ws.print_area == "'Heatmap'!$A$1:$L$9"  # printed up to Overall; directorate, value, supplier follow


def test_colour_scale_covers_exactly_the_heatmap_scores(built):
    _r, _result, out = built
    ws = openpyxl.load_workbook(out)["Heatmap"]
    rules = [(str(cf.sqref), rule) for cf in ws.conditional_formatting for rule in cf.rules]
    assert len(rules) == 1
    sqref, rule = rules[0]
    assert rule.type == "colorScale" and len(rule.colorScale.cfvo) == 3
    # 3 fixed columns (A-C), 8 areas (D-K) and Overall (L); contracts on rows 5-9
    assert sqref == "D5:L9"
    assert [c.value for c in ws["D4":"L4"][0]][-1] == "Overall"
    assert ws["C5"].value in ("High", "Medium", "Low") and ws["L10"].value is None


def test_findings_name_weakest_and_strongest_areas(built):
    _r, result, out = built
    areas = lambda items: [f.subject for f in items if f.level == "area"]  # noqa: E731
    assert areas(result.strengths) == ["Area 5, Managing performance"]
    assert areas(result.issues) == ["Area 3, Administration"]
    assert areas(result.inconsistencies) == ["Area 7, Risk"]
    weak = next(f for f in result.issues if f.level == "area")
    assert weak.count == 5 and weak.contracts == ["C-0001", "C-0002", "C-0003", "C-0004", "C-0005"]
    incons = next(f for f in result.inconsistencies if f.level == "area")
    assert set(incons.contracts) == {"C-0001", "C-0002", "C-0003", "C-0004", "C-0005"}
    assert [f.contracts for f in result.unsupported] == [["C-0001"]]
    assert "5.1" in result.unsupported[0].text

    wb = openpyxl.load_workbook(out)
    text = "\n".join(str(c.value) for row in wb["Findings"].iter_rows() for c in row if c.value is not None)
    rows = [[c.value for c in row] for row in wb["Findings"].iter_rows(max_col=3)]
    found = {(r_[1], r_[2]) for r_ in rows if r_[0] in ("Strength", "Issue", "Inconsistent", "No evidence")}
    assert ("Area 5, Managing performance", "A strength: 5 of 5 contracts (100%) average Good or better "
            "(area average 3.5).") in found
    assert ("Area 3, Administration", "Needs attention: 5 of 5 contracts (100%) average Developing or lower "
            "(area average 0.5).") in found
    assert any(about == "Area 7, Risk" and what.startswith("Rated very differently across contracts") for about, what
               in found)
    assert ("C-0001, Contract 1", "Claims 1 rating above Good with no evidence or under 20 characters of it: 5.1.") \
        in found
    # what a finding is about is said once, beside what was found, not again inside it
    assert all(about not in what for about, what in found)
    assert "1 workbook issued for this round has not been returned yet: C-0006" in text
    assert "cmrg.toml" not in text and "[summary]" not in text
    dash = "\n".join(str(c.value) for row in wb["Dashboard"].iter_rows() for c in row if c.value is not None)
    assert "Top strengths" in dash and "\u2022 Area 5, Managing performance is a strength" in dash
    assert "\u2022 Area 3, Administration needs attention" in dash


def test_thresholds_come_from_settings(built):
    r, _result, out = built
    res = build_summary(r.load(), SummarySettings(strength_share=1.01 - 0.01, issue_share=1.0,
                                                  inconsistency_sd=5.0, evidence_min_chars=200),
                        out.with_name("strict.xlsx"))
    assert [f.subject for f in res.inconsistencies] == []
    assert len(res.unsupported) == 5  # every Better/Best now has too little evidence
    with pytest.raises(SettingsError, match=r"\[summary\] top_n"):
        SummarySettings.from_section({"top_n": "five"})
    with pytest.raises(SettingsError, match="not a known setting"):
        SummarySettings.from_section({"strenght_share": 0.5})


def test_progress_deltas_for_two_rounds(tmp_path):
    r = Reg(tmp_path)
    r.contract("C-0001")
    r.contract("C-0002", title="Home care")
    r.contract("C-0003", title="New this round")
    base = lambda ref: 2  # noqa: E731
    r.submit("C-0001", "R1", base)
    r.submit("C-0002", "R1", base)
    # C-0001: area 3 up from 2 to 4 (+2), area 5 down from 2 to 1 (-1); C-0002 unchanged
    def later(ref):
        area = int(ref.split(".")[0])
        return 4 if area == 3 else 1 if area == 5 else 2
    r.submit("C-0001", "R2", later, change="changed")
    r.submit("C-0002", "R2", base, change="re-confirmed")
    r.submit("C-0003", "R2", base)
    out = tmp_path / "p.xlsx"
    result = build_summary(r.load("R2"), SummarySettings(), out)
    assert result.progress_contracts == 2
    wb = openpyxl.load_workbook(out)
    ws = wb["Progress"]
    table = ws.tables["ProgressByContract"]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    df = sheet_table(ws, min_row).set_index("Contract ID")
    assert list(df.index) == ["C-0001", "C-0002"] and max_row == min_row + 2
    assert df.loc["C-0001", "3 Administration"] == pytest.approx(2.0)
    assert df.loc["C-0001", "5 Managing performance"] == pytest.approx(-1.0)
    assert df.loc["C-0001", "1 Planning and governance"] == pytest.approx(0.0)
    assert (df.loc["C-0002"].iloc[2:-1] == 0).all()  # every area and all areas; the directorate is last
    assert df.loc["C-0001", "Previous round"] == "R1"
    n_acts = {a.number: len(a.activities) for a in r.fw.areas}
    total = sum(n_acts.values())
    expected_overall = (2 * n_acts[3] - 1 * n_acts[5]) / total
    assert df.loc["C-0001", "All areas"] == pytest.approx(round(expected_overall, 2))  # shown to 2 places
    # summary by area: improved / unchanged / declined counts
    rows = {ws.cell(r_, 2).value: [ws.cell(r_, c).value for c in range(3, 10)] for r_ in range(6, 15)}
    assert rows["Administration"][:4] == [2, 1, 1, 0]
    assert rows["Managing performance"][:4] == [2, 0, 1, 1]
    assert rows["Administration"][6] == pytest.approx(1.0)  # average change
    assert ws.cell(min_row + 1, 4).number_format == "+0.00;-0.00;0.00"
    # colour rules on the per-contract changes
    sq = [str(cf.sqref) for cf in ws.conditional_formatting]
    first_delta = f"D{min_row + 1}:L{max_row}"
    assert sq.count(first_delta) == 1
    # changed vs re-confirmed answers
    found = [[c.value for c in row] for row in ws.iter_rows() if row[0].value == "3" and row[2].value is not None]
    assert any(r_[2:5] == [6, 6, 0] for r_ in found), found
    # that table starts a new page, and its key spans it rather than being cut off in column A
    title_row = next(c.row for c in ws["A"] if str(c.value).startswith("How the answers were given"))
    assert [b.id for b in ws.row_breaks.brk] == [title_row - 1]
    key = next(c for c in ws["A"] if str(c.value).startswith("Changed: the owner altered"))
    assert any(key.coordinate in m and m.max_col >= 6 for m in ws.merged_cells.ranges)
    span = next(m for m in ws.merged_cells.ranges if key.coordinate in m)
    width = sum(ws.column_dimensions[get_column_letter(c)].width for c in range(span.min_col, span.max_col + 1))
    assert ws.row_dimensions[key.row].height >= row_height((key.value, width))


def _chart_refs(path):
    with zipfile.ZipFile(path) as z:
        charts = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        return {n: re.findall(r"<c:f>([^<]+)</c:f>", z.read(n).decode()) for n in charts}


def _resolve(wb, ref):
    sheet, rng = ref.rsplit("!", 1)
    ws = wb[sheet.strip("'")]
    min_col, min_row, max_col, max_row = range_boundaries(rng.replace("$", ""))
    return [c.value for row in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col)
            for c in row]


def test_charts_reference_the_right_ranges(built):
    r, _result, out = built
    refs = _chart_refs(out)
    assert len(refs) == 1  # the ratings chart; one round only, so no trend chart
    wb = openpyxl.load_workbook(out)
    names = [a.name for a in r.fw.areas]
    stacked = refs["xl/charts/chart1.xml"]
    assert _resolve(wb, "Dashboard!$B$9:$B$16") == names
    ans = reg.answers(r.ws, "R1")
    per_area = ans.groupby(["area", "contract_id"])["score"].mean().groupby("area").mean()
    assert _resolve(wb, "Dashboard!$C$9:$C$16") == pytest.approx(per_area.tolist())
    labels = r.fw.scale.labels
    assert len(stacked) == 3 * len(labels)
    for j, label in enumerate(labels):
        name, cats, vals = stacked[3 * j: 3 * j + 3]
        assert _resolve(wb, name) == [label]
        assert cats == "Dashboard!$B$9:$B$16"
        counts = ans[ans["rating"] == label].groupby("area").size().reindex(range(1, 9), fill_value=0)
        assert _resolve(wb, vals) == counts.tolist()


def test_trend_chart_references_progress_table(tmp_path):
    r = Reg(tmp_path)
    r.contract("C-0001")
    r.submit("C-0001", "R1", lambda ref: 1)
    r.submit("C-0001", "R2", lambda ref: 3, change="changed")
    out = tmp_path / "t.xlsx"
    build_summary(r.load("R2"), SummarySettings(), out)
    refs = _chart_refs(out)
    trend = refs["xl/charts/chart2.xml"]
    wb = openpyxl.load_workbook(out)
    names = [f"{a.number} {a.name}" for a in r.fw.areas]
    assert [_resolve(wb, trend[0]), _resolve(wb, trend[3])] == [["R1"], ["R2"]]
    assert _resolve(wb, trend[1]) == names
    assert _resolve(wb, trend[2]) == [1.0] * 8 and _resolve(wb, trend[5]) == [3.0] * 8


def test_formula_like_text_stays_text(built):
    _r, _result, out = built
    wb = openpyxl.load_workbook(out)
    hm = wb["Heatmap"]
    assert hm["O5"].value == FORMULA_SUPPLIER and hm["O5"].data_type == "s"
    acts = sheet_table(wb["Actions"], 4)
    assert "=cmd|' /C calc'!A0" in acts["Action"].tolist()
    assert "+owner" in acts["Action owner"].tolist()
    data = wb["Data"]
    suppliers = {c.value: c.data_type for c in data["C"][4:]}
    assert suppliers[FORMULA_SUPPLIER] == "s"
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml, name
        assert "HYPERLINK" not in z.read("xl/worksheets/_rels/sheet2.xml.rels").decode() \
            if "xl/worksheets/_rels/sheet2.xml.rels" in z.namelist() else True


def test_actions_flag_overdue_first(built):
    _r, result, out = built
    acts = sheet_table(openpyxl.load_workbook(out)["Actions"], 4)
    assert result.actions == 2 and result.overdue == 1
    assert acts["Status"].tolist() == ["Overdue", "Open"]
    assert acts["Target date"].iloc[0] == dt.datetime(2026, 6, 30)
    assert acts["Activity"].tolist() == ["3.1", "3.2"]


def test_directorates_and_data_sheet(built):
    r, _result, out = built
    wb = openpyxl.load_workbook(out)
    ans = reg.answers(r.ws, "R1")
    per = ans.groupby(["directorate", "contract_id", "area"])["score"].mean().groupby(["directorate", "area"]).mean()
    d = sheet_table(wb["Directorates"], 4).set_index("Directorate")
    assert d.loc["Growth", "Contracts"] == 1
    assert d.loc["Adults", "3 Administration"] == pytest.approx(per.loc[("Adults", 3)])
    data = wb["Data"]
    assert data.tables["Answers"].ref == f"A4:AD{len(ans) + 4}"
    assert data.print_area == "'Data'!$A$1:$F$2"  # the title and the note that it is not set to print
    assert "not set to print" in data["A2"].value
    rows = sheet_table(data, 4)
    assert len(rows) == len(ans) == 5 * 70
    assert rows["Rating cell"].iloc[0] == "D8" and rows["Sheet"].iloc[0] == "Self-assessment"
    assert rows["Target date"].notna().sum() == 2
    assert data["T5"].number_format == "dd/mm/yyyy"
    na = rows[rows["Rating"] == "Not applicable"]
    assert len(na) == 1 and pd.isna(na["Score"].iloc[0]) and na["Not applicable"].iloc[0] == "Yes"


def test_empty_register_and_round_without_returns(tmp_path):
    r = Reg(tmp_path)
    with pytest.raises(SummaryError, match="register is empty"):
        r.load()
    r.contract("C-0001")
    r.issue("C-0001", "R1")
    with pytest.raises(SummaryError, match="no accepted returns yet"):
        r.load()
    with pytest.raises(SummaryError, match="not in the register"):
        r.load("R9")


def test_build_refuses_empty_answers(built, tmp_path):
    r, _result, _out = built
    data = r.load()
    data.answers = data.answers.iloc[0:0]
    with pytest.raises(SummaryError, match="no accepted returns"):
        build_summary(data, SummarySettings(), tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_cli_writes_default_path_and_reports_errors(built, tmp_path):
    r, _result, out = built
    out.unlink()
    runner = CliRunner()
    res = runner.invoke(cli, ["summary", "-w", str(r.ws.root)])
    assert res.exit_code == 0, res.output
    assert "outbox/summary-R1.xlsx" in res.output and out.exists()
    assert "Strengths (" in res.output and "    - Area 5, Managing performance" in res.output
    custom = tmp_path / "pack.xlsx"
    res = runner.invoke(cli, ["summary", "-w", str(r.ws.root), "--round", "R1", "--out", str(custom)])
    assert res.exit_code == 0 and custom.exists()

    empty, _ = init_workspace(tmp_path / "empty", council="X", return_email="x@x.gov.uk", password="pw")
    res = runner.invoke(cli, ["summary", "-w", str(empty.root)])
    assert res.exit_code == 1
    assert "register is empty" in res.output


def test_markup_and_control_characters_survive(built, tmp_path):
    r, _result, _out = built
    data = r.load()
    odd = "Tea & <Biscuits> \"Ltd\" _x0041_ \x07bell"
    data.answers.loc[data.answers["contract_id"] == "C-0002", "title"] = odd
    data.answers.loc[data.answers["ref"] == "1.1", "evidence"] = "  leading and trailing spaces  "
    out = tmp_path / "odd.xlsx"
    build_summary(data, SummarySettings(), out)
    wb = openpyxl.load_workbook(out)
    titles = sheet_table(wb["Heatmap"], 4).set_index("Contract ID")["Title"]
    assert titles["C-0002"].startswith('Tea & <Biscuits> "Ltd" _x0041_ ')
    assert "bell" in titles["C-0002"]
    rows = sheet_table(wb["Data"], 4)
    assert rows.loc[rows["Activity"] == "1.1", "Evidence"].iloc[0] == "  leading and trailing spaces  "


def test_long_text_wraps_in_rows_tall_enough_to_show_it(built, tmp_path):
    """Titles, directorates, statements and actions wrap in rows tall enough to show them,
    rather than being cut off at the column edge on screen and on paper."""
    r, _result, _out = built
    data = r.load()
    long_title = "Supported living for adults with learning disabilities and autism (north and west)"
    long_dir = "Children, Young People and Education"
    data.answers.loc[data.answers["contract_id"] == "C-0002", "title"] = long_title
    data.answers.loc[data.answers["contract_id"] == "C-0002", "directorate"] = long_dir
    out = tmp_path / "long.xlsx"
    build_summary(data, SummarySettings(), out)
    wb = openpyxl.load_workbook(out)

    def row_of(ws, value, col=1):
        return next(c.row for c in ws[openpyxl.utils.get_column_letter(col)] if c.value == value)

    for sheet in ("Heatmap", "Activity heatmap"):
        ws = wb[sheet]
        row = row_of(ws, "C-0002")
        title = ws.cell(row, 2)
        assert title.value == long_title and title.alignment.wrap_text, sheet
        assert ws.row_dimensions[row].height and ws.row_dimensions[row].height >= 30, sheet
    # a one-line row keeps the default height
    heat = wb["Heatmap"]
    assert heat.row_dimensions[row_of(heat, "C-0003")].height is None
    acts = wb["Actions"]
    row = row_of(acts, "C-0002")
    statement = acts.cell(row, 3)
    assert statement.alignment.wrap_text and len(statement.value) > 74
    assert acts.row_dimensions[row].height >= 30
    # the title is there for filtering, after the printed columns, on one line
    assert acts.cell(row, 9).value == long_title and not acts.cell(row, 9).alignment.wrap_text
    assert acts.print_area.endswith("$H$" + str(acts.max_row))
    # Directorates: a long name wraps in a taller row; area headings fit their columns
    dirs = wb["Directorates"]
    row = row_of(dirs, long_dir)
    assert dirs.cell(row, 1).alignment.wrap_text
    assert dirs.column_dimensions["A"].width >= len(long_dir)
    areas = dirs.column_dimensions["D"]  # openpyxl reads D:L, of one width, as one range
    # the longest word of a heading fits its column (the heading wraps between words)
    assert areas.width >= len("Administration") - 1 and areas.max == 11


def test_dashboard_prints_on_two_portrait_pages_at_full_size(built):
    """Figures and chart on the first page, the findings in words on the second."""
    _r, _result, out = built
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert ws.page_setup.orientation == "portrait" and (ws.page_setup.scale or 100) >= 90  # about full size
    strengths = next(c.row for c in ws["A"] if c.value == "Top strengths")
    assert [b.id for b in ws.row_breaks.brk] == [strengths - 1]
    assert ws.print_area is not None


def test_end_to_end_generate_ingest_summary(issued):
    """The real pipeline: issued workbooks, two returned through ingest, one outstanding."""
    from cmrg_excel.intake.ingest import ingest

    from .returns import drop, filled

    ws, _gen = issued
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    drop(ws, "C-0002.xlsx", filled(ws, "C-0002"))
    ingest(ws)
    ans = reg.answers(ws, "R1")
    assert sorted(ans["contract_id"].unique()) == ["C-0001", "C-0002"]
    res = CliRunner().invoke(cli, ["summary", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    out = ws.outbox / "summary-R1.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb["Dashboard"]["A4"].value == 2 and wb["Dashboard"]["C4"].value == 1
    got = sheet_table(wb["Heatmap"], 4).set_index("Contract ID")
    expect = ans.groupby(["contract_id", "area"])["score"].mean().unstack()
    fw = ws.framework()
    for a in fw.areas:
        assert got[f"{a.number} {a.name}"].tolist() == pytest.approx(expect[a.number].tolist())
    data = sheet_table(wb["Data"], 4)
    assert len(data) == len(ans) and set(data["File SHA-256"]) == set(ans["file_sha256"])


def test_changes_never_show_minus_zero():
    """A fall too small to show (or float noise between equal averages) reads 0.00, not -0.00."""
    import math

    from cmrg_excel.report.summary.calc import rounded_change as _changes

    got = _changes(pd.Series([-1e-16, -0.004, 0.049, -0.0143, 2.0]))
    assert got.tolist() == [0.0, 0.0, 0.05, -0.01, 2.0]
    assert all(math.copysign(1.0, v) == 1.0 for v in got.tolist()[:2])
    assert math.copysign(1.0, _changes(2.1 - 2.1000000000000001 - 1e-12)) == 1.0
