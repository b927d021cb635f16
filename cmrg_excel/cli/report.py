"""cmrg report and cmrg findings: the committee paper, and the group's agreed findings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..kit.pdf import PdfError, to_pdf
from ..report.committee import generated_findings, load_committee_data, write_report
from ..report.findings import FILE_NAME as FINDINGS_FILE, Theme, write_findings_workbook
from .base import EXIT_INPUT, command, fail, file_error, friendly_errors, load, out_target, rel, workspace_option
from .plan import date_option


@command("report")
@click.option("--from", "start", required=True, callback=date_option, metavar="DD/MM/YYYY",
              help="First day of the period the paper covers.")
@click.option("--to", "end", required=True, callback=date_option, metavar="DD/MM/YYYY",
              help="Last day of the period the paper covers.")
@click.option("--contract", "contract_id", metavar="ID",
              help="Write the shorter paper on one contract instead: its review history, ratings over time, "
                   "actions and benefits.")
@click.option("--meeting", "meeting_date", callback=date_option, metavar="DD/MM/YYYY",
              help="Date of the committee meeting, shown on the cover.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.docx",
              help="Where to write the paper (a file name ending .docx, from the current folder). "
                   "Default: outbox/committee-report-FROM-TO.docx (or contract-report-ID.docx).")
@click.option("--force", is_flag=True, help="Replace a paper already at --out.")
@workspace_option
@friendly_errors
def report_cmd(start: dt.date, end: dt.date, contract_id: str | None, meeting_date: dt.date | None,
               out: Path | None, force: bool, workspace: Path | None) -> None:
    """Draft the six-monthly committee paper from the register, as a Word document.

    The draft follows the committee's structure: a cover block, Summary,
    Recommendation(s), 1 Introduction, 2 Approach, 3 Progress, 4 Findings, 5 Feedback,
    6 Next steps, 7 Recommendation(s), 8 Background documents, 9 Contact details, and
    an appendix of the numbers. Every count and every pound is computed from the
    register for the period; a section with nothing to report says so.

    \b
    Where the words come from:
      cmrg.toml [report]   the cover block, contacts, the benefit threshold
      cmrg.toml [council]  the protective marking in every page's header
      committee-text.md    the standing text (introduction, approach, next steps)
      findings.xlsx        the themes the group agreed (cmrg findings); without
                           it, findings are drawn from the figures
      benefits.xlsx        benefits recorded after the reviews; a bad row stops
                           the report and is named by row and column

    A PDF copy is written beside the .docx when LibreOffice is installed.

    \b
    Examples:
      cmrg report --from 01/04/2026 --to 30/09/2026
      cmrg report --from 01/04/2026 --to 30/09/2026 --contract HID-001
    """
    ws = load(workspace)
    if out is not None and out.suffix.lower() != ".docx":
        fail(f"--out {out.name}: the paper is a Word document; choose a file name ending in .docx", EXIT_INPUT)
    default = (f"contract-report-{contract_id}.docx" if contract_id
               else f"committee-report-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.docx")
    target = out or ws.outbox / default.replace("/", "_")
    if out is not None:
        out_target(ws, out, force)
    try:
        doc, settings = write_report(ws, start, end, target, contract_id=contract_id, meeting_date=meeting_date)
    except OSError as exc:
        fail(file_error(exc, target, "written"), EXIT_INPUT)
        return
    click.echo(f"Committee paper drafted: {rel(ws, target)}")
    missing = settings.missing()
    if missing:
        click.secho(f"  Fill in cmrg.toml [report] {', '.join(missing)} to complete the cover block and contacts "
                    "(placeholders in [brackets] for now).", fg="yellow")
    try:
        pdf = to_pdf(target)
    except PdfError as exc:
        click.secho(f"  No PDF: {exc}", fg="yellow")
    else:
        click.echo(f"  PDF copy: {rel(ws, pdf)}" if pdf else "  No PDF copy: LibreOffice is not installed.")


@command("findings")
@click.option("--from", "start", required=True, callback=date_option, metavar="DD/MM/YYYY",
              help="First day of the period the findings cover.")
@click.option("--to", "end", required=True, callback=date_option, metavar="DD/MM/YYYY",
              help="Last day of the period.")
@workspace_option
@friendly_errors
def findings_cmd(start: dt.date, end: dt.date, workspace: Path | None) -> None:
    """Write findings.xlsx: the group's themes for the committee paper, ready to edit.

    Generated findings (the strongest and weakest areas, and every strength and issue the
    figures show for the period) are put in a Themes sheet, where the secretariat keeps,
    drops, rewords and adds themes: an area or a cross-cutting one, a strength or an
    issue, the contracts concerned, and Legacy? for an issue only the next commissioning
    cycle can fix. A Programme actions sheet holds council-wide actions. 'cmrg report'
    uses the kept themes once this workbook exists.

    Running it again (say for the next period) keeps every row and every word already in
    the workbook and adds only the generated findings that are new, marked New. Close the
    workbook in Excel first.

    \b
    Example:
      cmrg findings --from 01/04/2026 --to 30/09/2026
    """
    ws = load(workspace)
    data = load_committee_data(ws, start, end)
    strengths, issues = generated_findings(data)
    generated = [Theme("Strength", t, key=f"S:{t}") for t in strengths] + [Theme("Issue", t, key=f"I:{t}") for t in issues]
    path = ws.root / FINDINGS_FILE
    try:
        kept, new = write_findings_workbook(path, generated, ws.config.council_name,
                                            f"{start:%d/%m/%Y} to {end:%d/%m/%Y}", marking=ws.config.marking)
    except OSError as exc:
        fail(file_error(exc, path, "written"), EXIT_INPUT)
        return
    click.echo(f"Findings for the committee paper: {rel(ws, path)}")
    click.echo(f"  {kept} row(s) kept as they were, {new} new generated finding(s) added.")
    click.echo("  Edit the Themes sheet, then run 'cmrg report' to draft the paper with the agreed themes.")
