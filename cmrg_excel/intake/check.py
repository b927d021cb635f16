"""Checking one returned workbook: pure rules over plain data, no files, no database.

:func:`check` takes the cells read from a return (:class:`cmrg_excel.intake.read.RawReturn`) and
the issue ledger (:class:`Ledger`), and returns a :class:`CheckResult` with every problem
found, all at once, each a :class:`Problem` naming the sheet, the cell, the activity, the
value found and what was expected, in words a contract owner can act on.

Identity (is this a workbook we issued, and the right one?)
  * The hidden ``_cmrg`` sheet must be there (whatever its visibility: LibreOffice makes a
    very hidden sheet plain hidden, Google Sheets may show it) and its issue token must be in
    the ledger. Every other value on it must match the ledger entry for that token.
  * The contract details on the Contract sheet that identify the contract (ID, title,
    supplier, directorate) must match what was issued. A workbook issued for one contract but
    showing another is "another contract's workbook". The file name proves nothing: a return
    whose token is contract A's is A's, whatever it is called; a name pointing at another
    contract is a note ("needs a look") for the secretariat, not a refusal.
  * The issue must still be open: a workbook replaced by a newer issue is rejected naming
    the newer file; a workbook of an earlier round than the contract's latest is rejected; a
    workbook the secretariat withdrew as issued by mistake is rejected (and a withdrawn
    round never counts as a contract's latest).

Which answers are required (the decision, also in the README)
  * Every key activity needs a rating from the scale (case and spaces are forgiven, as in
    Excel; anything else, including numbers, is refused). Scores are recomputed from these
    ratings; cached formula values in the file are never read.
  * Evidence is optional for ratings, except that **Not applicable needs its reason in
    Evidence**. Better or Best without evidence is *not* refused: the summary flags it.
  * An improvement action is optional, but once any of action, action owner or target date
    is filled in, all three are required, and the target date must be a real date between
    2000 and 2099 (a date cell, an Excel serial number, ``31/03/2027`` day-first text, or
    ISO ``2027-03-31``; two-digit years are refused as ambiguous).
  * Text must fit :data:`cmrg_excel.kit.layout.MAX_TEXT`.
  * Re-review workbooks: each answer carried forward must be either updated or confirmed
    with Yes in "Still accurate?". A rating raised two levels or more above the carried
    one needs new evidence text.
  * A return on an older version of the framework (``Ledger.current`` has the same id and
    another version) is mapped onto the current one, or rejected asking for the current
    template (:mod:`cmrg_excel.intake.upgrade`).
  * The attestation needs a name, a role, a date signed that is neither in the future nor
    before the workbook was issued, and Yes to the confirmation.
  * Answers typed outside the activity rows are refused (they would otherwise be lost).
  * Rows moved or sorted are matched by their Ref, so the answers still land on the right
    activity; the provenance keeps the row they were found on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

from ..kit import layout as L
from ..core.contracts import parse_money, read_date
from ..core.framework import Framework
from ..core.textsafe import hidden_character, visible
from ..core.values import text_of
from .entered import entered_value, entered_values
from . import codes as C

# --- plain data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a return, and how to fix it."""

    sheet: str
    cell: str
    ref: str
    found: str
    expected: str
    message: str
    code: str = ""

    def where(self) -> str:
        """Where the owner should look, e.g. "Assessment!D12 (activity 1.1)". The hidden identity
        sheet is never named: owners cannot see it, and its messages say what to do instead."""
        if self.sheet == L.META:
            return ""
        if self.sheet and self.cell:
            place = f"{self.sheet}!{self.cell}"
        else:
            place = self.sheet
        if self.ref:
            place = f"{place} (activity {self.ref})" if place else f"activity {self.ref}"
        return place

    def __str__(self) -> str:
        place = self.where()
        return f"{place}: {self.message}" if place else self.message

    def as_dict(self) -> dict:
        return asdict(self)


class Answer(NamedTuple):
    """One accepted answer, ready for the register (a tuple: cheap to send between processes)."""

    ref: str
    area: int
    rating: str
    score: float | None
    not_applicable: bool
    evidence: str
    action: str
    action_owner: str
    target_date: str | None  # ISO date
    change: str  # new, changed, re-confirmed
    source_ref: str
    sheet: str
    row: int


@dataclass
class CheckResult:
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # worth knowing, not a reason to reject
    token: str | None = None
    contract_id: str | None = None
    round: str | None = None
    framework_hash: str | None = None
    issue: object | None = None  # register.Issue the return was made on, when identified
    corrects: int | None = None  # the submission a correction workbook was issued to fix
    answers: list[Answer] = field(default_factory=list)
    attested_name: str | None = None
    attested_role: str | None = None
    attested_on: str | None = None
    corrections: dict[str, str] = field(default_factory=dict)
    entered: dict | None = None  # what the owner typed (entered.entered_values), kept for rejected returns
    mapping: dict[str, str] | None = None  # old ref -> new ref, when a return on an older framework was mapped
    upgraded_from: str | None = None  # the framework version the return was made on, when mapped

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def actions(self) -> list[Answer]:
        return [a for a in self.answers if a.action]


class Ledger:
    """The issue ledger and framework definitions, as plain data for the rules."""

    def __init__(self, issues: list, frameworks: dict[str, Framework], current: Framework | None = None):
        self.issues = {i.token: i for i in issues}
        self.frameworks = frameworks
        self.current = current  # the workspace's framework now: returns on older versions are mapped onto it
        ordered = sorted(issues, key=lambda i: (i.generated_at, i.contract_id))
        self.round_order: dict[str, int] = {}
        for i in ordered:
            self.round_order.setdefault(i.round, len(self.round_order))
        self.by_contract: dict[str, list] = {}
        for i in ordered:
            self.by_contract.setdefault(i.contract_id, []).append(i)
        self.contract_ids = {i.contract_id for i in issues}
        self._id_re = None

    def latest_open(self, contract_id: str, round: str | None = None):
        """The newest open issue for a contract (in a round, or in its latest round)."""
        cands = [i for i in self.by_contract.get(contract_id, []) if i.status == "issued"]
        if round is not None:
            cands = [i for i in cands if i.round == round]
        if not cands:
            return None
        return max(cands, key=lambda i: (self.round_order.get(i.round, -1), i.generated_at))

    def latest_round(self, contract_id: str) -> str | None:
        """The contract's latest round (a workbook withdrawn as issued by mistake does not count)."""
        issues = [i for i in self.by_contract.get(contract_id, []) if i.status != "withdrawn"]
        if not issues:
            return None
        return max(issues, key=lambda i: (self.round_order.get(i.round, -1), i.generated_at)).round

    def follow(self, issue):
        """The issue that finally replaced a superseded one (or the issue itself)."""
        seen = set()
        while issue.status == "superseded" and issue.superseded_by and issue.superseded_by not in seen:
            seen.add(issue.superseded_by)
            nxt = self.issues.get(issue.superseded_by)
            if nxt is None:
                break
            issue = nxt
        return issue

    def ids_in_name(self, name: str) -> set[str]:
        """Contract IDs of the ledger written in a file name as whole words (case ignored)."""
        from ..core.contracts import safe_filename

        if self._id_re is None:  # two IDs may share a form ("A/B" and "A_B" are both A_B.xlsx): keep both
            forms: dict[str, set[str]] = {}
            for cid in self.contract_ids:
                forms.setdefault(cid.casefold(), set()).add(cid)
                forms.setdefault(safe_filename(cid).casefold(), set()).add(cid)
            self._forms = forms
            self._id_re = True
        text = name.casefold()
        n = len(text)
        starts = [i for i in range(n) if text[i].isalnum() and (i == 0 or not text[i - 1].isalnum())]
        ends = [j for j in range(1, n + 1) if text[j - 1].isalnum() and (j == n or not text[j].isalnum())]
        found = set()
        for i in starts:
            for j in ends:
                if j > i:
                    found |= self._forms.get(text[i:j], set())
        return found


# --- values ---------------------------------------------------------------------------------

DATE_MIN, DATE_MAX = L.DATE_MIN, L.DATE_MAX  # as the workbook's own validation
DATE_HELP = "a date as dd/mm/yyyy, for example 31/03/2027"

# A date from a cell value, or (None, why not): date cells, Excel serial numbers, day-first UK
# text (31/03/2027, 31-03-2027, 31.03.2027, 31 March 2027) and ISO 2027-03-31. Two-digit years
# are refused ("has a two-digit year; write the year in full"). The one date reader, shared
# with the contract list, called directly (no wrapper: it is on the ingest path).
parse_date = read_date


def shown(value: object, limit: int = 60) -> str:
    """A found value quoted for a message, any control character shown as an escape."""
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, str):
        t = visible(" ".join(value.split()))
        return '"' + (t if len(t) <= limit else t[: limit - 3] + "...") + '"'
    return text_of(value)


def _blank(value: object) -> bool:
    if value == "" or value is None:
        return True
    return isinstance(value, str) and not value.strip()


def _same_text(a: object, b: object) -> bool:
    return " ".join(text_of(a).split()).casefold() == " ".join(text_of(b).split()).casefold()


# --- the rules --------------------------------------------------------------------------

FRESH = "Please send back the workbook we sent you, filled in."


def check(raw, ledger: Ledger, *, file_name: str = "", received: dt.datetime | None = None) -> CheckResult:
    """Every rule, over one return; never raises on odd values."""
    received = received or dt.datetime.now(dt.timezone.utc)
    res = CheckResult()
    p = res.problems.append
    issue = _identity(raw, ledger, file_name, res)
    fw = None
    if issue is not None:
        fw = ledger.frameworks.get(issue.framework_hash)
        if fw is None:
            p(Problem("", "", "", issue.framework_hash[:12], "a framework in the register", (
                "The framework this workbook was issued with is missing from the register, so the answers cannot "
                "be checked. Tell the review group (the register may have been restored from an old copy)."),
                C.FRAMEWORK_MISSING))
    elif raw.meta is not None:
        fw = ledger.frameworks.get(text_of(raw.meta.get("framework_hash")))
    if fw is None:
        return res
    if issue is not None and _came_back_empty(raw, issue):
        # One sentence, not a problem for every cell (and no corrections workbook: it would be
        # the same blank workbook again). A problem with its identity is still said instead.
        if not res.problems:
            name = issue.file_path.rsplit("/", 1)[-1]
            p(Problem("", "", "", "(nothing filled in)", "the workbook filled in", (
                f"the workbook came back empty: nothing was filled in. Fill in {name}, the workbook we sent you "
                f"for {issue.contract_id}, save it and send it back."), C.EMPTY_RETURN))
        res.entered = entered_values(raw, [a.ref for a in fw.activities])
        return res
    _extra_sheets(raw, issue, res)
    _contract_sheet(raw, res)
    re_review = issue is None or bool(issue.prefill)
    # Column J holds the last review's answers in a re-review workbook; in a first-round one it is outside.
    outside = [o for o in raw.outside
               if not (re_review and o[0] == L.ASSESSMENT and o[1].rstrip("0123456789") == _PREVIOUS_LETTER)]
    _assessment(raw, fw, issue, res, outside)
    _attestation(raw, issue, received, res)
    _outside(outside, res)
    if raw.formulas:
        _formulas(raw, res)
    if issue is not None and ledger.current is not None:
        _upgrade(fw, ledger.current, res)
    if res.problems and issue is not None:
        res.entered = entered_values(raw, [a.ref for a in fw.activities])
    return res


def _came_back_empty(raw, issue) -> bool:
    """Nothing typed anywhere: no answer (a re-review's carried answers as carried, with no
    'Still accurate?'), no attestation, no contract correction."""
    if L.ASSESSMENT not in raw.sheets or L.ATTESTATION not in raw.sheets:
        return False  # a missing sheet is its own problem
    if any(not _blank(v) for v in raw.attestation.values()) or any(not _blank(v) for v in raw.corrections.values()):
        return False
    carried_all = issue.prefill or {}
    for row in raw.rows:
        carried = carried_all.get(text_of(row.ref)) or {}
        for key, value in row.values.items():
            if _blank(value):
                continue
            if key == "confirm" or key not in carried:
                return False
            if entered_value(value, key) != text_of(carried[key])[: 10 if key == "target_date" else None]:
                return False
    return True


def _upgrade(fw: Framework, current: Framework, res: CheckResult) -> None:
    """A return on an older version of the framework: map its answers onto the current one,
    or reject it asking for the current template (see :mod:`cmrg_excel.intake.upgrade`)."""
    from . import upgrade

    up = upgrade.plan(fw, current)
    if up is None:
        return
    if not up.complete:
        res.problems.append(Problem(L.META, L.meta_cell("framework_version"), "", fw.version, current.version,
                                    upgrade.old_template_message(up), C.OLD_TEMPLATE))
        return
    if res.problems:
        return
    areas = {a.ref: a.area for a in current.activities}
    res.answers = [a._replace(ref=up.targets[a.ref], area=areas[up.targets[a.ref]])
                   for a in res.answers if up.targets.get(a.ref)]
    res.mapping = dict(up.targets)
    res.upgraded_from = fw.version
    res.framework_hash = current.content_hash
    res.notes.append(Problem(L.META, L.meta_cell("framework_version"), "", fw.version, current.version, (
        f"Made with version {fw.version} of the framework and mapped onto the current version {current.version}: "
        f"{up.describe()}."), C.UPGRADED))


def _identity(raw, ledger: Ledger, file_name: str, res: CheckResult):
    p = res.problems.append
    for sheet in (L.CONTRACT, L.ASSESSMENT, L.ATTESTATION):
        if sheet not in raw.sheets:
            p(Problem(sheet, "", "", "", f"a sheet named {sheet}", (
                f"The {sheet} sheet is missing (it may have been renamed or deleted). Answers can only be read from "
                f"the workbook as we sent it: copy them into a fresh copy of that workbook and send it."),
                C.MISSING_SHEET))
    if raw.meta is None:
        sheet_id = text_of(raw.contract.get("contract_id")) if raw.contract else ""
        hint = ""
        if sheet_id and sheet_id in ledger.contract_ids:
            latest = ledger.latest_open(sheet_id)
            if latest is not None:
                hint = f" The workbook sent for {sheet_id} is {latest.file_path.rsplit('/', 1)[-1]}."
        p(Problem(L.META, "", "", "(missing)", "the hidden identity sheet we issued", (
            f"This is not a workbook we issued, or its hidden identity sheet ({L.META}) was removed, for example by "
            f"copying the answers into a new workbook or exporting from another program. {FRESH}{hint}"),
            C.NO_METADATA))
        return None
    token = text_of(raw.meta.get("issue_token"))
    token_cell = L.meta_cell("issue_token")
    issue = ledger.issues.get(token) if token else None
    if issue is None:
        cid = text_of(raw.meta.get("contract_id"))
        hint = ""
        if cid in ledger.contract_ids:
            latest = ledger.latest_open(cid)
            if latest is not None:
                hint = f" The workbook we sent for {cid} is {latest.file_path.rsplit('/', 1)[-1]} (round {latest.round})."
        p(Problem(L.META, token_cell, "", shown(token), "the identity code of a workbook we issued", (
            "This workbook was never issued from this register: its identity code matches none of the workbooks we "
            f"sent (it may be a test copy, from another council, or its hidden sheet was edited). {FRESH}{hint}"),
            C.UNKNOWN_TOKEN))
        return None
    res.token = token
    res.issue = issue
    res.contract_id = issue.contract_id
    res.round = issue.round
    res.framework_hash = issue.framework_hash
    res.corrects = issue.reissue_of

    # Every metadata value must be what was issued with this token.
    issued = {
        "issue_token": issue.token, "contract_id": issue.contract_id, "round": issue.round,
        "framework_id": issue.framework_id, "framework_version": issue.framework_version,
        "framework_hash": issue.framework_hash, "layout_version": issue.layout_version, "kind": issue.kind,
        "generated_at": issue.generated_at,
    }
    for key, want in issued.items():
        got = raw.meta.get(key)
        if text_of(got) != want or text_of(raw.meta_labels.get(key, key)) != key:
            p(Problem(L.META, L.meta_cell(key), "", shown(got), f'"{want}"', (
                f"The hidden identity sheet was changed: {key} is {shown(got)} but this workbook was issued with "
                f'"{want}". Returns must come back as issued, so they can be proved to be ours. {FRESH}'),
                C.ALTERED_METADATA))

    # The Contract sheet must show the contract the workbook was issued for.
    snap = issue.contract_snapshot
    if raw.contract:
        sheet_id = raw.contract.get("contract_id")
        cell = L.contract_cell("contract_id")
        if not _same_text(sheet_id, snap.get("contract_id", "")):
            other = text_of(sheet_id)
            hint = ""
            latest = ledger.latest_open(other) if other in ledger.contract_ids else None
            if latest is not None:
                hint = f" The workbook for {other} is {latest.file_path.rsplit('/', 1)[-1]}."
            p(Problem(L.CONTRACT, cell, "", shown(sheet_id), f'"{snap.get("contract_id")}"', (
                f"This is another contract's workbook: it was issued for {issue.contract_id} "
                f"({snap.get('title', '')}) but its Contract sheet shows {shown(sheet_id)}. Fill in the workbook "
                f"issued for your contract.{hint}"), C.WRONG_CONTRACT))
        else:
            for f in L.CONTRACT_FIELDS:
                if not f.identity:
                    if f.key not in raw.corrections:
                        _changed_detail(f, raw.contract.get(f.key), snap.get(f.key), res)
                    continue
                if f.key == "contract_id":
                    continue
                got = raw.contract.get(f.key)
                want = snap.get(f.key, "")
                if not _same_text(got, want):
                    p(Problem(L.CONTRACT, L.contract_cell(f.key), "", shown(got), f'"{want}"', (
                        f"The {f.label.lower()} was changed from \"{want}\" to {shown(got)}. Do not change the details "
                        f"in column {L.CONTRACT_VALUE_COL}; if one is wrong, write the correct value in column "
                        f"{L.CONTRACT_CORRECTION_COL} (Correction) instead."), C.ALTERED_CONTRACT))
    # A file named after another contract: identity comes from the workbook (its token), never
    # its name, so this is a note for the secretariat to look at, not a reason to refuse it.
    if file_name:
        named = ledger.ids_in_name(file_name)
        if named and issue.contract_id not in named:
            others = ", ".join(sorted(named))
            res.notes.append(Problem("", "", "", file_name, issue.contract_id, (
                f"Needs a look: the file is named for {others}, but it is the workbook issued for "
                f"{issue.contract_id} ({snap.get('title', '')}), so it was taken as {issue.contract_id}'s return. "
                f"If it holds {others}'s answers instead, withdraw it (cmrg decide withdraw {issue.contract_id} "
                f"--round {issue.round} --reason ...) and ask the owner of {others} for their own workbook."),
                C.NAME_MISMATCH))

    # The issue must still be the one to answer.
    latest_round = ledger.latest_round(issue.contract_id)
    if issue.status == "withdrawn":
        latest = ledger.latest_open(issue.contract_id)
        hint = (f" The workbook to fill in for {issue.contract_id} is {latest.file_path.rsplit('/', 1)[-1]} (round "
                f"{latest.round}).") if latest is not None else ""
        p(Problem(L.META, L.meta_cell("issue_token"), "", f"issued {issue.generated_at[:10]}", "an open workbook", (
            f"This workbook (round {issue.round}) was withdrawn by the review group: it was issued by mistake, so "
            f"no return is needed on it.{hint}"), C.WITHDRAWN))
    elif latest_round is not None and latest_round != issue.round:
        newer = ledger.latest_open(issue.contract_id, latest_round)
        where = f" ({newer.file_path.rsplit('/', 1)[-1]}, sent {newer.generated_at[:10]})" if newer else ""
        p(Problem(L.META, L.meta_cell("round"), "", issue.round, latest_round, (
            f"This workbook is from an earlier review round ({issue.round}). Round {latest_round} has started "
            f"since, and {issue.contract_id} was sent a new workbook for it{where}. Please fill in that one."),
            C.OLD_ROUND))
    elif issue.status == "superseded" and ledger.follow(issue).kind == "correction":
        newer = ledger.follow(issue)
        p(Problem(L.META, L.meta_cell("issue_token"), "", f"issued {issue.generated_at[:10]}",
                  f"the corrections workbook sent {newer.generated_at[:10]}", (
                      f"A corrections workbook was sent for {issue.contract_id} on {newer.generated_at[:10]} "
                      f"({newer.file_path.rsplit('/', 1)[-1]}): it has your answers filled in, with each cell to fix "
                      "shaded red and a note saying what is wrong. Please make the fixes in that workbook and send it "
                      "back; returns on this older workbook can no longer be accepted."), C.SUPERSEDED))
    elif issue.status == "superseded":
        newer = ledger.follow(issue)
        if newer is not issue:
            where = f"{newer.file_path.rsplit('/', 1)[-1]} (sent {newer.generated_at[:10]})"
        else:
            where = "a newer workbook"
        p(Problem(L.META, L.meta_cell("issue_token"), "", f"issued {issue.generated_at[:10]}",
                  f"the workbook issued {newer.generated_at[:10]}", (
                      f"This workbook was replaced by a newer one for {issue.contract_id}: {where}. Please copy your "
                      "answers into the newer workbook and send that one."), C.SUPERSEDED))
    return issue


def _detail_text(kind: str, value: object) -> str:
    """A contract detail as the owner sees it: dates dd/mm/yyyy, amounts as plain figures."""
    if kind == "date" and isinstance(value, str) and value:
        day, _ = read_date(value)
        return day.strftime("%d/%m/%Y") if day else value
    return text_of(value)


def _changed_detail(f, got: object, want: object, res: CheckResult) -> None:
    """A detail other than the contract's identity changed in the value column (the owner could
    not find the Correction column, or the sheet was unprotected): kept as a correction."""
    if _blank(got) and want in (None, ""):
        return
    if f.kind == "money":
        try:
            same = want is not None and abs(parse_money(got) - float(want)) < 0.005
        except (TypeError, ValueError):
            same = False
    elif f.kind == "date":
        day, _ = read_date(got)
        same = day is not None and isinstance(want, str) and day.isoformat() == want[:10]
    else:
        same = _same_text(got, want if want is not None else "")
    if same:
        return
    held, now = _detail_text(f.kind, want), _detail_text(f.kind, got)
    if isinstance(got, (dt.date, dt.datetime)):
        now = (got.date() if isinstance(got, dt.datetime) else got).strftime("%d/%m/%Y")
    res.corrections[f.key] = now
    res.notes.append(Problem(L.CONTRACT, L.contract_cell(f.key), "", shown(now), f'"{held}"', (
        f"The {f.label.lower()} was changed in column {L.CONTRACT_VALUE_COL} from \"{held}\" to {shown(now)}: kept as a "
        "correction for the review group."), C.CHANGED_DETAIL))


def _norm(value: object) -> str:
    return " ".join(text_of(value).split()).casefold()


_TEXTS: dict[str, dict[str, str]] = {}


def _texts(fw: Framework) -> dict[str, str]:
    """An activity's statement (case and spacing ignored) -> its reference, worked out once per framework."""
    got = _TEXTS.get(fw.content_hash)
    if got is None:
        got = _TEXTS[fw.content_hash] = {_norm(a.text): a.ref for a in fw.activities}
    return got


_PREVIOUS_LETTER = L.ASSESS_BY_KEY["previous"].letter
_OUTSIDE_LISTED = 10  # cells named one by one; the rest are counted in one more problem


def _extra_sheets(raw, issue, res: CheckResult) -> None:
    """Sheets we did not send: nothing on them is read, and the review group hears of it."""
    ours = set(L.SHEETS) | {L.FIXES}
    extra = [name for name in raw.sheets if name not in ours]
    if not extra:
        return
    names = ", ".join(f"'{visible(n)}'" for n in extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    res.notes.append(Problem(extra[0], "", "", names, "the sheets we sent", (
        f"The workbook has {'a sheet' if len(extra) == 1 else 'sheets'} we did not send ({names}): nothing on "
        f"{'it' if len(extra) == 1 else 'them'} is read. The answers counted are those on the {L.ASSESSMENT} "
        "sheet."), C.EXTRA_SHEET))


def _outside(cells: list, res: CheckResult) -> None:
    """Text written outside the cells that are read would be lost: refused, naming each cell."""
    p = res.problems.append
    how = {
        L.ASSESSMENT: "Move it into the Evidence or Improvement action of the activity it belongs to, or clear it.",
        L.CONTRACT: (f"If it corrects a contract detail, write it in column {L.CONTRACT_CORRECTION_COL} (Correction) "
                     "beside that detail; otherwise clear it."),
        L.ATTESTATION: "Clear it: only the sign-off cells are read.",
    }
    for sheet, cell, value in cells[:_OUTSIDE_LISTED]:
        where = "outside the table" if sheet == L.ASSESSMENT else "outside the form"
        p(Problem(sheet, cell, "", shown(value), "blank", (
            f"{shown(value)} is {where}, so it would not be read. {how.get(sheet, 'Clear it.')}"), C.OUTSIDE_TABLE))
    if len(cells) > _OUTSIDE_LISTED:
        rest = cells[_OUTSIDE_LISTED:]
        listed = ", ".join(f"{s}!{c}" for s, c, _ in rest[:20]) + (" ..." if len(rest) > 20 else "")
        p(Problem(rest[0][0], "", "", f"{len(rest)} more cells", "blank", (
            f"{len(rest)} more cells outside the table or form hold something that would not be read ({listed}). "
            "Move what matters into the answer cells and clear the rest."), C.OUTSIDE_TABLE))


def _formulas(raw, res: CheckResult) -> None:
    """A formula where a value belongs: its cached value is not what Excel would calculate next time
    (or is missing), so it is refused, whatever it shows. Other problems of those cells are dropped:
    fixing the formula is the one thing to do."""
    p = res.problems.append
    refs = {r.row: text_of(r.ref) for r in raw.rows}
    contract_rows = {L.CONTRACT_FIRST_ROW + i: f.label for i, f in enumerate(L.CONTRACT_FIELDS)}
    attest = {f.cell: f.label for f in L.ATTEST_FIELDS}
    headings = {c.letter: c.heading.split(":")[0] for c in L.ASSESS_COLUMNS}
    cells = set()
    for sheet, found in raw.formulas.items():
        for cell, text in found.items():
            letters = cell.rstrip("0123456789")
            row = int(cell[len(letters):] or 0)
            ref = refs.get(row, "") if sheet == L.ASSESSMENT else ""
            if sheet == L.ASSESSMENT:
                what = f"the {headings.get(letters, 'cell').lower()} cell" if letters in headings else "this cell"
            elif sheet == L.CONTRACT:
                what = f"the cell for {contract_rows.get(row, 'this detail').lower()}"
            elif sheet == L.ATTESTATION:
                what = f"'{attest[cell]}'" if cell in attest else "this cell"
            else:
                what = "the hidden identity sheet"
            formula = visible("=" + text if text else "a formula shared with the cell above")
            formula = formula if len(formula) <= 60 else formula[:57] + "..."
            cells.add((sheet, cell))
            p(Problem(sheet if sheet != L.META else L.META, cell, ref, formula, "a value", (
                f"{what} holds a formula ({formula}), not a value: type the value, not a formula"), C.FORMULA))
    res.problems[:] = [q for q in res.problems if q.code == C.FORMULA or (q.sheet, q.cell) not in cells]


def _contract_sheet(raw, res: CheckResult) -> None:
    limit = L.MAX_TEXT["correction"]
    for f in L.CONTRACT_FIELDS:
        if f.key not in raw.corrections:
            continue
        value = text_of(raw.corrections[f.key])
        if not value:
            continue
        cell = L.contract_cell(f.key, L.CONTRACT_CORRECTION_COL)
        if len(value) > limit:
            res.problems.append(Problem(L.CONTRACT, cell, "", f"{len(value)} characters", f"at most {limit}", (
                f"The correction to {f.label.lower()} is {len(value)} characters long; keep it to {limit}."),
                C.TOO_LONG))
        res.corrections[f.key] = value


_PREPARED: dict[str, tuple] = {}


def _prepared(fw: Framework) -> tuple:
    """What the Assessment rules need from a framework, worked out once per framework."""
    got = _PREPARED.get(fw.content_hash)
    if got is None:
        scale = fw.scale
        labels = scale.labels
        lmap = {}
        for lb in labels:
            lmap[lb] = lb
            lmap[" ".join(lb.split()).casefold()] = lb
        scores = {lb: (None if lb == scale.not_applicable else float(scale.score_of(lb))) for lb in labels}
        fast = (lmap, scores, scale.not_applicable, L.MAX_TEXT)
        got = (", ".join(labels), L.activity_rows(fw),
               {r.row for r in L.assessment_rows(fw) if r.kind != "activity"}, fast)
        _PREPARED[fw.content_hash] = got
    return got


def _assessment(raw, fw: Framework, issue, res: CheckResult, outside: list) -> None:
    """The Assessment sheet's rows; cells found outside the table are added to ``outside``."""
    if L.ASSESSMENT not in raw.sheets:
        return
    p = res.problems.append
    scale = fw.scale
    choices, expected_rows, area_rows, fast = _prepared(fw)
    by = L.ASSESS_BY_KEY
    # "Still accurate?" (column K) is part of the table only in a re-review workbook; in a first-round
    # one anything there is outside the table (an unknown workbook is given the benefit of the doubt).
    re_review = issue is None or bool(issue.prefill)
    keys = L.INPUT_KEYS if re_review else L.ANSWER_KEYS  # "Still accurate?" only on re-review workbooks
    headings = {str(a.number): _norm(a.name) for a in fw.areas}
    found: dict[str, list] = {}
    stray = []
    for row in raw.rows:
        if not re_review and not _blank(row.values.get("confirm")):
            outside.append((L.ASSESSMENT, f"{by['confirm'].letter}{row.row}", row.values["confirm"]))
            row = replace(row, values={**row.values, "confirm": ""})
        ref = row.ref
        if ref.__class__ is not str or ref not in expected_rows:
            ref = text_of(ref)
        if ref in expected_rows:
            found.setdefault(ref, []).append(row)
        elif any(not _blank(row.values.get(k)) for k in keys):
            stray.append(row)
        elif row.row not in area_rows and not _blank(row.ref) and headings.get(ref) != _norm(row.activity):
            # a Ref that is neither an activity's nor an area heading's (wherever rows were moved to)
            outside.append((L.ASSESSMENT, f"{by['ref'].letter}{row.row}", row.ref))
    for row in stray:
        key = next(k for k in keys if not _blank(row.values.get(k)))
        cell = f"{by[key].letter}{row.row}"
        what = "a heading row" if row.row in area_rows else "a row that is not a key activity"
        p(Problem(L.ASSESSMENT, cell, text_of(row.ref), shown(row.values[key]), "blank", (
            f"{shown(row.values[key])} is in {what}, so it would not be counted. Move it to the activity it belongs "
            "to, or clear it."), C.STRAY_ANSWER))
    prefill = (issue.prefill or {}) if issue is not None else {}
    moved = []
    texts = _texts(fw)
    for act in fw.activities:
        rows = found.get(act.ref, [])
        want_row = expected_rows[act.ref]
        if not rows:
            p(Problem(L.ASSESSMENT, f"{by['ref'].letter}{want_row}", act.ref, "(missing)", f"a row for {act.ref}", (
                f"The row for activity {act.ref} is missing (it may have been deleted or its Ref changed). Copy your "
                "answers into a fresh copy of the workbook we sent you."), C.MISSING_ROW))
            continue
        if len(rows) > 1:
            cells = ", ".join(f"{by['ref'].letter}{r.row}" for r in rows)
            p(Problem(L.ASSESSMENT, f"{by['ref'].letter}{rows[1].row}", act.ref, cells, "one row", (
                f"Activity {act.ref} appears on more than one row ({cells}); keep one row per activity."),
                C.DUPLICATE_ROW))
            continue
        row = rows[0]
        if row.activity != act.text and _norm(row.activity) != _norm(act.text):
            other = texts.get(_norm(row.activity))
            why = (f"that is activity {other}'s, so the Ref column was re-ordered or sorted on its own" if other else
                   "the activity's words were changed")
            p(Problem(L.ASSESSMENT, f"{by['ref'].letter}{row.row}", act.ref, shown(row.activity), shown(act.text), (
                f"Row {row.row} is marked {act.ref} but its key activity is not {act.ref}'s: it reads "
                f"{shown(row.activity)}, where {act.ref} is {shown(act.text)}; {why}. The answers on this row cannot "
                "be matched to an activity: copy your answers into a fresh copy of the workbook we sent you."),
                C.REF_MISMATCH))
            continue
        if row.row != want_row:
            moved.append((act.ref, row.row, want_row))
        answer = _activity(row, act, scale, choices, prefill.get(act.ref), res, fast)
        if answer is not None:
            res.answers.append(answer)
    if moved:
        ref, got, want = moved[0]
        more = f" and {len(moved) - 1} other row(s)" if len(moved) > 1 else ""
        res.notes.append(Problem(L.ASSESSMENT, f"{by['ref'].letter}{got}", ref, f"row {got}", f"row {want}", (
            f"Rows were moved or sorted (activity {ref} was on row {got}, not {want}{more}); answers were matched "
            "by their Ref."), C.ROWS_MOVED))


def _activity(row, act, scale, choices: str, carried: dict | None, res: CheckResult, fast=None):
    v = row.values
    if fast is not None and carried is None:
        # The common case, kept cheap: a valid rating, evidence within limits, no action, no confirm.
        lmap, scores, na_label, max_text = fast
        rating, ev = v.get("rating"), v.get("evidence", "")
        action, owner, target = v.get("action", ""), v.get("action_owner", ""), v.get("target_date", "")
        if rating.__class__ is str and ev.__class__ is str and v.get("confirm", "") == "":
            label = lmap.get(rating) or lmap.get(" ".join(rating.split()).casefold())
            evs = ev.strip()
            if label is not None and len(evs) <= max_text["evidence"] and (evs or label != na_label):
                if action == "" and owner == "" and target == "":
                    return Answer(act.ref, act.area, label, scores[label], label == na_label, evs, "", "", None,
                                  "new", act.ref, L.ASSESSMENT, row.row)
                if action.__class__ is str and owner.__class__ is str and target.__class__ in (dt.date, dt.datetime):
                    action, owner = action.strip(), owner.strip()
                    day = target.date() if target.__class__ is dt.datetime else target
                    if (action and owner and len(action) <= max_text["action"]
                            and len(owner) <= max_text["action_owner"] and DATE_MIN <= day <= DATE_MAX):
                        return Answer(act.ref, act.area, label, scores[label], label == na_label, evs, action, owner,
                                      day.isoformat(), "new", act.ref, L.ASSESSMENT, row.row)
    p = res.problems.append
    by = L.ASSESS_BY_KEY
    r = row.row
    ok = True

    def cell(key: str) -> str:
        return f"{by[key].letter}{r}"

    raw_rating = v.get("rating")
    label = scale.normalise(raw_rating)
    if _blank(raw_rating):
        p(Problem(L.ASSESSMENT, cell("rating"), act.ref, "(blank)", choices,
                  "no rating given; choose one from the dropdown list", C.MISSING_RATING))
        ok = False
    elif label is None:
        hidden = hidden_character(raw_rating) if isinstance(raw_rating, str) else None
        what = (f"the rating contains an invisible character ({hidden}), so it is not one of the list" if hidden
                else f"{shown(raw_rating)} is not a rating")
        p(Problem(L.ASSESSMENT, cell("rating"), act.ref, shown(raw_rating), choices, (
            f"{what}; choose one from the dropdown list ({choices})"), C.BAD_RATING))
        ok = False
    texts = {}
    for key in ("evidence", "action", "action_owner"):
        t = text_of(v.get(key))
        limit = L.MAX_TEXT[key]
        if len(t) > limit:
            p(Problem(L.ASSESSMENT, cell(key), act.ref, f"{len(t)} characters", f"at most {limit}", (
                f"the {by[key].heading.split(':')[0].lower()} is {len(t)} characters long; keep it to {limit}"),
                C.TOO_LONG))
            ok = False
        texts[key] = t
    na = label == scale.not_applicable
    if na and not texts["evidence"]:
        p(Problem(L.ASSESSMENT, cell("evidence"), act.ref, "(blank)", "the reason it does not apply", (
            f"{scale.not_applicable} needs a reason: say in Evidence why this activity does not apply to this "
            "contract"), C.NA_NEEDS_REASON))
        ok = False
    raw_target = v.get("target_date")
    target = None
    has_action = bool(texts["action"] or texts["action_owner"] or not _blank(raw_target))
    if not _blank(raw_target):
        target, why = parse_date(raw_target)
        if target is None:
            p(Problem(L.ASSESSMENT, cell("target_date"), act.ref, shown(raw_target), DATE_HELP,
                      f"the target date {shown(raw_target)} {why}; enter {DATE_HELP}", C.BAD_DATE))
            ok = False
        elif not DATE_MIN <= target <= DATE_MAX:
            p(Problem(L.ASSESSMENT, cell("target_date"), act.ref, target.strftime("%d/%m/%Y"),
                      f"a date between {DATE_MIN.year} and {DATE_MAX.year}",
                      f"the target date {target:%d/%m/%Y} is not a plausible date; enter {DATE_HELP}", C.BAD_DATE))
            ok = False
            target = None
    if has_action:
        if not texts["action"]:
            p(Problem(L.ASSESSMENT, cell("action"), act.ref, "(blank)", "the improvement action", (
                "an action owner or target date is given but no improvement action; describe the action, or clear "
                "the owner and date"), C.MISSING_ACTION))
            ok = False
        if not texts["action_owner"]:
            p(Problem(L.ASSESSMENT, cell("action_owner"), act.ref, "(blank)", "who owns the action",
                      "the improvement action needs an action owner: say who will make sure it happens",
                      C.MISSING_OWNER))
            ok = False
        if _blank(raw_target):
            p(Problem(L.ASSESSMENT, cell("target_date"), act.ref, "(blank)", DATE_HELP,
                      f"the improvement action needs a target date: enter {DATE_HELP}", C.MISSING_TARGET_DATE))
            ok = False
    confirm_raw = v.get("confirm")
    confirmed = False
    if not _blank(confirm_raw):
        confirmed = _same_text(confirm_raw, L.CONFIRM_YES)
        if not confirmed:
            p(Problem(L.ASSESSMENT, cell("confirm"), act.ref, shown(confirm_raw), f'"{L.CONFIRM_YES}" or blank', (
                f"'Still accurate?' must be {L.CONFIRM_YES} or left blank, not {shown(confirm_raw)}"), C.BAD_CONFIRM))
            ok = False
    change = "new"
    if carried:
        same = (
            (label or "") == (carried.get("rating") or "")
            and texts["evidence"] == text_of(carried.get("evidence"))
            and texts["action"] == text_of(carried.get("action"))
            and texts["action_owner"] == text_of(carried.get("action_owner"))
            and (target.isoformat() if target else None) == ((carried.get("target_date") or None) and
                                                             str(carried.get("target_date"))[:10])
        )
        before = scale.normalise(carried.get("rating"))
        if (label and before and label != scale.not_applicable and before != scale.not_applicable
                and scale.rank_of(label) - scale.rank_of(before) >= 2
                and texts["evidence"] in ("", text_of(carried.get("evidence")))):
            p(Problem(L.ASSESSMENT, cell("evidence"), act.ref, shown(texts["evidence"]), "what has changed", (
                f"the rating rose from {before} to {label} (two levels or more) without new evidence; say in "
                "Evidence what has changed since the last review"), C.JUMP_WITHOUT_EVIDENCE))
            ok = False
        if same and confirmed:
            change = "re-confirmed"
        elif same and (confirmed or _blank(confirm_raw)):
            p(Problem(L.ASSESSMENT, cell("confirm"), act.ref, "(blank)", f'"{L.CONFIRM_YES}" or an updated answer', (
                f"this answer was carried forward from the last review: choose {L.CONFIRM_YES} in 'Still accurate?' if "
                "it still holds, or update it"), C.UNCONFIRMED))
            ok = False
        elif not same:
            change = "changed"
    if not ok or label is None:
        return None
    score = scale.score_of(label)
    return Answer(
        ref=act.ref, area=act.area, rating=label, score=None if score is None else float(score), not_applicable=na,
        evidence=texts["evidence"], action=texts["action"], action_owner=texts["action_owner"],
        target_date=target.isoformat() if target else None, change=change, source_ref=text_of(row.ref),
        sheet=L.ASSESSMENT, row=r,
    )


def _attestation(raw, issue, received: dt.datetime, res: CheckResult) -> None:
    if L.ATTESTATION not in raw.sheets:
        return
    p = res.problems.append
    a = raw.attestation
    F = L.ATTEST_BY_KEY
    for key in ("name", "role"):
        t = text_of(a.get(key))
        limit = L.MAX_TEXT[key]
        if not t:
            p(Problem(L.ATTESTATION, F[key].cell, "", "(blank)", F[key].label.lower(),
                      f"the attestation needs {'your name' if key == 'name' else 'your role'}; "
                      f"fill in '{F[key].label}'", C.ATTESTATION_INCOMPLETE))
        elif len(t) > limit:
            p(Problem(L.ATTESTATION, F[key].cell, "", f"{len(t)} characters", f"at most {limit}",
                      f"'{F[key].label}' is {len(t)} characters long; keep it to {limit}", C.TOO_LONG))
        setattr(res, f"attested_{key}", t or None)
    raw_date = a.get("date")
    cell = F["date"].cell
    if _blank(raw_date):
        p(Problem(L.ATTESTATION, cell, "", "(blank)", DATE_HELP,
                  f"the attestation needs the date you signed it: enter {DATE_HELP}", C.ATTESTATION_INCOMPLETE))
    else:
        signed, why = parse_date(raw_date)
        today = received.date()
        issued_on = None
        if issue is not None:
            try:
                issued_on = dt.date.fromisoformat(issue.generated_at[:10])
            except ValueError:
                issued_on = None
        if signed is None:
            p(Problem(L.ATTESTATION, cell, "", shown(raw_date), DATE_HELP,
                      f"the date signed {shown(raw_date)} {why}; enter {DATE_HELP}", C.BAD_DATE))
        elif signed > today + dt.timedelta(days=1):
            p(Problem(L.ATTESTATION, cell, "", f"{signed:%d/%m/%Y}", f"on or before {today:%d/%m/%Y}",
                      f"the date signed, {signed:%d/%m/%Y}, is in the future; enter the date you signed the return",
                      C.ATTESTATION_DATE))
        elif issued_on is not None and signed < issued_on:
            p(Problem(L.ATTESTATION, cell, "", f"{signed:%d/%m/%Y}", f"on or after {issued_on:%d/%m/%Y}", (
                f"the date signed, {signed:%d/%m/%Y}, is before the workbook was issued on {issued_on:%d/%m/%Y}; "
                "enter the date you signed the return"), C.ATTESTATION_DATE))
        else:
            res.attested_on = signed.isoformat()
    conf = a.get("confirm")
    if not _same_text(conf, L.ATTEST_YES):
        found = shown(conf)
        msg = (f"confirm the return is accurate: choose {L.ATTEST_YES} from the list" if _blank(conf)
               else f"the confirmation must be {L.ATTEST_YES}, not {found}; choose {L.ATTEST_YES} from the list")
        p(Problem(L.ATTESTATION, F["confirm"].cell, "", found, f'"{L.ATTEST_YES}"', msg, C.ATTESTATION_INCOMPLETE))
