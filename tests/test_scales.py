"""Custom rating scales work everywhere (issue 17.6): every scale the framework loader accepts
goes through every command, or the loader refuses it saying why.

The property test draws scales (two levels to seven; consecutive, with gaps such as 0/2/4,
0 to 100, negative scores; labels with and without their score) and runs a small review
programme on each through the command line: plan, generate, ingest (with corrections),
corrections, status, chase, summary, register export, a re-review round, meeting pack,
findings and the committee paper. Under CI=true Hypothesis draws the same scales every run
(tests/conftest.py); the scales the issue names are always among them (@example).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from unittest import mock

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cmrg_excel.cli import cli
from cmrg_excel.core import framework as F
from cmrg_excel.core.workspace import open_workspace
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.programme.init import init_workspace
from cmrg_excel.programme.simulate import fix_corrections, simulate_re_reviews, simulate_returns

from .conftest import QUICK_SETTLE, make_contract

WORDS = ["Absent", "Weak", "Emerging", "Fair", "Adequate", "Good", "Strong", "Better", "Best", "Leading"]


def _definition(levels: list[tuple[int, str]], na: str = "Not applicable") -> str:
    """A small framework (two areas, five activities) on this scale, as TOML text."""
    scale = "".join(f'[[scale.levels]]\nscore = {s}\nlabel = "{lb}"\ndescriptor = "Level {lb}."\n\n'
                    for s, lb in levels)
    acts = {1: ["1.1", "1.2", "1.3"], 2: ["2.1", "2.2"]}
    areas = "".join(
        f'[[areas]]\nnumber = {n}\nname = "Area {n}"\n\n' + "".join(
            f'[[areas.activities]]\nref = "{r}"\ntext = "Activity {r} is done."\nguidance = "Plan {r}"\n\n'
            for r in refs)
        for n, refs in acts.items())
    return (f'id = "custom-scale"\nversion = "1"\ntitle = "A framework on its own scale"\n\n'
            f'[scale]\nnot_applicable = "{na}"\n\n{scale}{areas}')


@st.composite
def scales(draw) -> list[tuple[int, str]]:
    n = draw(st.integers(2, 7))
    kind = draw(st.sampled_from(["consecutive", "gaps", "percent", "any"]))
    if kind == "consecutive":
        first = draw(st.integers(-3, 3))
        scores = list(range(first, first + n))
    elif kind == "gaps":
        step = draw(st.integers(2, 25))
        first = draw(st.integers(-2, 2)) * step
        scores = [first + step * i for i in range(n)]
    elif kind == "percent":
        scores = [round(100 * i / (n - 1)) for i in range(n)]
    else:
        scores = sorted(draw(st.lists(st.integers(-F.MAX_SCORE, F.MAX_SCORE), min_size=n, max_size=n, unique=True)))
    words = draw(st.permutations(WORDS))[:n]
    style = draw(st.sampled_from(["score word", "word", "word (score)", "score"]))
    labels = []
    for s, w in zip(scores, words):
        labels.append({"score word": f"{s} {w}", "word": w, "word (score)": f"{w} ({s})", "score": str(s)}[style])
    return list(zip(scores, labels))


def _workspace(tmp_path, text: str):
    ws, _ = init_workspace(tmp_path / "ws", council="Test Council", return_email="cmrg@test.gov.uk", password="pw")
    (ws.root / "frameworks" / "custom-scale.toml").write_text(text, encoding="utf-8")
    cfg = ws.root / "cmrg.toml"
    cfg.write_text(cfg.read_text().replace('framework = "nao-cm-areas-1-8"', 'framework = "custom-scale"')
                   .replace("\nsettle_seconds = 2\n", f"\nsettle_seconds = {QUICK_SETTLE}\n"))
    write_contract_list(ws.contracts_path, [
        make_contract("C-1"), make_contract("C-2", directorate="Adults", supplier="Care Co", title="Home care"),
        make_contract("C-3", directorate="Children", title="Meals", supplier="Meals Ltd", risk="Low"),
        make_contract("C-4", directorate="Adults", title="Day centres", supplier="Days Ltd"),
    ])
    return open_workspace(ws.root)


def _run(ws, *args) -> str:
    result = CliRunner().invoke(cli, [*args, "-w", str(ws.root)])
    assert result.exit_code == 0 and "Traceback" not in result.output, (args, result.output, result.exception)
    return result.output


def _figure_cell(dash):
    """The average maturity figure's cell and its merged block on the Dashboard."""
    label = next(c for row in dash.iter_rows(min_row=5, max_row=5) for c in row
                 if isinstance(c.value, str) and c.value.startswith("average maturity"))
    block = next(m for m in dash.merged_cells.ranges if m.min_row == 4 and m.min_col == label.column)
    return dash.cell(4, label.column), block, label


def _check_summary(ws, round: str, scale: F.Scale) -> None:
    wb = openpyxl.load_workbook(ws.outbox / f"summary-{round}.xlsx")
    dash = wb["Dashboard"]
    labels = {c.value.split(" (")[0]: c for row in dash.iter_rows(min_row=5, max_row=5) for c in row if c.value}
    assert {"contracts reviewed", "returns outstanding", "annual value covered", "average maturity"} <= set(labels)
    figure, block, label = _figure_cell(dash)
    assert isinstance(figure.value, (int, float)) and scale.min_score <= figure.value <= scale.max_score
    assert block.max_col > block.min_col and 11 <= figure.font.sz <= 22
    # the scale is said with the figure: "2.3 of 4", or in the label ("average maturity (all areas, 0 to 100)")
    if figure.number_format != f'0.0" of {scale.max_score}"':
        assert figure.number_format == "0.0" and label.value.endswith(f", {scale.min_score} to {scale.max_score})")
    # every merged block of the headline row is two cells or more, none overlapping (Excel repairs those)
    spans = sorted((m.min_col, m.max_col) for m in dash.merged_cells.ranges if m.min_row == m.max_row == 4)
    assert len(spans) == 4 and all(a < b for a, b in spans) and all(b1 < a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    subtitle = wb["Heatmap"]["A2"].value
    assert f"{scale.levels[-1].score} " in subtitle and "0 Not in place" not in subtitle


NAMED = {  # the scales issue 17 names, and issue 11's three levels
    "two levels": [(0, "No"), (1, "Yes")],
    "gaps 0/2/4": [(0, "0 Poor"), (2, "2 Fair"), (4, "4 Good")],
    "0 to 100": [(0, "Zero"), (25, "Quarter"), (50, "Half"), (75, "Most"), (100, "All")],
    "negative": [(-2, "Very weak"), (-1, "Weak"), (0, "Neutral"), (1, "Strong"), (2, "Very strong")],
    "three levels": [(1, "1 Low"), (2, "2 Medium"), (3, "3 High")],
}


def _programme(tmp_path, levels: list[tuple[int, str]]) -> None:
    """A small review programme on this scale through every command; or, when the loader
    refuses the scale, its reason (naming the key) from the command line, in one line."""
    text = _definition(levels)
    try:
        fw = F.parse(tomllib.loads(text), "custom-scale.toml")
    except F.FrameworkError as exc:
        assert re.match(r"custom-scale\.toml: key 'scale[^']*': ", str(exc)), exc
        ws = _workspace(tmp_path, text)
        result = CliRunner().invoke(cli, ["generate", "--round", "R1", "-w", str(ws.root)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "custom-scale.toml: key 'scale" in result.output
        return
    ws = _workspace(tmp_path, text)
    with mock.patch("cmrg_excel.kit.pdf.soffice", return_value=None):  # PDFs say nothing about scales
        _run(ws, "plan")
        _run(ws, "generate", "--round", "R1")
        simulate_returns(ws, "R1")
        _run(ws, "ingest")
        fix_corrections(ws, "R1")
        _run(ws, "ingest")
        _run(ws, "corrections")
        _run(ws, "status", "--round", "R1")
        _run(ws, "chase", "--round", "R1")
        _run(ws, "summary", "--round", "R1")
        _check_summary(ws, "R1", fw.scale)
        _run(ws, "register", "--out", str(ws.root / "register.xlsx"))
        _run(ws, "register", "--out", str(ws.root / "register.csv"))
        rows = list(openpyxl.load_workbook(ws.root / "register.xlsx").worksheets[0].iter_rows(values_only=True))
        assert len(rows) > 5
        _run(ws, "generate", "--round", "R2", "--prefill-from", "R1")
        simulate_re_reviews(ws, "R2")
        _run(ws, "ingest")
        _run(ws, "summary", "--round", "R2")
        _check_summary(ws, "R2", fw.scale)
        _run(ws, "status", "--round", "R2")
        today = dt.date.today()
        _run(ws, "meeting", "pack", "--date", f"{today:%d/%m/%Y}", "C-1", "C-2")
        period = ["--from", f"{today - dt.timedelta(days=30):%d/%m/%Y}", "--to", f"{today:%d/%m/%Y}"]
        _run(ws, "findings", *period)
        _run(ws, "report", *period)


@pytest.mark.parametrize("levels", list(NAMED.values()), ids=list(NAMED))
def test_every_command_works_on_the_scales_the_issue_names(tmp_path, levels):
    _programme(tmp_path, levels)


@example(levels=[(-1, "-1 Behind"), (0, "0 On track"), (1, "1 Ahead")])  # refused: "-1 ..." is a formula
@settings(max_examples=3, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(levels=scales())
def test_every_command_works_on_every_scale_the_loader_accepts(tmp_path_factory, levels):
    _programme(tmp_path_factory.mktemp("scale"), levels)


@pytest.mark.parametrize("label, how", [
    ("1", "as a number"), ("2.5", "as a number"), ("50%", "as a number"), ("£3", "as a number"),
    ("1-2", "as a date or fraction"), ("1/2", "as a date or fraction"), ("12:30", "as a time"),
    ("1 Jan", "as a date"), ("TRUE", "as a logical or error value"), ("#N/A", "as a logical or error value"),
    ("-2 Weak", "as a formula"), ("=1", "as a formula"), ("+1 Good", "as a formula"), ("@Best", "as a formula"),
])
def test_a_label_excel_would_not_keep_as_text_is_refused_saying_why(label, how):
    levels = [(0, "Weak"), (1, label)]
    with pytest.raises(F.FrameworkError) as err:
        F.parse(tomllib.loads(_definition(levels)), "custom-scale.toml")
    assert str(err.value).startswith(f"custom-scale.toml: key 'scale.levels[1].label': {label!r} would not stay "
                                     f"text: picked from the dropdown, Excel enters it {how}")
    with pytest.raises(F.FrameworkError) as err:
        F.parse(tomllib.loads(_definition([(0, "Weak"), (1, "Good")], na=label)), "custom-scale.toml")
    assert "key 'scale.not_applicable'" in str(err.value)


def test_words_that_merely_contain_numbers_or_months_stay_text():
    for label in ("0 Not in place", "2 Good", "Good (2)", "Level 1", "May", "N/A", "n/a", "Not applicable",
                  "4 Best", "Weak (-2)"):
        assert F.not_text_in_excel(label) is None, label


def test_scores_are_kept_within_a_million_either_way():
    for score, ok in ((F.MAX_SCORE, True), (-F.MAX_SCORE, True), (F.MAX_SCORE + 1, False), (-F.MAX_SCORE - 1, False)):
        levels = sorted([(score, "Edge"), (0 if score > 0 else 1, "Middle")])
        data = tomllib.loads(_definition(levels))
        if ok:
            assert F.parse(data).scale.levels
        else:
            with pytest.raises(F.FrameworkError, match=r"too large: keep scores between -1,000,000 and 1,000,000"):
                F.parse(data)


def test_levels_not_points_count_for_a_rise_in_a_re_review():
    """On 0/2/4 a rise of one level is two points: not 'two levels or more'; on 0-100, 25 points
    is one level. The rule counts levels."""
    from cmrg_excel.intake.check import Ledger, check

    from .rulebuilder import issue, ret

    for levels, (before, after), jump in (
        ([(0, "0 Poor"), (2, "2 Fair"), (4, "4 Good")], ("0 Poor", "2 Fair"), False),
        ([(0, "0 Poor"), (2, "2 Fair"), (4, "4 Good")], ("0 Poor", "4 Good"), True),
        ([(0, "Zero"), (25, "Quarter"), (50, "Half"), (75, "Most"), (100, "All")], ("Zero", "Quarter"), False),
        ([(0, "Zero"), (25, "Quarter"), (50, "Half"), (75, "Most"), (100, "All")], ("Zero", "Half"), True),
    ):
        fw = F.parse(tomllib.loads(_definition(levels)))
        carried = {"rating": before, "evidence": "Old plan"}
        iss = issue(fw=fw, round="R2", prefill_round="R1", prefill={a.ref: dict(carried) for a in fw.activities})
        rows = {a.ref: {**carried, "confirm": "Yes"} for a in fw.activities}
        rows["1.1"] = {"rating": after, "evidence": "Old plan"}
        res = check(ret(iss, fw, answers=rows), Ledger([iss], {fw.content_hash: fw}),
                    received=dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
        assert ("jump-without-evidence" in [p.code for p in res.problems]) is jump, (levels, before, after)


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["three levels", "0 to 100"])
def test_the_average_figure_shows_whole_in_libreoffice(tmp_path, name):
    """Issue 11.16: with three levels the figure kept its place but lost its label; a wide figure
    ("54.2 of 100") showed as ###. Printed through LibreOffice, page one shows every headline
    figure and its label, and no ###."""
    from cmrg_excel import register as reg
    from cmrg_excel.report.summary import SummarySettings, build_summary, load_summary_data

    from .libreoffice import convert_to_pdf, pdf_text, require_libreoffice
    from .test_summary import Reg

    require_libreoffice()
    levels = NAMED[name]

    class ScaleReg(Reg):
        def __init__(self):
            self.ws = _workspace(tmp_path, _definition(levels))
            self.fw = self.ws.framework()
            self.conn = reg.connect(self.ws.register_path)
            self.when = 0
            with reg.transaction(self.conn):
                reg.store_framework(self.conn, self.fw)

    r = ScaleReg()
    scores = [s for s, _ in levels]
    for k in range(4):
        r.contract(f"C-{k}", title=f"Contract {k}")
        r.submit(f"C-{k}", "R1", lambda ref, k=k: scores[(k + int(ref[-1])) % len(scores)])
    out = build_summary(load_summary_data(r.ws, "R1"), SummarySettings(), r.ws.outbox / "summary-R1.xlsx").path
    figure, _, label = _figure_cell(openpyxl.load_workbook(out)["Dashboard"])
    page = pdf_text(convert_to_pdf(out, tmp_path / "pdf")).split("\f")[0]
    assert "###" not in page
    assert f"{figure.value:.1f}" in page and "average maturity" in page and "contracts reviewed" in page
    assert f"{levels[0][0]} to {levels[-1][0]}" in label.value
