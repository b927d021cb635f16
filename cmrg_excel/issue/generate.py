"""Issuing a round: one locked, validated self-assessment workbook per contract.

The workbook itself is built in :mod:`.template` (or stamped, :mod:`.stamp`);
:func:`generate_round` does a whole round for a workspace: reads the contract list,
writes ``outbox/ROUND/<contract>.xlsx``, records each file in the issue ledger and writes
the email hand-off files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..kit import layout as L
from .. import register as reg
from ..core.contracts import Contract, ContractList, read_contracts, safe_filename
from ..core.framework import Framework
from ..kit.files import write_atomic
from .spec import TemplateSpec, new_token
from .template import build_template
from .stamp import Stamper, build_in_worker, start_worker
from ..core.workspace import Workspace
from ..core.errors import CmrgError

ROUND_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


class GenerateError(CmrgError):
    """Generation cannot go ahead (bad round name, already generated, bad contract list)."""


def check_round(name: str) -> str:
    name = name.strip()
    if not ROUND_RE.match(name):
        raise GenerateError(
            f"round {name!r} is not a valid name: use 1-40 letters, digits, spaces, '.', '_' or '-', "
            "for example 2026-27 or R1"
        )
    return name




def close_round(name: str, known: Iterable[str]) -> str | None:
    """An issued round whose name is so close to a new one that the new one may be a slip
    (``2026-72`` for ``2026-27``, ``2026 27`` for ``2026-27``), or None. A plausible next or
    previous round (each number within one: ``2027-28`` after ``2026-27``, ``R2`` after ``R1``)
    is never a slip."""
    import difflib

    known = [k for k in known if k != name]
    if not known:
        return None

    def squash(text: str) -> str:
        return re.sub(r"[\W_]+", "", text.casefold())

    def parts(text: str) -> list[str]:
        return re.findall(r"\d+|\D+", squash(text))

    def adjacent(a: str, b: str) -> bool:
        pa, pb = parts(a), parts(b)
        if len(pa) != len(pb) or squash(a) == squash(b):
            return False
        return all((x.isdigit() and y.isdigit() and abs(int(x) - int(y)) <= 1) or x == y for x, y in zip(pa, pb))

    if any(adjacent(name, k) for k in known):
        return None
    for k in reversed(known):  # the same name written differently
        if squash(k) == squash(name):
            return k
    folded = {k.casefold(): k for k in known}
    match = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.8)
    return folded[match[0]] if match else None


# --- a whole round ---------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratedFile:
    contract_id: str
    path: Path
    token: str
    sha256: str
    eml: Path | None = None


@dataclass(frozen=True)
class GenerateResult:
    round: str
    folder: Path
    files: list[GeneratedFile]
    skipped: list  # ContractProblem of rows left out with --skip-invalid
    superseded: int
    deadline: dt.date
    mailmerge: Path | None
    already_issued: list[str] = field(default_factory=list)  # left out with skip_issued
    open_in_round: int = 0  # open workbooks of the round after this run (rows of mailmerge.csv)
    close_to: str | None = None  # a new round whose name is close to this issued one: perhaps a slip
    prefilled: int = 0  # workbooks filled with the answers of --prefill-from's round
    prefill_open: list[str] = field(default_factory=list)  # contracts generated whose return in that round is still open


def select_contracts(clist: ContractList, only: Iterable[str] | None, skip_invalid: bool) -> list[Contract]:
    """The contracts to generate for, after the list's checks and --only."""
    if clist.problems and not skip_invalid:
        raise GenerateError(clist.problems_message("generated"))
    contracts = list(clist.contracts)
    if only:
        wanted = {o.casefold(): o for o in only}
        known = {c.contract_id.casefold() for c in contracts}
        bad_ids = {str(p.value).casefold() for p in clist.problems if p.column == "contract_id"}
        missing = [o for k, o in wanted.items() if k not in known]
        if missing:
            hint = " (its row has problems)" if any(m.casefold() in bad_ids for m in missing) else ""
            raise GenerateError(f"not on the contract list{hint}: {', '.join(missing)}. Nothing was generated; check "
                                f"the ID in {Path(str(clist.source)).name}, or leave it out of --only")
        contracts = [c for c in contracts if c.contract_id.casefold() in wanted]
    if not contracts:
        raise GenerateError(f"{clist.source} has no contracts to generate for")
    return contracts


def _ledger_entry(ws: Workspace, spec: TemplateSpec, path: Path, sha: str, reissue_of: int | None,
                  prefill: dict | None) -> reg.Issue:
    return reg.Issue(
        token=spec.token, contract_id=spec.contract.contract_id, round=spec.round,
        framework_id=spec.framework.id, framework_version=spec.framework.version,
        framework_hash=spec.framework.content_hash, layout_version=L.LAYOUT_VERSION, kind=spec.kind,
        file_path=path.relative_to(ws.root).as_posix(), file_sha256=sha, generated_at=spec.generated_at,
        deadline=spec.deadline.isoformat(), contract_snapshot=reg.contract_details(spec.contract),
        reissue_of=reissue_of, prefill_round=spec.carried_from, prefill=prefill,
    )


def _record(conn, entries: list[tuple[TemplateSpec, reg.Issue]]) -> None:
    """Record issued workbooks in the ledger, all or none."""
    with reg.transaction(conn):
        stored: set[str] = set()
        for spec, issue in entries:
            if spec.framework.content_hash not in stored:  # one JSON copy per definition, not per file
                reg.store_framework(conn, spec.framework)
                stored.add(spec.framework.content_hash)
            reg.upsert_contract(conn, spec.contract)
            reg.record_issue(conn, issue)


def issue_workbook(ws: Workspace, conn, spec: TemplateSpec, path: Path, *, reissue_of: int | None = None,
                   prefill: dict | None = None) -> GeneratedFile:
    """Build one workbook, write it to ``path`` and record it in the ledger (one transaction)."""
    data = build_template(spec)
    sha = hashlib.sha256(data).hexdigest()
    write_atomic(path, data)
    _record(conn, [(spec, _ledger_entry(ws, spec, path, sha, reissue_of, prefill))])
    return GeneratedFile(spec.contract.contract_id, path, spec.token, sha)


PARALLEL_FROM = 40  # below this, starting worker processes costs more than it saves
LEDGER_BATCH = 100


def build_many(specs: list[TemplateSpec], workers: int | None = None) -> Iterable[bytes]:
    """Workbook bytes for each spec, in order; on every core for a large round.

    Fresh templates are stamped from one base workbook per round and contract shape
    (cmrg_excel/stamp.py), about 3 ms each instead of 25; the rest (carried-forward
    answers, corrections) are built by build_template.
    """
    workers = workers or min(4, os.cpu_count() or 1)
    if len(specs) < PARALLEL_FROM or workers < 2:
        yield from map(Stamper().build, specs)
        return
    from concurrent.futures import ProcessPoolExecutor

    # Measured on 2 cores, 1,000 fresh templates: 2.7 s stamped in two workers while this
    # process writes and records the files, 4.5 s all stamped here.
    with ProcessPoolExecutor(max_workers=workers, initializer=start_worker) as pool:
        yield from pool.map(build_in_worker, specs, chunksize=16)


def spec_for(ws: Workspace, contract: Contract, fw: Framework, round: str, deadline: dt.date,
             **extra) -> TemplateSpec:
    """A TemplateSpec with the workspace's settings filled in."""
    cfg = ws.config
    return TemplateSpec(
        contract=contract, framework=fw, round=round, token=new_token(), council=cfg.council_name,
        review_group=cfg.review_group, return_email=cfg.return_email, password=cfg.password,
        deadline=deadline, generated_at=reg.now(), **extra,
    )


def generate_round(
    ws: Workspace,
    round: str,
    *,
    only: Iterable[str] | None = None,
    force: bool = False,
    skip_invalid: bool = False,
    skip_issued: bool = False,
    eml: bool = False,
    prefill_from: str | None = None,
    today: dt.date | None = None,
    progress: Callable[[Contract], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Generate a round's workbooks into ``outbox/ROUND/`` and record them in the ledger.

    ``skip_issued`` leaves out contracts that already have an open workbook in the round
    (after a month of the plan, or contracts added to the list) instead of refusing.
    ``on_start(total)`` is called once the contracts are chosen, ``progress(contract)``
    after each workbook is written."""
    round = check_round(round)
    fw = ws.framework()
    clist = read_contracts(ws.contracts_path)
    contracts = select_contracts(clist, only, skip_invalid)
    today = today or dt.date.today()
    deadline = ws.config.deadline_from(today)
    if deadline < today:
        raise GenerateError(f"the deadline in cmrg.toml, {deadline:%d/%m/%Y}, has passed: set a later [templates] "
                            "deadline, or comment it out to use deadline_days. Nothing was generated")
    folder = ws.outbox / round
    conn = reg.open_register(ws)
    try:
        if prefill_from is not None:
            prefill_from = check_round(prefill_from)
            if prefill_from == round:
                raise GenerateError("--prefill-from must name an earlier round, not the one being generated")
            if prefill_from not in reg.rounds(conn):
                raise GenerateError(f"round {prefill_from!r} has never been issued, so there is nothing to carry forward")
        issued_rounds = reg.rounds(conn)
        close_to = close_round(round, issued_rounds) if round not in issued_rounds else None
        open_before = {i.contract_id: i for i in reg.list_issues(conn, round, open_only=True)}
        clash = [c.contract_id for c in contracts if c.contract_id in open_before]
        already: list[str] = []
        if clash and skip_issued and not force:
            already, clash = clash, []
            contracts = [c for c in contracts if c.contract_id not in open_before]
            if not contracts:
                raise GenerateError(f"every one of these contracts already has a workbook in round {round}; "
                                    "nothing to generate")
        if clash and not force:
            shown = ", ".join(clash[:8]) + (f" and {len(clash) - 8} more" if len(clash) > 8 else "")
            raise GenerateError(
                f"round {round} already has workbooks for {len(clash)} of these contracts ({shown}). Nothing was "
                "overwritten. Use --skip-issued to issue only the contracts without one, or --force to issue new "
                "ones for all: the old ones are then marked superseded, and returns made on them will be rejected."
            )
        letter_template = None
        if eml:  # read once; a workspace template that cannot be used stops the run here, before anything is issued
            from .mail import load_template

            letter_template = load_template("email-issue.txt", ws.root)
        carried = _carried_answers(conn, prefill_from, fw) if prefill_from else {}
        specs: list[TemplateSpec] = []
        paths: list[Path] = []
        used_names: set[str] = set()
        for contract in contracts:
            stem = safe_filename(contract.contract_id)
            while stem.casefold() in used_names:
                stem += "_"
            used_names.add(stem.casefold())
            answers = carried.get(contract.contract_id, {})
            specs.append(spec_for(
                ws, contract, fw, round, deadline,
                kind="reissue" if contract.contract_id in open_before else "initial",
                answers=answers, carried_from=prefill_from if answers else None,
            ))
            paths.append(folder / f"{stem}.xlsx")
        if on_start:
            on_start(len(specs))
        files: list[GeneratedFile] = []
        pending: list[tuple[TemplateSpec, reg.Issue]] = []
        for spec, path, data in zip(specs, paths, build_many(specs)):
            sha = hashlib.sha256(data).hexdigest()
            write_atomic(path, data, durable=False)
            prefill = {ref: {k: v for k, v in a.items() if k != "previous"}
                       for ref, a in spec.answers.items()} or None
            pending.append((spec, _ledger_entry(ws, spec, path, sha, None, prefill)))
            files.append(GeneratedFile(spec.contract.contract_id, path, spec.token, sha))
            if len(pending) >= LEDGER_BATCH:
                _record(conn, pending)
                pending = []
            if progress:
                progress(spec.contract)
        if pending:
            _record(conn, pending)
        mailmerge = write_mailmerge(ws, conn, round)
        open_in_round = len(reg.list_issues(conn, round, open_only=True))
        prefill_open = []
        if prefill_from:
            # issued in that round (and not replaced) but with no accepted return to carry forward
            made = {f.contract_id for f in files} - set(carried)
            prefill_open = sorted({i.contract_id for i in reg.list_issues(conn, prefill_from, open_only=True)} & made)
        if eml:
            by_id = {c.contract_id: c for c in contracts}
            files = [write_issue_eml(ws, f, by_id[f.contract_id], deadline, round, letter_template) for f in files]
    finally:
        conn.close()
    return GenerateResult(round, folder, files, list(clist.problems) if skip_invalid else [],
                          len(clash), deadline, mailmerge, already, open_in_round, close_to,
                          prefilled=sum(1 for spec in specs if spec.carried_from), prefill_open=prefill_open)


def _carried_answers(conn, from_round: str, fw: Framework) -> dict[str, dict[str, dict]]:
    """Accepted answers of an earlier round, by contract and reference, for pre-filling."""
    df = reg.answers_frame(conn, from_round)
    refs = {a.ref for a in fw.activities}
    out: dict[str, dict[str, dict]] = {}
    for row in df.itertuples(index=False):
        if row.ref not in refs:
            continue
        target = row.target_date.date().isoformat() if not _isnull(row.target_date) else None
        out.setdefault(row.contract_id, {})[row.ref] = {
            "rating": row.rating, "evidence": row.evidence or "", "action": row.action or "",
            "action_owner": row.action_owner or "", "target_date": target,
            "previous": f"{from_round}: {row.rating}",
        }
    return out


def _isnull(value: object) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def write_mailmerge(ws: Workspace, conn, round: str) -> Path:
    """outbox/ROUND/mailmerge.csv: one row per open issue of the round, for mail merge.

    A round issued a month at a time holds workbooks sent earlier: ``issued_on`` lets a
    mail merge pick out the latest ones."""
    from ..kit.files import write_csv

    rows = []
    folders: dict[Path, Path] = {}
    for issue in reg.list_issues(conn, round, open_only=True):
        snap = issue.contract_snapshot
        rows.append({
            "owner_name": snap.get("owner_name", ""), "owner_email": snap.get("owner_email", ""),
            "contract_id": issue.contract_id, "title": snap.get("title", ""),
            "attachment_path": str(_resolved(ws.root / issue.file_path, folders)),
            "deadline": dt.date.fromisoformat(issue.deadline) if issue.deadline else "",
            "issued_on": _issued_on(issue.generated_at),
        })
    from .mail import MAILMERGE_COLUMNS

    return write_csv(ws.outbox / round / "mailmerge.csv", MAILMERGE_COLUMNS + ["issued_on"], rows)


def _issued_on(generated_at: str | None) -> dt.date | str:
    """The UK date a workbook was generated (the ledger keeps UTC times)."""
    if not generated_at:
        return ""
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromisoformat(generated_at)
    if when.tzinfo is None:
        return when.date()
    try:
        return when.astimezone(ZoneInfo("Europe/London")).date()
    except Exception:  # no time zone data on this system: the UTC date
        return when.date()


def _resolved(path: Path, folders: dict[Path, Path]) -> Path:
    """``path.resolve()``, resolving each folder once (a round's files share one or two)."""
    if path.name in ("", ".", "..") or path.is_symlink():
        return path.resolve()
    if path.parent not in folders:
        folders[path.parent] = path.parent.resolve()
    return folders[path.parent] / path.name


def write_issue_eml(ws: Workspace, f: GeneratedFile, contract: Contract, deadline: dt.date, round: str,
                    template: str) -> GeneratedFile:
    """A ready-to-send draft beside the workbook, with it attached (``template``: the text of
    email-issue.txt, read once by the caller)."""
    from dataclasses import replace

    from .mail import make_eml, render

    cfg = ws.config
    letter = render(template, {
        **reg.contract_details(contract), "round": round, "deadline": deadline.strftime("%d/%m/%Y"),
        "attachment_name": f.path.name, "return_email": cfg.return_email, "review_group": cfg.review_group,
        "council": cfg.council_name,
    })
    data = make_eml(cfg.return_email, contract.owner_name, contract.owner_email, letter, [f.path])
    target = f.path.with_suffix(".eml")
    write_atomic(target, data)
    return replace(f, eml=target)


