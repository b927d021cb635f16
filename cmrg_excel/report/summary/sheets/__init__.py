"""The summary's sheets, one module each, in the order they appear and print.

Each module has ``NAME`` (the sheet's tab) and ``write(ws, s)``, which writes that sheet from
the shared :class:`~cmrg_excel.report.summary.context.Summary`. A new sheet is a new module
here and one entry in :data:`SHEETS`.
"""

from __future__ import annotations

from . import actions, activity_heatmap, dashboard, data, directorates, findings, heatmap, progress

# The order of the tabs and of the printed pack: the committee's pages first, then the
# activity-level detail, then the data (which says it is not set to print).
SHEETS = (dashboard, heatmap, findings, progress, directorates, actions, activity_heatmap, data)
