"""Writing the summary workbook: one sheet per module in :data:`sheets.SHEETS`, in that order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import __version__
from ...kit.files import write_atomic
from ...kit.styles import new_workbook
from .context import prepare, tidy
from .data import SummaryData
from .rules import Finding
from .settings import SummarySettings
from .sheets import SHEETS


@dataclass
class SummaryResult:
    path: Path
    round: str
    contracts_reviewed: int
    returns_outstanding: int
    annual_value_gbp: float
    strengths: list[Finding]
    issues: list[Finding]
    inconsistencies: list[Finding]
    unsupported: list[Finding]
    progress_contracts: int
    actions: int
    overdue: int
    sheets: list[str]


def build_summary(data: SummaryData, settings: SummarySettings | None, out_path) -> SummaryResult:
    """Write the summary workbook for ``data`` to ``out_path``."""
    settings = settings or SummarySettings()
    data = tidy(data)
    out_path = Path(out_path)
    wb, buffer = new_workbook(None)
    wb.set_properties({
        "title": f"Contract management review summary, round {data.round}",
        "subject": "Summary of contract owners' self-assessments against the NAO good practice framework",
        "author": data.council, "company": data.council, "comments": f"Written by cmrg-excel {__version__}",
    })
    wb.set_calc_mode("auto")
    s = prepare(data, settings, wb)
    names = [sheet.NAME for sheet in SHEETS]
    worksheets = [wb.add_worksheet(name) for name in names]
    for ws in worksheets:
        ws.hide_gridlines(2)
        ws.set_zoom(90)
    for sheet, ws in zip(SHEETS, worksheets):
        sheet.write(ws, s)
    worksheets[0].activate()
    worksheets[0].set_first_sheet()

    wb.close()
    write_atomic(out_path, s.bulk.apply(buffer.getvalue(), names), durable=False)
    actions = s.actions
    return SummaryResult(
        path=out_path, round=data.round, contracts_reviewed=len(s.info), returns_outstanding=len(s.outstanding),
        annual_value_gbp=float(s.info["annual_value_gbp"].fillna(0).sum()),
        strengths=s.findings["strength"], issues=s.findings["issue"], inconsistencies=s.findings["inconsistency"],
        unsupported=s.findings["evidence"], progress_contracts=len(s.progress["contracts"]), actions=len(actions),
        overdue=int((actions["status"] == "Overdue").sum()) if len(actions) else 0, sheets=names,
    )
