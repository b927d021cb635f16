"""The summary workbook for finance staff and the committee.

:func:`build_summary` turns plain data (:class:`SummaryData`: DataFrames of answers,
issues and submissions, the rating scale, names and today's date) into one xlsxwriter
workbook that opens on its Dashboard. It never reads the register itself;
:func:`load_summary_data` does that through the register's pandas views.

Every number is computed from the raw answers (cached values in returned workbooks are
never trusted) and written as a value. People's text (titles, suppliers, evidence,
actions) is always written as text, never as a formula or a link.

The package, by responsibility:

- ``settings``: the ``[summary]`` thresholds and :class:`SummaryError`;
- ``data``: :class:`SummaryData` and :func:`load_summary_data`;
- ``calc``: scores, progress, outstanding returns and actions, in pure pandas;
- ``rules``: the findings rules (:func:`compute_findings`), shared with the committee paper;
- ``context``: the figures every sheet shares, computed once;
- ``look`` and ``bulk``: formats and cell helpers, and the fast writer of large tables;
- ``sheets``: one module per sheet, in one ordered list;
- ``build``: :func:`build_summary`, which writes them.
"""

from __future__ import annotations

from .build import SummaryResult, build_summary
from .data import SummaryData, load_summary_data
from .rules import Finding, compute_findings, unsupported_ratings
from .settings import SummaryError, SummarySettings
from .sheets import SHEETS as _SHEET_MODULES

SHEETS = [sheet.NAME for sheet in _SHEET_MODULES]

__all__ = ["SHEETS", "Finding", "SummaryData", "SummaryError", "SummaryResult", "SummarySettings", "build_summary",
           "compute_findings", "load_summary_data", "unsupported_ratings"]
