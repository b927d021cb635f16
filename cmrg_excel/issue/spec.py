"""What one self-assessment workbook shows, as plain data: the template specification.

Kept apart from the code that builds it (:mod:`.generate`) and the code that stamps it
(:mod:`.stamp`), so that both can use it without importing each other.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from ..core.contracts import Contract
from ..core.framework import Framework


@dataclass
class TemplateSpec:
    """Everything one workbook shows; plain data, no workspace."""

    contract: Contract
    framework: Framework
    round: str
    token: str
    council: str
    review_group: str
    return_email: str
    password: str
    deadline: dt.date
    generated_at: str
    kind: str = "initial"
    # ref -> {"rating", "evidence", "action", "action_owner", "target_date"}: values written into the inputs
    answers: dict[str, dict] = field(default_factory=dict)
    # the round the answers were carried forward from (re-review), or None
    carried_from: str | None = None
    attestation: dict = field(default_factory=dict)
    corrections: dict = field(default_factory=dict)
    # (sheet, A1 cell) -> what is wrong there; highlighted and commented
    annotations: dict[tuple[str, str], str] = field(default_factory=dict)
    # plain-English fixes listed on a first "Fixes needed" sheet (correction workbooks)
    fixes: list[str] = field(default_factory=list)


def new_token() -> str:
    """A random issue token, unique to one workbook."""
    return secrets.token_urlsafe(18)


def created_at(spec: TemplateSpec) -> dt.datetime:
    """The workbook's docProps created/modified time: when the spec was generated, in UTC.

    xlsxwriter would otherwise stamp the clock time, so two builds of one spec differed."""
    when = dt.datetime.fromisoformat(spec.generated_at)
    return when.astimezone(dt.timezone.utc) if when.tzinfo is not None else when
