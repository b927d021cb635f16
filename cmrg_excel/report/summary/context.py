"""Everything the summary's sheets share: the data, tidied once, and the figures computed
from it once (scores, findings, progress, actions), plus the workbook's formats.

Each sheet module takes a :class:`Summary` and writes its own sheet; none recomputes a
figure another sheet shows, so the sheets cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .bulk import BulkRows
from .calc import (actions_frame, contract_area_scores, contract_overall, outstanding_returns, progress_frames,
                   rating_counts, ref_key, rejected_returns)
from .data import SummaryData
from .look import Formats
from .rules import compute_findings
from .settings import SummaryError, SummarySettings


@dataclass
class Summary:
    """The summary being written: inputs, shared figures and the workbook's tools."""

    data: SummaryData
    settings: SummarySettings
    wb: object                    # the xlsxwriter Workbook
    fm: Formats
    bulk: BulkRows
    footer: str
    info: pd.DataFrame            # one row per contract reviewed: title, directorate, supplier, value, risk, owner
    area_scores: pd.DataFrame     # contracts x areas
    overall: pd.Series            # each contract's mean over all areas
    findings: dict
    counts: pd.DataFrame          # areas x rating labels
    outstanding: list[str]        # contracts of the round with no accepted return
    rejected: list[str]           # of those, the ones whose return came back rejected (awaiting correction)
    progress: dict
    actions: pd.DataFrame


def tidy(data: SummaryData) -> SummaryData:
    """``data`` with typed columns and the framework's areas and activities limited to those
    answered (working them out from the answers when they are not given)."""
    ans = data.answers
    if ans is None or ans.empty:
        raise SummaryError(
            f"round {data.round!r} has no accepted returns yet, so there is nothing to summarise. "
            "Run 'cmrg ingest' once returns arrive."
        )
    ans = ans.copy()
    ans["not_applicable"] = ans["not_applicable"].astype(bool)
    ans["score"] = pd.to_numeric(ans["score"], errors="coerce")
    ans["area"] = ans["area"].astype(int)
    if data.areas is None:
        data.areas = sorted({(int(a), str(n)) for a, n in zip(ans["area"], ans["area_name"])})
    if data.activities is None:
        acts = ans.drop_duplicates("ref")[["ref", "area", "activity"]]
        data.activities = sorted(((r, int(a), str(t)) for r, a, t in acts.itertuples(index=False)),
                                 key=lambda x: ref_key(x[0]))
    if data.all_answers is None or data.all_answers.empty:
        data.all_answers = ans
    else:
        data.all_answers = data.all_answers.copy()
        data.all_answers["area"] = data.all_answers["area"].astype(int)
        data.all_answers["score"] = pd.to_numeric(data.all_answers["score"], errors="coerce")
    data.answers = ans
    present = set(ans["area"])
    data.areas = [a for a in data.areas if a[0] in present] or data.areas
    present_refs = set(ans["ref"])
    data.activities = [a for a in data.activities if a[0] in present_refs]
    return data


def prepare(data: SummaryData, settings: SummarySettings, wb) -> Summary:
    """The shared figures for ``data`` (already tidied) and the formats of ``wb``."""
    ans = data.answers
    info = (ans.drop_duplicates("contract_id").set_index("contract_id")
            [["title", "directorate", "supplier", "annual_value_gbp", "risk", "owner_name"]].sort_index())
    return Summary(
        data=data, settings=settings, wb=wb, fm=Formats(wb), bulk=BulkRows(),
        footer=f"{data.council} | Contract management review | round {data.round} | produced {data.today:%d/%m/%Y}",
        info=info,
        area_scores=contract_area_scores(ans).reindex(index=info.index, columns=[a for a, _ in data.areas]),
        overall=contract_overall(ans).reindex(info.index),
        findings=compute_findings(ans, data.areas, data.activities, data.scale, settings),
        counts=rating_counts(ans, data.areas, data.scale),
        outstanding=(outstanding := outstanding_returns(data, set(info.index))),
        rejected=rejected_returns(data, outstanding),
        progress=progress_frames(data),
        actions=actions_frame(ans, data.today),
    )
