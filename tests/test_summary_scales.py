"""The summary with scales other than the NAO's five levels (issue 11.16: a three-level scale
lost the Dashboard's average figure and its label)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import openpyxl
import pytest

from cmrg_excel.core.framework import Level, Scale
from cmrg_excel.report.summary import SummarySettings, build_summary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_summary import summary_data, synthetic  # noqa: E402


def _on_scale(n_levels: int):
    answers, fw = synthetic(12, seed=5)
    scale = Scale(levels=tuple(Level(i, f"{i} Level{i}", f"Descriptor {i}") for i in range(n_levels)),
                  not_applicable=fw.scale.not_applicable,
                  not_applicable_descriptor=fw.scale.not_applicable_descriptor)
    fw = dataclasses.replace(fw, scale=scale)
    scored = ~answers["not_applicable"]
    answers.loc[scored, "score"] = answers.loc[scored, "score"].clip(upper=n_levels - 1)
    answers.loc[scored, "rating"] = [f"{int(s)} Level{int(s)}" for s in answers.loc[scored, "score"]]
    return answers, fw


@pytest.mark.parametrize("n_levels", [3, 4, 5, 6])
def test_every_headline_figure_keeps_its_label(tmp_path, n_levels):
    answers, fw = _on_scale(n_levels)
    result = build_summary(summary_data(answers, fw, "2026-27"), SummarySettings(), tmp_path / "s.xlsx")
    sheet = openpyxl.load_workbook(result.path)["Dashboard"]
    labels = [c.value for c in sheet[5] if isinstance(c.value, str)]
    assert "average maturity (all areas)" in labels, labels
    assert "contracts reviewed" in labels and "annual value covered" in labels
    figures = [c.value for c in sheet[4] if isinstance(c.value, (int, float))]
    assert len(figures) == 4, figures
