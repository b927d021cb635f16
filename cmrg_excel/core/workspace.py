"""The workspace: its folders, its settings file ``cmrg.toml``, and the run lock.

The settings' rules live in :mod:`cmrg_excel.core.settings` and are checked, every one, as
the file loads; stages receive a :class:`Workspace` and read paths and settings from it.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from . import framework as fwmod
from . import settings
from .errors import BusyError, WorkspaceError
from .settings import HOLIDAY_NATIONS, NO_HOLIDAYS

CONFIG_NAME = "cmrg.toml"
REGISTER_NAME = "register.sqlite"
ENV_VAR = "CMRG_WORKSPACE"
LOCK_NAME = ".cmrg.lock"
# Files that stages above this layer keep in the workspace (their modules use these names;
# tests/test_out_paths.py holds them equal): the group's findings and the review plan.
FINDINGS_NAME = "findings.xlsx"
PLAN_NAME = "review-plan.xlsx"
BENEFITS_NAME = "benefits.xlsx"


class WorkspaceBusy(WorkspaceError, BusyError):
    """Another cmrg run holds the workspace lock."""


@lru_cache(maxsize=None)
def _bank_holidays(subdiv: str):
    import holidays  # only when a deadline is worked out, so other commands start no slower

    return holidays.country_holidays("GB", subdiv=subdiv)  # fills in each year as it is asked about


# The committee paper's standing text, edited once by the council (cmrg report reads it).
STANDING_TEXT = "committee-text.md"

CONFIG_TEMPLATE = """\
# cmrg.toml: settings for this contract management review workspace.
# Lines starting with # are comments. Text goes in "quotes"; dates are written 2027-01-31.
# After editing, run any cmrg command: a mistake here is reported with its line.

[council]
# Shown on every workbook and report.
name = "{council}"
# The group that runs the reviews.
review_group = "Contract Management Review Group"
# Where contract owners send their completed workbook.
return_email = "{return_email}"
# Protective marking shown in the header of every paper, pack and letter for members and
# the committee, e.g. "OFFICIAL-SENSITIVE" or "Exempt - not for publication". Blank: none.
marking = ""

[templates]
# Framework definition: a file name (without .toml) from this workspace's frameworks/
# folder or one that ships with the tool: nao-cm-areas-1-8 (areas 1-8, the default)
# or nao-cm-11-areas (all 11 areas).
framework = "nao-cm-areas-1-8"
# Password for sheet protection. It prevents accidental edits to locked cells; it is
# NOT security (anyone determined can remove it), so do not reuse a real password.
password = "{password}"
# Date the returns are due. Leave it commented out to allow deadline_days instead.
# deadline = 2027-01-29
# Days from generation to the deadline, used when no deadline date is set. A deadline
# that falls on a weekend or a bank holiday moves on to the next working day.
deadline_days = 28
# Whose bank holidays a deadline avoids: "England", "Wales", "Scotland" or
# "Northern Ireland"; "none" skips weekends only. A deadline date set above is kept as
# written, but cmrg generate warns if it is not a working day.
holidays = "England"
# The contract list, relative to this folder (.xlsx or .csv).
contracts = "contracts.xlsx"

[ingest]
# Largest returned file accepted, in megabytes.
max_file_mb = 10
# Worker processes that read returns (each with its own memory cap and time limit).
workers = 2
# Memory cap for one worker, in megabytes.
worker_memory_mb = 1024
# Time limit for reading one file, in seconds.
file_timeout_seconds = 30
# A file changed less than this many seconds ago is looked at again after this long; if
# its size or time changed meanwhile it is still being saved and is left for the next run.
settle_seconds = 2

[plan]
# Weights for choosing contracts to review (any positive numbers; they are scaled to 100).
weight_value = 30          # annual and total value
weight_risk = 20           # risk rating
weight_complexity = 10     # complexity rating
weight_audit_synergy = 10  # internal audit is looking at the same area
weight_timing = 20         # re-commissioning, extension or end date coming up
weight_since_review = 10   # time since the last review
# Reviews to schedule each month.
per_month = 3
# How many months to plan.
months = 12
# How far ahead, in months, a re-commissioning or end date still counts as "coming up".
timing_horizon_months = 18
# At most this share of any month's reviews may come from one directorate.
max_directorate_share = 0.5
# Review a contract at least this many months before its re-commissioning or end date.
lead_months = 2
# Time since the last review earns full marks once it reaches this many months.
review_full_months = 36

[summary]
# A finding of strength: at least this share of contracts rate an area or activity
# Good or better.
strength_share = 0.75
# An issue to address: at least this share of contracts rate it Developing or lower.
issue_share = 0.5
# Inconsistency: the spread (standard deviation) of scores across contracts is at least this
# many levels of the scale (points on the NAO 0-4 scale).
inconsistency_sd = 1.2
# Ratings of Better or Best need evidence of at least this many characters.
evidence_min_chars = 20
# How many strengths and issues the Dashboard lists.
top_n = 5

[report]
# The committee paper that 'cmrg report' drafts. Its standing text (introduction,
# approach, next steps) is in committee-text.md beside this file: edit it once.
# Who the paper is from, e.g. "Cabinet Member for Finance; Corporate Director of Finance".
from = ""
# The committee it goes to, e.g. "Policy and Resources Cabinet Committee".
committee = ""
# The paper's subject line.
subject = "Contract Management Review Group: progress report"
# Section 9, contact details: the report's author and the relevant director.
author = ""             # who wrote the report
author_contact = ""   # e.g. a phone number or email
director = ""           # the relevant corporate director
director_contact = ""  # e.g. a phone number or email
# Benefits of at least this many pounds are named one by one in the paper.
benefit_threshold_gbp = 100000
"""


@dataclass(frozen=True)
class Config:
    council_name: str
    review_group: str
    return_email: str
    framework: str
    password: str
    deadline: dt.date | None
    deadline_days: int
    holidays: str                     # whose bank holidays: a HOLIDAY_NATIONS name, or "none"
    contracts: str
    raw: dict = field(default_factory=dict, repr=False)       # the file as parsed
    checked: dict = field(default_factory=dict, repr=False)   # every section checked, defaults filled in

    def section(self, name: str) -> dict:
        """A settings section as a plain dict, checked, with every default filled in."""
        if name not in self.checked:
            return settings.check_section(name, {}) if name in settings.SCHEMA else {}
        return dict(self.checked[name])

    @property
    def marking(self) -> str:
        """The protective marking (``[council] marking``) for what the committee and members read."""
        value = self.section("council").get("marking", "")
        return value if isinstance(value, str) else ""

    def deadline_from(self, issued_on: dt.date) -> dt.date:
        """The deadline set in the settings, as written; else ``deadline_days`` after
        ``issued_on``, moved on to the next working day."""
        if self.deadline:
            return self.deadline
        return self.next_working_day(issued_on + dt.timedelta(days=self.deadline_days))

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while self.not_a_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def not_a_working_day(self, day: dt.date) -> str | None:
        """Why ``day`` is not a working day ("a Saturday", "Christmas Day, a bank holiday
        in England"), or None when it is one."""
        if day.weekday() >= 5:
            return ("a Saturday", "a Sunday")[day.weekday() - 5]
        if self.holidays == NO_HOLIDAYS:
            return None
        name = _bank_holidays(HOLIDAY_NATIONS[self.holidays]).get(day)
        return f"{name}, a bank holiday in {self.holidays}" if name else None


def load_config(path: Path) -> Config:
    """Read ``cmrg.toml`` and check every setting (:mod:`cmrg_excel.core.settings`): a mistake
    is one line naming the file and the setting."""
    raw, checked = settings.load(path)
    council, templates = checked["council"], checked["templates"]
    return Config(
        council_name=council["name"],
        review_group=council["review_group"],
        return_email=council["return_email"],
        framework=templates["framework"],
        password=templates["password"],
        deadline=templates["deadline"],
        deadline_days=templates["deadline_days"],
        holidays=templates["holidays"],
        contracts=templates["contracts"],
        raw=raw,
        checked=checked,
    )


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Config

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def frameworks_dir(self) -> Path:
        return self.root / "frameworks"

    @property
    def register_path(self) -> Path:
        return self.root / REGISTER_NAME

    @property
    def contracts_path(self) -> Path:
        return self.root / self.config.contracts

    def rel(self, path: str | Path) -> str:
        """A path as shown to people: relative to the workspace when it is inside it."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def managed(self, path: str | Path) -> str | None:
        """What cmrg keeps at ``path`` ("the contract list", "outbox/R1/, the workbooks issued in
        round R1", ...), or None when it is not a file of the workspace's own. A command never
        writes a file a person asked for (--out) over one of these."""
        target = Path(path).expanduser().resolve()
        try:
            parts = target.relative_to(self.root).parts
        except ValueError:
            parts = ()
        named = {
            self.root / CONFIG_NAME: "the settings file",
            self.contracts_path.resolve(): "the contract list",
            self.root / BENEFITS_NAME: "the benefits log",
            self.root / FINDINGS_NAME: "the review group's findings",
            self.root / STANDING_TEXT: "the committee paper's standing text",
            self.root / LOCK_NAME: "the workspace lock",
            self.outbox / PLAN_NAME: "the review plan",
            self.outbox / f".{Path(PLAN_NAME).stem}.json": "the review plan's record",
        }
        key = os.path.normcase(str(target)).casefold()
        for known, what in named.items():
            if os.path.normcase(str(known)).casefold() == key:
                return what
        if not parts:
            return None
        first = parts[0].casefold()
        if len(parts) == 1 and first.startswith(REGISTER_NAME):
            return "the register"
        if first == "inbox":
            return "inbox/, where returns wait to be ingested"
        if first == "archive":
            return "archive/, where accepted returns are kept as they came"
        if first == "frameworks":
            return "frameworks/, the workspace's framework definitions"
        if first == "outbox" and len(parts) > 2:
            return f"outbox/{parts[1]}/, the workbooks and emails issued in round {parts[1]}"
        return None

    def framework(self, name: str | None = None) -> fwmod.Framework:
        """The framework named in settings (or ``name``), workspace definitions first."""
        return fwmod.find(name or self.config.framework, [self.frameworks_dir])

    def ensure_folders(self) -> None:
        for folder in (self.inbox, self.rejected, self.outbox, self.archive):
            folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def lock(self, job: str, wait_seconds: float = 10.0) -> Iterator[None]:
        """Hold the workspace lock so that two runs that change it cannot overlap."""
        lock = FileLock(str(self.root / LOCK_NAME))
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise WorkspaceBusy(
                f"another cmrg run is using this workspace; waited {wait_seconds:.0f} s for it to finish "
                f"before '{job}'. Try again when it has finished."
            ) from None
        try:
            yield
        finally:
            lock.release()


PLACEHOLDER_EMAIL = "cmrg@example.gov.uk"


def is_placeholder_email(address: str) -> bool:
    """Whether a return address is cmrg init's placeholder (or any example.* address), where
    owners' returns would never arrive."""
    domain = address.strip().lower().rpartition("@")[2]
    return address.strip().lower() == PLACEHOLDER_EMAIL or domain.split(".")[0] == "example"


def resolve(path: str | Path | None) -> Path:
    """The workspace folder: the option, else $CMRG_WORKSPACE, else the current folder or the
    nearest folder above it holding a cmrg.toml (as git finds its repository), so a command
    run inside outbox/ works on the workspace it is in."""
    if path or os.environ.get(ENV_VAR):
        return Path(path or os.environ[ENV_VAR]).expanduser().resolve()
    here = Path.cwd().resolve()
    return next((folder for folder in (here, *here.parents) if (folder / CONFIG_NAME).is_file()), here)


def open_workspace(path: str | Path | None = None) -> Workspace:
    """Open an existing workspace (one with a ``cmrg.toml``)."""
    root = resolve(path)
    cfg = root / CONFIG_NAME
    if not cfg.exists():
        raise WorkspaceError(
            f"{root} is not a cmrg workspace (no {CONFIG_NAME}). "
            f"Run 'cmrg init {root}' or pass --workspace DIR."
        )
    ws = Workspace(root, load_config(cfg))
    ws.ensure_folders()
    return ws


