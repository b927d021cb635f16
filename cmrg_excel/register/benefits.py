"""Benefits in the register: each with its source, from the benefits log or a meeting record.

The workspace's ``benefits.xlsx`` is the source of truth for the rows it holds: reading it
replaces the register's copy of those rows in one transaction, so a row corrected or
deleted in the log is corrected or gone in the register too. Benefits from other sources
(meeting records) are never touched by it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..core.benefits import FILE_NAME, Benefit
from .db import now, transaction
from .views import _frame

BENEFIT_COLUMNS = ["contract_id", "benefit_date", "description", "amount_gbp", "kind", "caveat", "source",
                   "title", "directorate", "annual_value_gbp"]


def replace_log_benefits(conn, benefits: list[Benefit]) -> int:
    """Make the register's benefits-log rows exactly ``benefits``; returns how many."""
    stamp = now()
    with transaction(conn):
        conn.execute("DELETE FROM benefits WHERE source LIKE ?", (f"{FILE_NAME} row %",))
        for b in benefits:
            conn.execute(
                "INSERT INTO benefits (contract_id, benefit_date, description, amount_gbp, kind, caveat, source, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (b.contract_id, b.date.isoformat(), b.description, b.amount_gbp, b.type, b.caveat, b.source, stamp),
            )
    return len(benefits)


def benefits_frame(conn, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Benefits (optionally those dated within ``start``..``end``), with their contract's facts."""
    sql = ("SELECT b.contract_id, b.benefit_date, b.description, b.amount_gbp, b.kind, b.caveat, b.source, "
           "c.title, c.directorate, c.annual_value_gbp FROM benefits b "
           "LEFT JOIN contracts c ON c.contract_id = b.contract_id WHERE 1=1")
    args: list = []
    if start is not None:
        sql += " AND b.benefit_date >= ?"
        args.append(start.isoformat())
    if end is not None:
        sql += " AND b.benefit_date <= ?"
        args.append(end.isoformat())
    df = _frame(conn, sql + " ORDER BY b.benefit_date, b.contract_id, b.id", tuple(args))
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in BENEFIT_COLUMNS})
    df["benefit_date"] = pd.to_datetime(df["benefit_date"]).dt.date
    df["amount_gbp"] = pd.to_numeric(df["amount_gbp"], errors="coerce")
    df["annual_value_gbp"] = pd.to_numeric(df["annual_value_gbp"], errors="coerce")
    return df[BENEFIT_COLUMNS]
