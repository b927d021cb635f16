"""``cmrg summary``: its options and one-screen summary over :mod:`cmrg_excel.report.summary`."""

from __future__ import annotations

from pathlib import Path

import click

from ..report.summary import SummaryError, SummarySettings, build_summary, load_summary_data
from ..core.terminal import clip
from .base import EXIT_INPUT, command, fail, file_error, friendly_errors, load, out_target, rel, workspace_option


@command("summary")
@click.option("--round", "round_", metavar="ROUND",
              help="Round to summarise, e.g. 2026-27. Default: the latest round with accepted returns.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to write the workbook: a file name ending .xlsx, from the current folder (not the "
                   "workspace). Default: outbox/summary-ROUND.xlsx in the workspace. A file already at --out is "
                   "kept unless --force; a file cmrg keeps never is.")
@click.option("--force", is_flag=True, help="Replace a file already at --out (never one cmrg keeps).")
@workspace_option
@friendly_errors
def summary_cmd(round_: str | None, out: Path | None, force: bool, workspace: Path | None) -> None:
    """Write the summary workbook for finance staff and the committee.

    It opens on a one-page Dashboard (contracts reviewed, returns outstanding, value
    covered, average maturity by area, how activities were rated, top strengths and
    issues), then: Heatmap (contracts x areas), Findings in plain English, Progress
    since earlier reviews, Directorates, Actions (overdue first), Benefits (every
    benefit from benefits.xlsx and the meeting records, with the totals by type),
    Activity heatmap and Data (every answer with its source file and cell, ready for
    pivot tables).

    Every figure is recomputed from the accepted answers in the register. Thresholds
    for the findings are in cmrg.toml under [summary]. The summary in outbox/ is
    replaced each time (close it in Excel first); a file already at --out is kept
    unless --force, and a file cmrg keeps (the contract list, the register, anything
    in outbox/ROUND/, inbox/ or archive/) never is. Nothing else changes.

    \b
    Examples:
      cmrg summary
      cmrg summary --round 2026-27 --out committee-pack.xlsx
    """
    ws = load(workspace)
    if out is not None and out.suffix.lower() != ".xlsx":
        fail(f"--out {out.name}: the summary is an Excel workbook; choose a file name ending in .xlsx", EXIT_INPUT)
    if out is not None:
        out_target(ws, out, force)
    target = out
    try:
        settings = SummarySettings.from_section(ws.config.section("summary"))
        data = load_summary_data(ws, round_)
        target = out or ws.outbox / f"summary-{_safe(data.round)}.xlsx"
        result = build_summary(data, settings, target)
    except SummaryError as exc:
        fail(str(exc), EXIT_INPUT)
        return
    except OSError as exc:
        fail(file_error(exc, rel(ws, target) if target else None, "written"), EXIT_INPUT)
        return
    click.echo(f"Summary of round {result.round}: {rel(ws, result.path)}")
    click.echo(f"  {result.contracts_reviewed:,} contract(s) reviewed, {result.returns_outstanding:,} return(s) "
               f"outstanding, annual value covered £{result.annual_value_gbp:,.0f}")
    for label, items in (("Strengths", result.strengths), ("Issues to address", result.issues)):
        if items:
            click.echo(f"  {label} ({len(items)}):")
            for f in items[:3]:
                click.echo(f"    - {clip(f.subject, 90)}")
    click.echo(f"  {result.actions:,} improvement action(s), {result.overdue:,} overdue; "
               f"{result.progress_contracts:,} contract(s) compared with an earlier review")


def _safe(name: str) -> str:
    """A round name as part of a file name."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
