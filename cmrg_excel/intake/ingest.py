"""``cmrg ingest``: every returned workbook in ``inbox/`` checked and filed, safely and fast.

For each file (``inbox/`` and its subfolders, except ``inbox/rejected/`` and
``inbox/duplicates/``; Office lock files such as ``~$name.xlsx`` and hidden files are
left alone):

1. **preflight** on the bytes, then **read** with python-calamine, both in worker processes
   with a memory cap and a time limit (:mod:`cmrg_excel.intake.read`);
2. **check** identity and values (:mod:`cmrg_excel.intake.check`);
3. **file it**, in exactly one place:

   * *accepted*: the original bytes are copied to
     ``archive/ROUND/CONTRACT/<received>-<sha256 prefix>-<name>``, the register gets the
     submission, its answers (with sheet and row) and actions, all or nothing, and the
     contract's previous return for the round, if any, becomes ``superseded``;
   * *rejected*: copied to ``inbox/rejected/<name>`` with ``<name>.problems.txt`` beside it
     (what to fix, with sheet and cell), and a rejected submission with its problems;
   * *duplicate* (the same bytes were received before, accepted or rejected): moved to
     ``inbox/duplicates/<name>``, the register is unchanged, the report says where the first
     copy is. Duplicates are kept rather than deleted so that nothing is ever lost; the
     secretariat may delete that folder at any time.

Crash safety. The order for each file is: copy to its destination, register it (recording
the inbox copy as "to remove"; each file in its own savepoint, committed in groups of up to
50 files or half a second, so the register is never half-written for any file), and only
after a group flush to disk (``os.sync`` every few hundred files and at the end) remove it
from ``inbox/``. A run killed at any
moment leaves either an unregistered copy (removed on the next run, the inbox file is still
there) or a registered file still in ``inbox/`` (recognised by its SHA-256 on the next run
and removed), so after the next run every file is in exactly one place and registered at
most once. The whole run holds the workspace lock: a second ingest waits, then refuses.

Each run writes ``outbox/ingest-<time>.xlsx`` (every file and every reason, as Excel
Tables) and returns an :class:`IngestResult`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import register as reg
from .check import Ledger, Problem, check
from ..core.contracts import safe_filename
from .read import ReaderPool, ReadResult, limits_for
from ..core.workspace import Workspace, WorkspaceError
from ..kit.files import write_atomic
from ..kit.tables import write_table_workbook

IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
FLUSH_EVERY = 500  # files between flushes to disk (and removals from inbox/)
FLUSH_SECONDS = 2.0
COMMIT_EVERY = 50  # files registered per transaction (each one all-or-nothing in its own savepoint)
COMMIT_SECONDS = 0.5
KILL_HOOK = "CMRG_TEST_KILL_AT"  # "stage:N": SIGKILL this process at stage copied|committed|removed of file N

OUTCOMES = ("accepted", "rejected", "duplicate", "skipped")


@dataclass
class FileOutcome:
    source: str  # where the file was, relative to the workspace
    name: str
    outcome: str  # accepted, rejected, duplicate, skipped
    stored: str = ""  # where it is now, relative to the workspace
    sha256: str = ""
    contract_id: str | None = None
    round: str | None = None
    submission_id: int | None = None
    supersedes: int | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    problems_file: str = ""
    received_at: str = ""
    mapping: dict | None = None  # old ref -> new ref: a return on an older framework version, mapped
    upgraded_from: str | None = None  # that older version
    token: str | None = None  # the issue token found in the file

    @property
    def first_reason(self) -> str:
        if self.problems:
            return str(self.problems[0])
        if self.notes:
            return str(self.notes[0])
        return ""


@dataclass
class IngestResult:
    files: list[FileOutcome]
    report: Path | None
    started_at: str
    seconds: float
    recovered: int = 0  # files of an interrupted run finished off
    workers_replaced: int = 0
    corrections: list = field(default_factory=list)  # corrections.Correction made for rejected returns
    corrections_error: str = ""  # why corrections workbooks could not be made (the run itself completed)

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)

    @property
    def accepted(self) -> list[FileOutcome]:
        return [f for f in self.files if f.outcome == "accepted"]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [f for f in self.files if f.outcome == "rejected"]

    @property
    def duplicates(self) -> list[FileOutcome]:
        return [f for f in self.files if f.outcome == "duplicate"]


# --- helpers ----------------------------------------------------------------------------

def _rel(ws: Workspace, path: Path) -> str:
    try:
        return path.relative_to(ws.root).as_posix()
    except ValueError:
        return str(path)


def inbox_files(ws: Workspace) -> list[Path]:
    """Returns waiting in inbox/, oldest first (by modification time, then path)."""
    skip_dirs = {ws.rejected.resolve(), (ws.inbox / "duplicates").resolve()}
    out: list[tuple[float, str, Path]] = []
    stack = [ws.inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            name = e.name
            if name.startswith((".", "~$")) or name.lower() in IGNORED_NAMES:
                continue
            if e.is_dir(follow_symlinks=False):
                if Path(e.path).resolve() not in skip_dirs:
                    stack.append(Path(e.path))
            elif e.is_file(follow_symlinks=False):
                try:
                    mtime = e.stat().st_mtime
                except OSError:
                    continue
                out.append((mtime, e.path, Path(e.path)))
    out.sort(key=lambda t: (t[0], t[1]))
    return [p for _, _, p in out]


_SAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


def _safe_name(name: str) -> str:
    name = _SAFE.sub("_", name).strip(" .") or "file"
    return name[:120]


def _unique(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    stem, suffix = os.path.splitext(name)
    n = 2
    while target.exists() or Path(str(target) + ".problems.txt").exists():
        target = folder / f"{stem} ({n}){suffix}"
        n += 1
    return target


def _flush(written: list[Path]) -> None:
    """Make copies and the register durable before inbox copies are removed."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for p in written:  # Windows: no os.sync
        try:
            with open(p, "rb+") as fh:
                os.fsync(fh.fileno())
        except OSError:
            pass


def _kill_hook():
    spec = os.environ.get(KILL_HOOK)
    if not spec:
        return lambda stage, n: None
    stage_want, _, n_want = spec.partition(":")
    n_want = int(n_want or 1)

    def hook(stage: str, n: int) -> None:
        if stage == stage_want and n == n_want:
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _problems_text(name: str, received: str, problems: list[Problem], contract: str | None, round: str | None) -> str:
    when = dt.datetime.fromisoformat(received).strftime("%d/%m/%Y %H:%M UTC")
    lines = [f"{name} could not be accepted (received {when}).", ""]
    if contract:
        lines += [f"Contract: {contract}" + (f", review round {round}" if round else ""), ""]
    lines += [f"Please fix the following ({len(problems)} in all) and send the workbook again:", ""]
    for i, p in enumerate(problems, 1):
        lines.append(f"{i:>3}. {p}")
    lines.append("")
    if any(p.where() for p in problems):
        lines += ["Each line that starts with a sheet and cell says where to look (for example Assessment!D12 is "
                  "column D, row 12 of the Assessment sheet).", ""]
    return "\n".join(lines)


def _finding_problem(f) -> Problem:
    return Problem("", "", "", (f.detail or "")[:200], "", f.message, f.code)


# --- recovery ---------------------------------------------------------------------------

def reconcile(ws: Workspace, conn) -> int:
    """Finish what an interrupted run left: remove inbox copies of registered files and drop
    unregistered copies in archive/ or inbox/rejected/ whose original is still in inbox/.
    Returns how many files were put right."""
    fixed = 0
    done: list[tuple[str, str]] = []
    for sha, source, stored in reg.pending_removals(conn):
        src = ws.root / source
        if stored is None:  # cannot happen (same transaction); forget it
            done.append((sha, source))
            continue
        dest = ws.root / stored
        if src.exists():
            try:
                data = src.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data).hexdigest() == sha:
                if not dest.exists() or hashlib.sha256(dest.read_bytes()).hexdigest() != sha:
                    write_atomic(dest, data)  # durable before the inbox copy goes
                src.unlink()
                fixed += 1
        done.append((sha, source))
    if done:
        _flush([])
        reg.clear_pending(conn, done)
    # Copies written just before a kill, never committed.
    stored = reg.stored_paths(conn)
    orphans: list[Path] = []
    for top in (ws.archive, ws.rejected):
        if not top.exists():
            continue
        for p in top.rglob("*"):
            if not p.is_file() or p.name.endswith(".problems.txt"):
                continue
            if _rel(ws, p) not in stored:
                orphans.append(p)
    if orphans:
        inbox_shas = set()
        for p in inbox_files(ws):
            try:
                inbox_shas.add(hashlib.sha256(p.read_bytes()).hexdigest())
            except OSError:
                pass
        for p in orphans:
            try:
                sha = hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError:
                continue
            if sha in inbox_shas:  # the original is still waiting in inbox/: this copy is spare
                p.unlink()
                companion = Path(str(p) + ".problems.txt")
                if companion.exists():
                    companion.unlink()
                fixed += 1
    # problems.txt without its file (killed between the two writes)
    if ws.rejected.exists():
        for p in ws.rejected.glob("*.problems.txt"):
            if not Path(str(p)[: -len(".problems.txt")]).exists():
                p.unlink()
    return fixed


# --- the run ----------------------------------------------------------------------------

class _Run:
    def __init__(self, ws: Workspace, conn, progress: Callable[[FileOutcome], None] | None):
        self.ws = ws
        self.root = str(ws.root) + os.sep
        self.conn = conn
        self.progress = progress
        issues = reg.list_issues(conn)
        frameworks = {}
        for h in {i.framework_hash for i in issues}:
            fw = reg.load_framework(conn, h)
            if fw is not None:
                frameworks[h] = fw
        current = _current_framework(ws)
        if current is not None and any(f.id == current.id and f.content_hash != current.content_hash
                                       for f in frameworks.values()):
            with reg.transaction(conn):  # returns mapped onto it are registered against it
                reg.store_framework(conn, current)
        self.ledger = Ledger(issues, frameworks, current)
        self.snapshots = {i.contract_id: i.contract_snapshot for i in issues}
        self.known = reg.known_files(conn)
        self.current = reg.current_submissions(conn)
        self.pending: list[tuple[str, str]] = []  # (inbox path, sha) registered, to remove after the flush
        self.group: list[int] = []  # files registered in the open transaction (not yet committed)
        self.group_started = 0.0
        self.written: list[str] = []
        self.made: set[str] = set()
        self.can_link = hasattr(os, "link")
        self.last_flush = time.monotonic()
        self.outcomes: list[FileOutcome] = []
        self.n = 0
        self.hook = _kill_hook()
        self.archive = str(ws.archive)
        self.rejected = str(ws.rejected)
        self.duplicates = str(ws.inbox / "duplicates")

    def rel(self, path: str) -> str:
        if path.startswith(self.root):
            path = path[len(self.root):]
        return path.replace(os.sep, "/")

    def handle(self, res: ReadResult) -> FileOutcome:
        src = res.path
        name = os.path.basename(src)
        out = FileOutcome(source=self.rel(src), name=name, outcome="skipped")
        received = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        out.received_at = received.isoformat()
        data = None
        if res.sha256 and res.stat:
            sha = res.sha256  # proved unchanged when the file is filed (same inode, size and time)
        else:  # the worker could not say what it read (it crashed): read it here
            try:
                with open(src, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                out.problems = [Problem("", "", "", "", "", f"the file could not be opened ({exc.strerror}); it "
                                        "was left where it is", "unreadable")]
                return self._done(out)
            sha = hashlib.sha256(data).hexdigest()
        out.sha256 = sha
        seen = self.known.get(sha)
        if seen is not None:
            return self._duplicate(src, out, seen)

        if res.crashed or res.error:
            problems = [Problem("", "", "", res.crashed or "", "", res.error or "could not be read safely",
                                "unreadable")]
            result = None
        elif res.fatal:
            problems = [_finding_problem(f) for f in res.fatal]
            result = None
        else:
            result = res.checked
            if result is None:
                try:
                    result = check(res.raw, self.ledger, file_name=name, received=received)
                except Exception as exc:  # a bug in a rule: keep the file for the next run, say so
                    out.problems = [Problem("", "", "", "", "", (
                        f"the file could not be checked because of an error in cmrg ({type(exc).__name__}: {exc}); "
                        "it was left in the inbox. Please report this."), "internal-error")]
                    return self._done(out)
            problems = result.problems
            out.notes = list(result.notes)
        out.problems = problems
        if result is not None:
            out.contract_id, out.round = result.contract_id, result.round
            out.token = result.token
        self.n += 1
        if not problems:
            self._accept(src, res, data, out, result)
        else:
            self._reject(src, res, data, out, result)
        return self._done(out)

    def _done(self, out: FileOutcome) -> FileOutcome:
        self.outcomes.append(out)
        if self.progress:
            self.progress(out)
        if len(self.pending) >= FLUSH_EVERY or (self.pending and time.monotonic() - self.last_flush > FLUSH_SECONDS):
            self.flush()
        return out

    def _changed(self, out: FileOutcome) -> None:
        out.outcome = "skipped"
        out.problems = [Problem("", "", "", "", "", "the file changed while it was being checked (it may still have "
                                "been saving); it was left in the inbox for the next run", "changed")]

    def _place(self, src: str, folder: str, name: str, res: ReadResult, data: bytes | None, sha: str,
               companion: str = "") -> str | None:
        """Put the original bytes at ``folder/name`` (made unique) without removing the source: a hard
        link where the file system allows (no copy; proved to be the very file that was checked), else
        a copy of bytes whose SHA-256 is checked again. None when the file changed since it was read."""
        if folder not in self.made:
            try:  # one mkdir (a new contract's folder, its round's already made): os.makedirs costs 3 times that
                os.mkdir(folder)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
            self.made.add(folder)
        stem, suffix = os.path.splitext(name)
        n = 1
        while True:
            dest = os.path.join(folder, name if n == 1 else f"{stem} ({n}){suffix}")
            n += 1
            if companion and os.path.exists(dest + companion):
                continue
            try:
                if self.can_link and res.stat is not None and data is None:
                    os.link(src, dest)
                    st = os.stat(dest)
                    if (st.st_ino, st.st_size, st.st_mtime_ns) != res.stat:
                        os.unlink(dest)
                        return None
                elif data is not None:
                    if hashlib.sha256(data).hexdigest() != sha:
                        return None
                    with open(dest, "xb") as fh:
                        fh.write(data)
                else:  # stream the copy, hashing as it goes
                    h = hashlib.sha256()
                    with open(src, "rb") as fin, open(dest, "xb") as fout:
                        for chunk in iter(lambda: fin.read(1 << 20), b""):
                            h.update(chunk)
                            fout.write(chunk)
                    if h.hexdigest() != sha:
                        os.unlink(dest)
                        return None
                self.written.append(dest)
                return dest
            except FileExistsError:
                continue
            except FileNotFoundError:
                return None
            except OSError:
                if self.can_link and data is None and res.stat is not None:
                    self.can_link = False  # e.g. another file system, or links not allowed: copy instead
                    n -= 1
                    continue
                raise

    def _duplicate(self, src: str, out: FileOutcome, seen: reg.Known) -> FileOutcome:
        self.commit()  # the first copy's registration is on disk before this one is set aside
        out.outcome = "duplicate"
        out.contract_id, out.round = seen.contract_id, seen.round
        out.submission_id = seen.id
        when = seen.received_at[:16].replace("T", " ")
        out.notes = [Problem("", "", "", "", "", (
            f"the same file was already received on {when} UTC and {seen.outcome} (submission {seen.id}, now at "
            f"{seen.stored_path}); nothing was changed"), "duplicate")]
        target = _unique(Path(self.duplicates), _safe_name(out.name))
        os.replace(src, target)  # a rename: the file is in one place or the other, never both
        out.stored = self.rel(str(target))
        return self._done(out)

    def _commit(self, out: FileOutcome, src: str, dest: str, **fields) -> None:
        """Register one file: all of it or none of it (a savepoint inside the group's transaction)."""
        stored = self.rel(dest)
        if not self.group:
            self.conn.execute("BEGIN IMMEDIATE")
            self.group_started = time.monotonic()
        self.conn.execute("SAVEPOINT one_file")
        try:
            sub_id = reg.add_submission(
                self.conn, sha256=out.sha256, original_name=out.name, stored_path=stored,
                received_at=out.received_at, inbox_source=out.source, **fields)
        except BaseException:
            self.conn.execute("ROLLBACK TO one_file")
            self.conn.execute("RELEASE one_file")
            raise
        self.conn.execute("RELEASE one_file")
        self.group.append(self.n)
        out.submission_id = sub_id
        self.known[out.sha256] = reg.Known(sub_id, fields["outcome"], fields.get("status"), stored,
                                           out.received_at, fields.get("contract_id"), fields.get("round"))
        self.pending.append((src, out.sha256))
        if len(self.group) >= COMMIT_EVERY or time.monotonic() - self.group_started > COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Commit the files registered since the last commit (one transaction, one write to the
        log, instead of one per file: each file is still all-or-nothing through its savepoint,
        and a run killed before this leaves only unregistered copies, which the next run drops)."""
        if not self.group:
            return
        self.conn.execute("COMMIT")
        for n in self.group:
            self.hook("committed", n)
        self.group = []

    def _accept(self, src: str, res: ReadResult, data: bytes | None, out: FileOutcome, result) -> None:
        stamp = out.received_at.replace("+00:00", "Z").replace("-", "").replace(":", "")
        # archive/ROUND/CONTRACT/: each contract's returns together, oldest first by name.
        folder = os.path.join(self.archive, safe_filename(result.round), safe_filename(result.contract_id))
        name = f"{stamp}-{out.sha256[:12]}-{_safe_name(out.name)}"
        dest = self._place(src, folder, name, res, data, out.sha256)
        if dest is None:
            self._changed(out)
            return
        self.hook("copied", self.n)
        key = (result.contract_id, result.round)
        prev = self.current.get(key)
        self._commit(out, src, dest, outcome="accepted", status="current", token=result.token,
                     contract_id=result.contract_id, round=result.round, framework_hash=result.framework_hash,
                     supersedes=prev, corrects=result.corrects,
                     attested_name=result.attested_name, attested_role=result.attested_role,
                     attested_on=result.attested_on, problems=[p.as_dict() for p in out.notes],
                     corrections=result.corrections, answers=result.answers, mapping=result.mapping)
        out.mapping, out.upgraded_from = result.mapping, result.upgraded_from
        self.current[key] = out.submission_id
        out.outcome = "accepted"
        out.supersedes = prev
        out.stored = self.rel(dest)

    def _reject(self, src: str, res: ReadResult, data: bytes | None, out: FileOutcome, result) -> None:
        dest = self._place(src, self.rejected, _safe_name(out.name), res, data, out.sha256, companion=".problems.txt")
        if dest is None:
            self._changed(out)
            return
        contract = None
        if out.contract_id:
            snap = self.snapshots.get(out.contract_id, {})
            contract = f"{out.contract_id} {snap.get('title', '')}".strip()
        text = _problems_text(out.name, out.received_at, out.problems, contract, out.round)
        problems_file = dest + ".problems.txt"
        with open(problems_file, "wb") as fh:
            fh.write(text.encode("utf-8"))
        self.written.append(problems_file)
        self.hook("copied", self.n)
        self._commit(out, src, dest, outcome="rejected", token=getattr(result, "token", None),
                     contract_id=out.contract_id, round=out.round,
                     framework_hash=getattr(result, "framework_hash", None),
                     problems=[p.as_dict() for p in out.problems], entered=getattr(result, "entered", None))
        out.outcome = "rejected"
        out.stored = self.rel(dest)
        out.problems_file = self.rel(problems_file)

    def flush(self) -> None:
        self.commit()
        if not self.pending:
            return
        _flush([Path(p) for p in self.written])
        removed = []
        for src, sha in self.pending:
            try:
                os.unlink(src)
            except FileNotFoundError:
                pass
            removed.append((sha, self.rel(src)))
            self.hook("removed", len(removed))
        reg.clear_pending(self.conn, removed)
        self.pending.clear()
        self.written.clear()
        self.last_flush = time.monotonic()


def _current_framework(ws: Workspace):
    try:
        return ws.framework()
    except Exception:  # a broken framework setting must not stop returns being filed
        return None


def ingest(ws: Workspace, *, progress: Callable[[FileOutcome], None] | None = None,
           on_start: Callable[[int], None] | None = None, wait_seconds: float = 10.0,
           write_report: bool = True, corrections: bool = True) -> IngestResult:
    """Ingest every file waiting in ``inbox/``; see the module documentation.

    With ``corrections`` (the default, as ``cmrg ingest``), each rejected return of a workbook
    we issued (still open) gets its corrections workbook (:mod:`cmrg_excel.intake.corrections`)
    once every file is filed; ``corrections=False`` is ``cmrg ingest --no-corrections``."""
    started = time.monotonic()
    started_at = reg.now()
    cfg = ws.config.section("ingest")
    max_mb = _setting(cfg, "max_file_mb", 10, 0.001, 1000, "a number of megabytes")
    workers = int(_setting(cfg, "workers", 2, 1, 64, "a whole number", whole=True))
    memory_mb = int(_setting(cfg, "worker_memory_mb", 1024, 0, 1 << 20, "a whole number of megabytes (0: no cap)",
                             whole=True))
    timeout = _setting(cfg, "file_timeout_seconds", 30, 1, 3600, "a number of seconds")
    ws.ensure_folders()
    with ws.lock("ingest", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            # Each file is all or nothing in its own savepoint, committed in groups; durability
            # comes from the flush before inbox copies are removed.
            conn.execute("PRAGMA synchronous=NORMAL")
            recovered = reconcile(ws, conn)
            run = _Run(ws, conn, progress)
            paths = [str(p) for p in inbox_files(ws)]
            if on_start:
                on_start(len(paths))
            limits = limits_for(int(max_mb * 1024 * 1024))
            # Files over the size cap are never read whole into a worker.
            big = [p for p in paths if _size(p) > limits.max_file_bytes]
            small = [p for p in paths if p not in set(big)] if big else paths
            replaced = 0
            try:
                for p in big:
                    run.handle(_too_big(p, limits.max_file_bytes))
                if small:
                    with ReaderPool(workers, memory_mb, timeout, limits, batch=16, ledger=run.ledger) as pool:
                        for res in pool.read(small):
                            run.handle(res)
                        replaced = pool.replaced
            finally:
                run.flush()
            result = IngestResult(run.outcomes, None, started_at, 0.0, recovered, replaced)
            if corrections and result.rejected:
                from .corrections import CorrectionsError, issue_corrections

                try:
                    result.corrections = issue_corrections(ws, conn, submission_ids=[
                        f.submission_id for f in result.rejected if f.submission_id is not None])
                except (CorrectionsError, OSError) as exc:
                    result.corrections_error = str(exc)
            if write_report:
                result.report = write_ingest_report(ws, result)
        finally:
            conn.close()
    result.seconds = time.monotonic() - started
    return result


def _setting(cfg: dict, key: str, default: float, low: float, high: float, what: str, whole: bool = False) -> float:
    """An [ingest] setting of cmrg.toml, checked: a clear error names it, never a traceback."""
    value = cfg.get(key, default)
    ok = isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)
    if not ok or not low <= value <= high:
        raise WorkspaceError(f"cmrg.toml: setting [ingest] {key} must be {what} from {low:g} to {high:g} "
                             f"(found {value!r})")
    return float(value)


def _size(p) -> int:
    try:
        return os.stat(p).st_size
    except OSError:
        return 0


def _too_big(p, limit: int) -> ReadResult:
    from .preflight import Finding

    h = hashlib.sha256()
    with open(p, "rb") as fh:
        st = os.fstat(fh.fileno())
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    size = st.st_size
    msg = (f"The file is {size / 1048576:.1f} MB, larger than the {limit / 1048576:.0f} MB we accept. The workbook we "
           "sent is much smaller: check you are sending the right file, remove any pictures or extra sheets you "
           "added, save it and send it again.")
    return ReadResult(path=str(p), sha256=h.hexdigest(), size=size, stat=(st.st_ino, st.st_size, st.st_mtime_ns),
                      findings=[Finding("too-large", msg, True, None, f"{size} bytes")])


# --- the report ---------------------------------------------------------------------------

FILE_COLUMNS = ["File", "Found in", "Outcome", "Contract", "Round", "Now at", "Problems file", "Submission",
                "Supersedes", "Problems", "First reason", "Received (UTC)", "SHA-256"]
PROBLEM_COLUMNS = ["File", "Contract", "Outcome", "Sheet", "Cell", "Activity", "Found", "Expected", "Reason", "Code"]


def write_ingest_report(ws: Workspace, result: IngestResult) -> Path:
    """outbox/ingest-<time>.xlsx: one row per file, and one row per reason."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    ws.outbox.mkdir(parents=True, exist_ok=True)
    path = ws.outbox / f"ingest-{stamp}.xlsx"
    n = 2
    while path.exists():
        path = ws.outbox / f"ingest-{stamp}-{n}.xlsx"
        n += 1
    rows = []
    reasons = []
    for f in result.files:
        received = dt.datetime.fromisoformat(f.received_at) if f.received_at else None
        rows.append([f.name, f.source, f.outcome, f.contract_id, f.round, f.stored, f.problems_file, f.submission_id,
                     f.supersedes, len(f.problems), f.first_reason, received, f.sha256])
        for p in f.problems + f.notes:
            reasons.append([f.name, f.contract_id, f.outcome, p.sheet, p.cell, p.ref, p.found, p.expected, p.message,
                            p.code])
    upgrades = []
    for f in result.accepted:
        if not f.mapping:
            continue
        moved = {o: n for o, n in f.mapping.items() if o != n}
        for old, new in moved.items():
            upgrades.append([f.name, f.contract_id, f.upgraded_from, old, new or "(dropped: no successor)",
                             "moved" if new else "dropped"])
        upgrades.append([f.name, f.contract_id, f.upgraded_from, f"the other {len(f.mapping) - len(moved)}",
                         "(same reference)", "same"])
    made = [[c.contract_id, c.round, c.submission_id, c.path_rel, len(c.fixes), c.framework_version]
            for c in result.corrections]
    summary = [
        ["Started (UTC)", dt.datetime.fromisoformat(result.started_at)],  # shown dd/mm/yyyy hh:mm
        ["Files", len(result.files)],
        *[[o.capitalize(), result.count(o)] for o in OUTCOMES],
        ["Finished off from an interrupted run", result.recovered],
        ["Reading processes replaced after a crash or time-out", result.workers_replaced],
        ["Returns mapped from an older framework version", sum(1 for f in result.accepted if f.mapping)],
        ["Corrections workbooks made", len(result.corrections)],
    ]
    return write_table_workbook(
        path, "Files", FILE_COLUMNS, rows,
        widths={"First reason": 80, "Now at": 45, "SHA-256": 20},
        extra=[("Reasons", PROBLEM_COLUMNS, reasons),
               ("Upgrades", ["File", "Contract", "From version", "Old ref", "New ref", "Change"], upgrades),
               ("Corrections", ["Contract", "Round", "Rejected submission", "Corrections workbook", "Fixes",
                                "Framework version"], made),
               ("Summary", ["Item", "Value"], summary)],
    )


def summary_json(result: IngestResult) -> str:
    """The run as JSON (for logs and tools)."""
    return json.dumps({
        "files": len(result.files), **{o: result.count(o) for o in OUTCOMES},
        "report": str(result.report) if result.report else None, "recovered": result.recovered,
    })
