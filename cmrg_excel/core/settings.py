"""Every setting of ``cmrg.toml``, its rule, and the one loader that checks them all.

The file is read and checked once, when the workspace opens, before any command writes
anything: a setting that would only be used later (``[summary]`` thresholds, the return
email of ``generate --eml``) is wrong now, not half way through a run. Each mistake is one
line naming the file, the section and setting, the rule, and what was found.

The rules are data (:data:`SCHEMA`); the stages take their section as a plain dict with
every default filled in (``Workspace.config.section("plan")``). A stage that builds its
settings from a dict of its own (tests, overrides) checks it with :func:`check_section`, so
there is one set of rules. ``cmrg init`` applies the same rules to what it is given.

A new setting: add its rule here, and a commented line to ``CONFIG_TEMPLATE`` in
:mod:`cmrg_excel.core.workspace`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

from . import tomlfile
from .contracts import _EMAIL_RE
from .errors import WorkspaceError
from .framework import DEFAULT_FRAMEWORK

# [templates] holidays: whose bank holidays a deadline avoids, as the UK subdivision codes
# of the `holidays` package (which keeps substitute days and one-off holidays).
HOLIDAY_NATIONS = {"England": "ENG", "Wales": "WLS", "Scotland": "SCT", "Northern Ireland": "NIR"}
NO_HOLIDAYS = "none"
# Dates a setting may hold (a deadline): the years the workbooks' own date checks accept.
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)


class SettingsError(WorkspaceError):
    """A setting of cmrg.toml is not valid; the message is one line naming the file and the setting."""


@dataclass(frozen=True)
class Rule:
    """What one setting may hold.

    kind: ``line`` (one line of text), ``email`` (one address, or blank), ``name`` (a
    framework name), ``file`` (the contract list's file name), ``choice``, ``date``, ``int``
    or ``number`` (finite, from ``low`` to ``high``)."""

    kind: str
    default: object
    low: float = 0
    high: float = math.inf
    limit: int = 200  # characters, for text
    choices: tuple[str, ...] = ()
    what: str = ""    # how the rule reads after "must be", when the kind's own wording will not do

    def describe(self) -> str:
        if self.what:
            return self.what
        if self.kind == "line":
            return f"one line of text in \"quotes\", without control characters, at most {self.limit} characters"
        if self.kind == "email":
            return 'one email address on one line, in "quotes", e.g. "cmrg@council.gov.uk" (or "" for none)'
        if self.kind == "choice":
            names = [f'"{c}"' for c in self.choices]
            return ", ".join(names[:-1]) + " or " + names[-1]
        if self.kind == "date":
            return (f"a date from {DATE_MIN:%Y-%m-%d} to {DATE_MAX:%Y-%m-%d}, written like 2027-01-29 (no quotes)")
        kind = "a whole number" if self.kind == "int" else "a number"
        return f"{kind} from {self.low:g} to {self.high:g}"


def _line(default: str, limit: int = 200) -> Rule:
    return Rule("line", default, limit=limit)


def _int(default: int, low: float, high: float, what: str = "") -> Rule:
    return Rule("int", default, low, high, what=what)


def _num(default: float, low: float, high: float, what: str = "") -> Rule:
    return Rule("number", default, low, high, what=what)


WEIGHT = "a number from 0 to 1000 (weights are scaled to add up to 100)"

SCHEMA: dict[str, dict[str, Rule]] = {
    "council": {
        "name": _line("The Council", 120),
        "review_group": _line("Contract Management Review Group", 120),
        "return_email": Rule("email", ""),
        "marking": _line("", 80),
    },
    "templates": {
        "framework": Rule("name", DEFAULT_FRAMEWORK, limit=63,
                          what='the name of a framework, e.g. "nao-cm-areas-1-8" (a file name without .toml)'),
        "password": _line("", 255),
        "deadline": Rule("date", None),
        "deadline_days": _int(28, 1, 365),
        "holidays": Rule("choice", "England", choices=(*HOLIDAY_NATIONS, NO_HOLIDAYS)),
        "contracts": Rule("file", "contracts.xlsx", limit=255,
                          what='the contract list\'s file name in this folder, ending .xlsx or .csv, '
                               'e.g. "contracts.xlsx"'),
    },
    "ingest": {
        "max_file_mb": _num(10, 0.001, 1000, "a number of megabytes from 0.001 to 1000"),
        "workers": _int(2, 1, 64),
        "worker_memory_mb": _int(1024, 0, 1 << 20, "a whole number of megabytes from 0 (no cap) to 1048576"),
        "file_timeout_seconds": _num(30, 1, 3600, "a number of seconds from 1 to 3600"),
        "settle_seconds": _num(2, 0, 60, "a number of seconds from 0 to 60"),
    },
    "plan": {
        "weight_value": _num(30, 0, 1000, WEIGHT),
        "weight_risk": _num(20, 0, 1000, WEIGHT),
        "weight_complexity": _num(10, 0, 1000, WEIGHT),
        "weight_audit_synergy": _num(10, 0, 1000, WEIGHT),
        "weight_timing": _num(20, 0, 1000, WEIGHT),
        "weight_since_review": _num(10, 0, 1000, WEIGHT),
        "per_month": _int(3, 1, 100),
        "months": _int(12, 1, 60),
        "timing_horizon_months": _int(18, 1, 120),
        "max_directorate_share": _num(0.5, 0.01, 1),
        "lead_months": _int(2, 0, 24),
        "review_full_months": _int(36, 1, 240),
    },
    "summary": {
        "strength_share": _num(0.75, 0, 1),
        "issue_share": _num(0.5, 0, 1),
        "inconsistency_sd": _num(1.2, 0, 10),
        "evidence_min_chars": _int(20, 0, 10000),
        "top_n": _int(5, 1, 50),
    },
    "report": {
        "from": _line("", 300),
        "committee": _line("", 300),
        "subject": _line("Contract Management Review Group: progress report", 300),
        "author": _line("", 300),
        "author_contact": _line("", 300),
        "director": _line("", 300),
        "director_contact": _line("", 300),
        "benefit_threshold_gbp": _num(100_000, 0, 1e12, "a number of pounds from 0 to 1000000000000, e.g. 100000"),
    },
}

_CONTROL = {*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029}


def found(value: object) -> str:
    """A value as it would be written in the file, on one line (line breaks and other control
    characters as escapes), shortened when long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == math.inf else "-inf" if value == -math.inf
                                             else repr(value))
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        text = "".join(f"\\u{ord(ch):04x}" if ord(ch) in _CONTROL else ch for ch in text)
        return text if len(text) <= 80 else text[:76] + '..."'
    return str(value)


def _bad(where: str, section: str, key: str, rule: Rule, value: object, extra: str = "") -> SettingsError:
    return SettingsError(f"{where}: setting [{section}] {key} must be {rule.describe()}{extra} (found {found(value)})")


def check_value(section: str, key: str, value: object, where: str = "cmrg.toml") -> object:
    """One setting checked against its rule: the value to use, or SettingsError."""
    rule = SCHEMA[section][key]
    kind = rule.kind
    if kind in ("int", "number"):
        if isinstance(value, str):
            raise _bad(where, section, key, rule, value, ", written without quotes")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and kind == "int" and not float(value).is_integer():
            ok = False
        if not ok or not rule.low <= value <= rule.high:
            raise _bad(where, section, key, rule, value)
        return int(value) if kind == "int" else float(value)
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if value is None:
            return None
        if not isinstance(value, dt.date) or not DATE_MIN <= value <= DATE_MAX:
            raise _bad(where, section, key, rule, value)
        return value
    if not isinstance(value, str):
        raise _bad(where, section, key, rule, value)
    if any(ord(ch) in _CONTROL for ch in value) or len(value) > rule.limit:
        raise _bad(where, section, key, rule, value)
    text = value.strip()
    if kind == "choice":
        allowed = {c.casefold(): c for c in rule.choices}
        text = allowed.get(" ".join(text.split()).casefold())
        if text is None:
            raise _bad(where, section, key, rule, value)
    elif kind == "email":
        if text.lower().startswith("mailto:"):
            text = text[7:]
        if text and not _EMAIL_RE.match(text):
            raise _bad(where, section, key, rule, value)
    elif kind == "name":
        if not text or any(ch in text for ch in "/\\"):
            raise _bad(where, section, key, rule, value)
    elif kind == "file":
        if Path(text).suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
            raise _bad(where, section, key, rule, value)
    return text


def check_section(section: str, values: dict, where: str = "cmrg.toml") -> dict:
    """A section's settings checked, with every default filled in; unknown settings are refused."""
    rules = SCHEMA[section]
    for key in values:
        if key not in rules:
            known = ", ".join(rules)
            raise SettingsError(f"{where}: [{section}] {key} is not a known setting (check the spelling; "
                                f"[{section}] has {known})")
    out = {key: check_value(section, key, values.get(key, rule.default), where) if key in values else rule.default
           for key, rule in rules.items()}
    if section == "plan" and sum(v for k, v in out.items() if k.startswith("weight_")) <= 0:
        raise SettingsError(f"{where}: settings [plan] weight_* are all zero: give at least one criterion a weight")
    return out


def check_all(raw: dict, where: str = "cmrg.toml") -> dict[str, dict]:
    """Every section of a parsed settings file checked; sections left out get their defaults."""
    for name, value in raw.items():
        if name in SCHEMA and isinstance(value, list):
            raise SettingsError(f"{where}: [[{name}]] is written with double brackets: a settings section takes "
                                f"single brackets, [{name}]")
        if name in SCHEMA and not isinstance(value, dict):
            raise SettingsError(f"{where}: {name} = {found(value)} is a value where the section [{name}] belongs: "
                                f"write [{name}] on a line of its own, with its settings on the lines below it")
        if name not in SCHEMA:
            home = next((s for s, rules in SCHEMA.items() if name in rules), None)
            if home is not None:
                raise SettingsError(f"{where}: {name} is outside any section: move it below [{home}]")
            raise SettingsError(f"{where}: [{name}] is not a known section (check the spelling; the sections are "
                                f"{', '.join(f'[{s}]' for s in SCHEMA)})")
    return {name: check_section(name, raw.get(name, {}), where) for name in SCHEMA}


def parse_text(text: str, where: str) -> dict:
    """Parsed settings text (one line naming the file when it is not valid TOML)."""
    return tomlfile.parse(text, where, SettingsError)


def load(path: Path) -> tuple[dict, dict[str, dict]]:
    """(the file as parsed, every section checked with defaults) of a settings file."""
    raw = tomlfile.load(path, SettingsError, "not found: run 'cmrg init' to create a workspace")
    return raw, check_all(raw, str(path))
