"""The summary's sheets, one module each, in the order they appear and print.

Each module has ``NAME`` (the sheet's tab) and ``write(ws, s)``, which writes that sheet from
the shared :class:`~cmrg_excel.report.summary.context.Summary`. A new sheet is a new module
here and one entry in :data:`SHEETS`.
"""

from __future__ import annotations

from . import actions, activity_heatmap, dashboard, data, directorates, findings, heatmap, progress

SHEETS = (dashboard, heatmap, activity_heatmap, findings, progress, actions, directorates, data)
