"""``cmrg ingest``: every returned workbook in ``inbox/`` checked and filed, safely and fast.

For each file (``inbox/`` and its subfolders, except ``inbox/rejected/`` and
``inbox/duplicates/``; Office lock files such as ``~$name.xlsx`` and hidden files are
left alone), oldest first by modification time, whatever order the reading processes
finish in (so when two returns of one contract arrive together, the newer one counts):

1. **settle**: a file whose size or modification time changes within ``settle_seconds``
   (a setting, 2 s by default) is still being saved: it is left in ``inbox/`` for the
   next run, and so is a file that changes between being read and being filed;
2. **preflight** on the bytes, then **read** with python-calamine, both in worker processes
   with a memory cap and a time limit (:mod:`cmrg_excel.intake.read`); each file is read
   once, and those very bytes are what is checked and filed;
3. **check** identity and values (:mod:`cmrg_excel.intake.check`);
4. **file it**, in exactly one place:

   * *accepted*: a copy of the bytes checked is written to
     ``archive/ROUND/CONTRACT/<received>-<sha256 prefix>-<name>``, the register gets the
     submission, its answers (with sheet and row) and actions, all or nothing, and the
     contract's previous return for the round, if any, becomes ``superseded``;
   * *rejected*: a copy to ``inbox/rejected/<name>`` with ``<name>.problems.txt`` beside it
     (what to fix, with sheet and cell), and a rejected submission with its problems;
   * *duplicate* (the same bytes were received before, accepted or rejected): moved to
     ``inbox/duplicates/<name>``, the register is unchanged, the report says where the first
     copy is. Duplicates are kept rather than deleted so that nothing is ever lost; the
     secretariat may delete that folder at any time. Bytes refused before for one of our own
     limits (the size cap, a reading process's memory or time limit, a damaged or incomplete
     copy) are not duplicates: they are checked again;
   * *skipped*: left in ``inbox/`` with the reason and what to do: still being saved, a link
     (never followed), a folder named like a workbook, a device or pipe, a file that cannot
     be read, or a problems note cmrg wrote.

Filed copies are copies, never links: a second name for the inbox file, or a program still
writing to it, cannot change what was filed. Crash safety. The order for each file is: write
the copy, register it (recording the inbox copy as "to remove"; each file in its own
savepoint, committed in groups of up to 50 files or half a second, so the register is never
half-written for any file), and only after a group is flushed to disk (``os.sync``, or
``fsync`` of each copy where there is none, every few hundred files and at the end), its
copy read back and its SHA-256 verified, and the inbox file found unchanged since it was
read, remove it from ``inbox/``. A run killed at any moment leaves either an unregistered
copy (removed on the next run, the inbox file is still there) or a registered file still in
``inbox/`` (recognised by its SHA-256 on the next run and removed), so after the next run
every file is in exactly one place and registered at most once. Clean-up never removes a
path the register records. The whole run holds the workspace lock: a second ingest waits,
then refuses.

Every run is a row in the register (:mod:`cmrg_excel.register.audit`): who ran it, where,
when, its counts and its report. A run stopped part way (the register busy with another
program, a folder that cannot be written) raises :class:`IngestStopped`, which carries what
was filed before it stopped.

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
import stat as stat_mod
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .. import register as reg
from ..core.contracts import safe_filename
from ..core.errors import BusyError, CmrgError
from ..core.workspace import Workspace
from ..kit.files import write_atomic
from ..kit.tables import TableSheet, write_table_workbook
from ..register import audit
from .check import Ledger, Problem, check
from .read import ReaderPool, ReadResult, limits_for, stat_key
from ..core.settings import check_value
from ..core.textsafe import visible
from ..register.details import COLUMNS as DETAIL_COLUMNS, describe as describe_details
from . import codes as C

IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")  # a folder named so is reported, not searched
NOTE_SUFFIX = ".problems.txt"
PARTIAL_PREFIX = ".cmrg-partial-"  # a copy being written (big files): never registered, removed if left
FLUSH_EVERY = 500  # files between flushes to disk (and removals from inbox/)
FLUSH_SECONDS = 2.0
COMMIT_EVERY = 50  # files registered per transaction (each one all-or-nothing in its own savepoint)
COMMIT_SECONDS = 0.5
SETTLE_SECONDS = 2.0  # default of [ingest] settle_seconds
KILL_HOOK = "CMRG_TEST_KILL_AT"  # "stage:N": SIGKILL this process at stage copied|committed|removed of file N

OUTCOMES = ("accepted", "rejected", "duplicate", "skipped")
LEFT = "left in inbox/"
STILL_SAVING = ("still being saved, left in inbox/ for the next run (its size or modification time changed "
                "while cmrg was looking at it). Run cmrg ingest again once it has been saved")


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
    named_for: list[str] = field(default_factory=list)  # other contracts its file name points at
    replaces: "FileOutcome | None" = None  # the return of the same contract filed earlier in this run
    details: list = field(default_factory=list)  # register.details.DetailCorrection: contract details the owner corrects

    @property
    def first_reason(self) -> str:
        if self.problems:
            return str(self.problems[0])
        if self.notes:
            return str(self.notes[0])
        return ""

    @property
    def needs_a_look(self) -> bool:
        """Accepted, with something the secretariat should check (a file named for another contract)."""
        return self.outcome == "accepted" and any(n.code == C.NAME_MISMATCH for n in self.notes)


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
    run_id: int | None = None  # the run's row in the register (ingest_runs)

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

    @property
    def counts(self) -> dict[str, int]:
        return {"files": len(self.files), "accepted": self.count("accepted"), "rejected": self.count("rejected"),
                "duplicates": self.count("duplicate"), "skipped": self.count("skipped"), "recovered": self.recovered}


class IngestStopped(CmrgError):
    """The run stopped part way; ``result`` holds what was filed before (kept, and reported)."""

    def __init__(self, message: str, result: IngestResult, exit_code: int):
        super().__init__(message)
        self.result = result
        self.exit_code = exit_code


# --- helpers ----------------------------------------------------------------------------

def _rel(ws: Workspace, path: Path) -> str:
    try:
        return path.relative_to(ws.root).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Waiting:
    """A file found in inbox/, as it was when found."""

    path: str
    stat: tuple  # read.stat_key: (inode, size, mtime_ns)
    mtime: float

    @property
    def size(self) -> int:
        return self.stat[1]


_NOTE_FIRST_LINE = re.compile(rb"^.{1,400} could not be accepted \(received \d\d/\d\d/\d{4} \d\d:\d\d UTC\)\.\r?$")


def _is_our_note(path: str, size: int) -> bool:
    """A problems note cmrg wrote beside a rejected return (moved back into inbox/ by someone)."""
    if size > 1 << 20 or not path.lower().endswith(NOTE_SUFFIX):
        return False
    try:
        with open(path, "rb") as fh:
            first = fh.read(600).split(b"\n", 1)[0]
    except OSError:
        return False
    return bool(_NOTE_FIRST_LINE.match(first))


def _odd(ws: Workspace, path: str, code: str, message: str) -> FileOutcome:
    out = FileOutcome(source=_rel(ws, Path(path)), name=os.path.basename(path), outcome="skipped")
    out.received_at = reg.now()
    out.problems = [Problem("", "", "", "", "", message, code)]
    return out


def scan_inbox(ws: Workspace) -> tuple[list[Waiting], list[FileOutcome]]:
    """Returns waiting in inbox/, oldest first (by modification time, then path), and what
    else is there that cannot be read as a return (links, folders named like a workbook,
    devices, files that cannot be looked at, our own problems notes), each with its reason."""
    skip_dirs = {ws.rejected.resolve(), (ws.inbox / "duplicates").resolve()}
    found: list[Waiting] = []
    odd: list[FileOutcome] = []
    stack = [ws.inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            if folder != ws.inbox:
                odd.append(_odd(ws, str(folder), C.UNREADABLE, (
                    f"this folder could not be opened ({exc.strerror}); {LEFT} Check that cmrg may read it, "
                    "then run cmrg ingest again")))
            continue
        for e in entries:
            name = e.name
            if name.startswith((".", "~$")) or name.lower() in IGNORED_NAMES:
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as exc:
                odd.append(_odd(ws, e.path, C.UNREADABLE, (
                    f"it could not be looked at ({exc.strerror}); {LEFT} Check that cmrg may read it, then run "
                    "cmrg ingest again")))
                continue
            if stat_mod.S_ISLNK(st.st_mode):
                try:
                    target = os.readlink(e.path)
                except OSError:
                    target = "?"
                odd.append(_odd(ws, e.path, C.LINK, (
                    f"it is a link (shortcut) to {target}, not a file; cmrg never follows links, so it was {LEFT} "
                    "To send in the return, copy the file itself into inbox/ and delete the link")))
            elif stat_mod.S_ISDIR(st.st_mode):
                if Path(e.path).resolve() in skip_dirs:
                    continue
                if name.lower().endswith(WORKBOOK_SUFFIXES):
                    odd.append(_odd(ws, e.path, C.FOLDER, (
                        f"it is a folder named like a workbook (perhaps a workbook unpacked by a zip tool), not a "
                        f"file; nothing in it was read and it was {LEFT} Put the workbook file itself in inbox/ "
                        "and remove the folder")))
                else:
                    stack.append(Path(e.path))
            elif stat_mod.S_ISREG(st.st_mode):
                if name.lower().endswith(NOTE_SUFFIX) and _is_our_note(e.path, st.st_size):
                    odd.append(_odd(ws, e.path, C.PROBLEMS_NOTE, (
                        f"it is a note cmrg wrote beside a rejected return (what the owner must fix), not a return; "
                        f"it was {LEFT} Move it back to inbox/rejected/, or delete it")))
                    continue
                found.append(Waiting(e.path, stat_key(st), st.st_mtime))
            else:
                odd.append(_odd(ws, e.path, C.NOT_A_FILE, (
                    f"it is not a file (a device, pipe or socket); nothing was read from it and it was {LEFT} "
                    "Remove it, and save the return itself into inbox/")))
    found.sort(key=lambda w: (w.mtime, w.path))
    odd.sort(key=lambda o: o.source)
    return found, odd


def inbox_files(ws: Workspace) -> list[Path]:
    """Returns waiting in inbox/, oldest first (by modification time, then path)."""
    return [Path(w.path) for w in scan_inbox(ws)[0]]


def settle(found: list[Waiting], seconds: float) -> tuple[list[Waiting], list[Waiting]]:
    """(settled, still being saved): a file modified less than ``seconds`` ago is looked at
    again once it is ``seconds`` old (one wait for them all, at most ``seconds``); it is still
    being saved if its size or modification time changed meanwhile."""
    if seconds <= 0 or not found:
        return found, []
    now = time.time()
    young = [w for w in found if now - w.mtime < seconds]
    if not young:
        return found, []
    newest = max(w.mtime for w in young)
    time.sleep(min(seconds, max(0.0, newest + seconds - now)))
    ready: list[Waiting] = []
    saving: list[Waiting] = []
    young_paths = {w.path for w in young}
    for w in found:
        if w.path not in young_paths:
            ready.append(w)
            continue
        try:
            st = os.lstat(w.path)
        except FileNotFoundError:
            continue  # moved away meanwhile: no longer in inbox/
        except OSError:
            saving.append(w)
            continue
        (ready if stat_key(st) == w.stat else saving).append(w)
    return ready, saving


_SAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


def _safe_name(name: str) -> str:
    name = _SAFE.sub("_", name).strip(" .") or "file"
    name = name[:120]
    if name.lower().endswith(NOTE_SUFFIX):  # a file is never stored under a note's name
        name = name[: -len(NOTE_SUFFIX)] + ".problems (as sent).txt"
    return name


def _unique(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    stem, suffix = os.path.splitext(name)
    n = 2
    while target.exists() or Path(str(target) + NOTE_SUFFIX).exists():
        target = folder / f"{stem} ({n}){suffix}"
        n += 1
    return target


def _flush(written: list[Path]) -> None:
    """Make copies and the register durable before inbox copies are removed."""
    if hasattr(os, "sync"):
        os.sync()  # one call for every file written: an fsync per file costs ~4 ms each
        return
    for p in written:  # Windows: no os.sync
        try:
            with open(p, "rb+") as fh:
                os.fsync(fh.fileno())
        except OSError:
            pass


def _file_sha(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


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
    lines = [f"{visible(name)} could not be accepted (received {when}).", ""]
    if contract:
        lines += [f"Contract: {contract}" + (f", review round {round}" if round else ""), ""]
    lines += [f"Please fix the following ({len(problems)} in all) and send the workbook again:", ""]
    for i, p in enumerate(problems, 1):
        lines.append(f"{i:>3}. {visible(p)}")
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
    Never removes a path the register records. Returns how many files were put right."""
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
                if not dest.exists() or _file_sha(str(dest)) != sha:
                    write_atomic(dest, data)  # durable before the inbox copy goes
                try:
                    src.unlink()
                except OSError:  # still locked by another program: try again next run
                    continue
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
            if not p.is_file() or p.is_symlink() or _rel(ws, p) in stored:
                continue
            if p.name.startswith(PARTIAL_PREFIX):  # a copy cut off part way: never registered
                p.unlink()
                continue
            if p.name.endswith(NOTE_SUFFIX):
                continue
            orphans.append(p)
    if orphans:
        inbox_shas = {_file_sha(w.path) for w in scan_inbox(ws)[0]}
        for p in orphans:
            sha = _file_sha(str(p))
            if sha is not None and sha in inbox_shas:  # the original is still waiting in inbox/: this copy is spare
                p.unlink()
                companion = Path(str(p) + NOTE_SUFFIX)
                if companion.exists() and _rel(ws, companion) not in stored:
                    companion.unlink()
                fixed += 1
    # a note without its file (killed between the two writes); a registered file is never touched
    if ws.rejected.exists():
        for p in ws.rejected.glob("*" + NOTE_SUFFIX):
            base = Path(str(p)[: -len(NOTE_SUFFIX)])
            if _rel(ws, p) not in stored and not base.exists() and _rel(ws, base) not in stored:
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
        self.filed: dict[int, FileOutcome] = {}  # submission id -> outcome, for returns filed in this run
        # registered, inbox copy to remove after the flush: (outcome, inbox path, sha, stored copy, inbox stat)
        self.pending: list[tuple[FileOutcome, str, str, str, tuple]] = []
        self.group: list[int] = []  # files registered in the open transaction (not yet committed)
        self.group_started = 0.0
        self.written: list[str] = []
        self.made: set[str] = set()
        self.last_flush = time.monotonic()
        self.outcomes: list[FileOutcome] = []
        self.n = 0
        self.hook = _kill_hook()
        self.archive = str(ws.archive)
        self.rejected = str(ws.rejected)
        self.duplicates = str(ws.inbox / "duplicates")
        self.max_bytes = 10 * 1024 * 1024  # the size cap, set by the run
        self.removing: _Removal | None = None  # the batch of inbox files being removed in the background

    def rel(self, path: str) -> str:
        if path.startswith(self.root):
            path = path[len(self.root):]
        return path.replace(os.sep, "/")

    def _start(self, w: Waiting) -> FileOutcome:
        out = FileOutcome(source=self.rel(w.path), name=os.path.basename(w.path), outcome="skipped")
        out.received_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        return out

    def skip(self, out: FileOutcome) -> FileOutcome:
        """A file that cannot be read as a return (see scan_inbox), listed with its reason."""
        return self._done(out)

    def still_saving(self, w: Waiting) -> FileOutcome:
        out = self._start(w)
        self._saving(out)
        return self._done(out)

    def _saving(self, out: FileOutcome) -> None:
        out.outcome = "skipped"
        out.problems = [Problem("", "", "", "", "", STILL_SAVING, C.STILL_SAVING)]

    def _unchanged(self, w: Waiting) -> bool:
        try:
            return stat_key(os.lstat(w.path)) == w.stat
        except OSError:
            return False

    def handle(self, w: Waiting, res: ReadResult | None) -> FileOutcome:
        """File one inbox file; ``res`` is what a reading process made of it (None: over the size cap)."""
        out = self._start(w)
        received = dt.datetime.fromisoformat(out.received_at)
        if res is None:
            return self._too_big(w, out)
        data = res.data
        read_stat = res.stat
        if data is None and res.stat is None and not res.crashed:  # the reading process could not open it
            why = re.search(r"\((.*)\)", res.error or "")
            out.problems = [Problem("", "", "", "", "", (
                f"the file could not be opened{f' ({why.group(1)})' if why else ''}; it was {LEFT} Check that cmrg "
                "may read it (it may be open in a program that locks it), then run cmrg ingest again"), C.UNREADABLE)]
            return self._done(out)
        if data is None and res.crashed:  # the reading process died on it: read the bytes to file here, once
            try:
                with open(w.path, "rb") as fh:
                    read_stat = stat_key(os.fstat(fh.fileno()))
                    data = fh.read() if read_stat == w.stat else None
            except OSError as exc:
                out.problems = [Problem("", "", "", "", "", (
                    f"the file could not be opened ({exc.strerror}); it was {LEFT} Check that cmrg may read it (it "
                    "may be open in a program that locks it), then run cmrg ingest again"), C.UNREADABLE)]
                return self._done(out)
        if read_stat != w.stat or data is None:  # changed between being found and being read
            self._saving(out)
            return self._done(out)
        sha = hashlib.sha256(data).hexdigest()  # the bytes filed are the bytes checked
        if res.sha256 and res.sha256 != sha:
            self._saving(out)
            return self._done(out)
        out.sha256 = sha
        seen = self.known.get(sha)
        if seen is not None and not seen.recheck:
            return self._duplicate(w, out, seen, data)

        recheck = False
        if res.crashed or res.error:
            code = C.READER_LIMIT if res.limit else C.UNREADABLE
            problems = [Problem("", "", "", res.crashed or "", "", res.error or "could not be read safely", code)]
            result = None
        elif res.fatal:
            problems = [_finding_problem(f) for f in res.fatal]
            result = None
        else:
            result = res.checked
            if result is None:
                try:
                    result = check(res.raw, self.ledger, file_name=out.name, received=received)
                except Exception as exc:  # a bug in a rule: keep the file for the next run, say so
                    out.problems = [Problem("", "", "", "", "", (
                        f"the file could not be checked because of an error in cmrg ({type(exc).__name__}: {exc}); "
                        f"it was {LEFT} Please report this."), C.INTERNAL_ERROR)]
                    return self._done(out)
            problems = result.problems
            out.notes = list(result.notes)
        recheck = any(p.code in reg.RECHECK_CODES for p in problems)
        out.problems = problems
        if result is not None:
            out.contract_id, out.round = result.contract_id, result.round
            out.token = result.token
            issue = self.ledger.issues.get(result.token) if result.token else None
            if issue is not None and result.corrections:
                out.details = describe_details(result.corrections, issue.contract_snapshot,
                                               contract_id=issue.contract_id, round=issue.round,
                                               received_at=out.received_at)
        named = self.ledger.ids_in_name(out.name)
        out.named_for = sorted(named - {out.contract_id}) if out.contract_id not in named else []
        self.n += 1
        if not self._unchanged(w):  # saved again since it was read: file nothing, look again next run
            self._saving(out)
            return self._done(out)
        with self._filing(out):
            if not problems:
                self._accept(w, data, out, result)
            else:
                self._reject(w, data, out, result, recheck)
        return self._done(out)

    @contextmanager
    def _filing(self, out: FileOutcome) -> Iterator[None]:
        """Filing one file; if the run stops here, the file is listed as not filed (and its copies go)."""
        try:
            yield
        except BaseException:
            self._not_filed(out)
            self.outcomes.append(out)
            self.drop_unregistered()
            raise

    @staticmethod
    def _not_filed(out: FileOutcome) -> None:
        out.outcome, out.stored, out.problems_file, out.submission_id, out.supersedes = "skipped", "", "", None, None
        out.problems = [Problem("", "", "", "", "", (
            f"not filed: the run stopped before it was registered; it was {LEFT} for the next run"), C.STOPPED)]

    def drop_unregistered(self) -> None:
        """Remove copies written but not registered (the run is stopping)."""
        registered = {p for _o, _s, _h, dest, _st in self.pending for p in (dest, dest + NOTE_SUFFIX)}
        for p in [p for p in self.written if p not in registered]:
            self.written.remove(p)
            try:
                os.unlink(p)
            except OSError:
                pass

    def _done(self, out: FileOutcome) -> FileOutcome:
        self.outcomes.append(out)
        if self.progress:
            self.progress(out)
        if len(self.pending) >= FLUSH_EVERY or (self.pending and time.monotonic() - self.last_flush > FLUSH_SECONDS):
            self.flush()
        return out

    def _folder(self, folder: str) -> None:
        if folder not in self.made:
            try:  # one mkdir (a new contract's folder, its round's already made): os.makedirs costs 3 times that
                os.mkdir(folder)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
            self.made.add(folder)

    def _place(self, folder: str, name: str, data: bytes, companion: str = "") -> str:
        """Write ``data`` (the bytes that were checked) to a new file ``folder/name``, made unique;
        never a link to the inbox file. Flushed to disk and verified before the inbox file goes."""
        self._folder(folder)
        stem, suffix = os.path.splitext(name)
        n = 1
        while True:
            dest = os.path.join(folder, name if n == 1 else f"{stem} ({n}){suffix}")
            n += 1
            if companion and os.path.exists(dest + companion):
                continue
            try:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
            except FileExistsError:
                continue
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except BaseException:
                os.close(fd)
                os.unlink(dest)
                raise
            os.close(fd)
            self.written.append(dest)
            return dest

    def _duplicate(self, w: Waiting, out: FileOutcome, seen: reg.Known, data: bytes | None = None) -> FileOutcome:
        self.commit()  # the first copy's registration is on disk before this one is set aside
        out.outcome = "duplicate"
        out.contract_id, out.round = seen.contract_id, seen.round
        out.submission_id = seen.id
        when = seen.received_at[:16].replace("T", " ")
        out.notes = [Problem("", "", "", "", "", (
            f"the same file was already received on {when} UTC and {seen.outcome} (submission {seen.id}, now at "
            f"{seen.stored_path}); nothing was changed"), C.DUPLICATE)]
        if not self._unchanged(w):
            self._saving(out)
            out.notes = []
            return self._done(out)
        home = os.path.join(self.root, *seen.stored_path.split("/"))
        if (data is not None and seen.stored_path.startswith(("archive/", "inbox/rejected/"))
                and not os.path.lexists(home)):
            # Its filed copy was moved away (back into inbox/ to retry, say): put these bytes back there.
            self._folder(os.path.dirname(home))
            with open(home, "xb") as fh:
                fh.write(data)
            self.written.append(home)
            self.pending.append((out, w.path, out.sha256, home, w.stat))
            out.stored = seen.stored_path
            out.notes = [Problem("", "", "", "", "", (
                f"the same file was already received on {when} UTC and {seen.outcome} (submission {seen.id}); its "
                f"filed copy was missing from {seen.stored_path}, so it was put back there; nothing else changed"),
                C.DUPLICATE)]
            return self._done(out)
        target = _unique(Path(self.duplicates), _safe_name(out.name))
        os.replace(w.path, target)  # a rename: the file is in one place or the other, never both
        out.stored = self.rel(str(target))
        return self._done(out)

    def _commit(self, out: FileOutcome, w: Waiting, dest: str, **fields) -> None:
        """Register one file: all of it or none of it (a savepoint inside the group's transaction).
        A registration that fails takes its copy away again: only registered copies are kept."""
        stored = self.rel(dest)
        if not self.group:
            reg.begin(self.conn)
            self.group_started = time.monotonic()
        with reg.savepoint(self.conn):
            sub_id = reg.add_submission(
                self.conn, sha256=out.sha256, original_name=out.name, stored_path=stored,
                received_at=out.received_at, inbox_source=out.source, named_for=out.named_for, **fields)
        self.group.append(self.n)
        out.submission_id = sub_id
        self.known[out.sha256] = reg.Known(sub_id, fields["outcome"], fields.get("status"), stored,
                                           out.received_at, fields.get("contract_id"), fields.get("round"),
                                           bool(fields.get("recheck")))
        self.pending.append((out, w.path, out.sha256, dest, w.stat))
        if len(self.group) >= COMMIT_EVERY or time.monotonic() - self.group_started > COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Commit the files registered since the last commit (one transaction, one write to the
        log, instead of one per file: each file is still all-or-nothing through its savepoint,
        and a run killed before this leaves only unregistered copies, which the next run drops)."""
        if not self.group:
            return
        reg.commit(self.conn)
        for n in self.group:
            self.hook("committed", n)
        self.group = []

    def abandon(self) -> None:
        """The run is stopping: forget the registrations not yet committed, and their copies
        (their files stay in inbox/ for the next run); what was committed is kept."""
        if self.group:
            reg.rollback(self.conn)
            uncommitted = self.pending[len(self.pending) - len(self.group):]
            self.pending = self.pending[: len(self.pending) - len(self.group)]
            for o, *_ in uncommitted:
                self._not_filed(o)
            self.group = []
        self.drop_unregistered()

    def _accept(self, w: Waiting, data: bytes, out: FileOutcome, result) -> None:
        stamp = out.received_at.replace("+00:00", "Z").replace("-", "").replace(":", "")
        # archive/ROUND/CONTRACT/: each contract's returns together, oldest first by name.
        folder = os.path.join(self.archive, safe_filename(result.round), safe_filename(result.contract_id))
        name = f"{stamp}-{out.sha256[:12]}-{_safe_name(out.name)}"
        dest = self._place(folder, name, data)
        self.hook("copied", self.n)
        key = (result.contract_id, result.round)
        prev = self.current.get(key)
        earlier = self.filed.get(prev) if prev is not None else None
        if earlier is not None:  # two returns of one contract in this run: say which counts
            out.replaces = earlier
            out.notes.append(Problem("", "", "", earlier.name, out.name, (
                f"this return replaces {earlier.name}, received in this same run for {result.contract_id}: "
                "returns are filed oldest first by when they were saved, so this newer one counts; both are kept"),
                C.REPLACES))
        self._commit(out, w, dest, outcome="accepted", status="current", token=result.token,
                     contract_id=result.contract_id, round=result.round, framework_hash=result.framework_hash,
                     supersedes=prev, corrects=result.corrects,
                     attested_name=result.attested_name, attested_role=result.attested_role,
                     attested_on=result.attested_on, problems=[p.as_dict() for p in out.notes],
                     corrections=result.corrections, answers=result.answers, mapping=result.mapping)
        out.mapping, out.upgraded_from = result.mapping, result.upgraded_from
        self.current[key] = out.submission_id
        self.filed[out.submission_id] = out
        out.outcome = "accepted"
        out.supersedes = prev
        out.stored = self.rel(dest)

    def _reject(self, w: Waiting, data: bytes | None, out: FileOutcome, result, recheck: bool,
                dest: str | None = None) -> None:
        if dest is None:
            dest = self._place(self.rejected, _safe_name(out.name), data, companion=NOTE_SUFFIX)
        contract = None
        if out.contract_id:
            snap = self.snapshots.get(out.contract_id, {})
            contract = f"{out.contract_id} {snap.get('title', '')}".strip()
        text = _problems_text(out.name, out.received_at, out.problems, contract, out.round)
        problems_file = dest + NOTE_SUFFIX
        with open(problems_file, "xb") as fh:
            fh.write(text.encode("utf-8"))
        self.written.append(problems_file)
        self.hook("copied", self.n)
        self._commit(out, w, dest, outcome="rejected", token=getattr(result, "token", None),
                     contract_id=out.contract_id, round=out.round,
                     framework_hash=getattr(result, "framework_hash", None),
                     problems=[p.as_dict() for p in out.problems], entered=getattr(result, "entered", None),
                     recheck=recheck, corrections=getattr(result, "corrections", None))
        out.outcome = "rejected"
        out.stored = self.rel(dest)
        out.problems_file = self.rel(problems_file)

    def _too_big(self, w: Waiting, out: FileOutcome) -> FileOutcome:
        """A file over the size cap: never read whole into memory. One pass copies it (to a
        partial name) while hashing it; the copy becomes the rejected file, or goes if the
        bytes are a duplicate."""
        self._folder(self.rejected)
        tmp = os.path.join(self.rejected, f"{PARTIAL_PREFIX}{os.getpid()}-{self.n}")
        h = hashlib.sha256()
        try:
            with open(w.path, "rb") as fin:
                if stat_key(os.fstat(fin.fileno())) != w.stat:
                    self._saving(out)
                    return self._done(out)
                with open(tmp, "wb") as fout:
                    for chunk in iter(lambda: fin.read(1 << 20), b""):
                        h.update(chunk)
                        fout.write(chunk)
                    size = fout.tell()
        except OSError as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if exc.filename == w.path:
                out.problems = [Problem("", "", "", "", "", (
                    f"the file could not be opened ({exc.strerror}); it was {LEFT} Check that cmrg may read it, then "
                    "run cmrg ingest again"), C.UNREADABLE)]
                return self._done(out)
            raise
        if size != w.size or not self._unchanged(w):
            os.unlink(tmp)
            self._saving(out)
            return self._done(out)
        out.sha256 = h.hexdigest()
        seen = self.known.get(out.sha256)
        if seen is not None and not seen.recheck:
            os.unlink(tmp)
            return self._duplicate(w, out, seen)
        limit = self.max_bytes
        out.problems = [Problem("", "", "", f"{size} bytes", "", (
            f"The file is {size / 1048576:.1f} MB, larger than the {limit / 1048576:.0f} MB we accept. The workbook we "
            "sent is much smaller: check you are sending the right file, remove any pictures or extra sheets you "
            "added, save it and send it again."), C.TOO_LARGE)]
        named = self.ledger.ids_in_name(out.name)
        out.named_for = sorted(named)
        self.n += 1
        with self._filing(out):
            dest = str(_unique(Path(self.rejected), _safe_name(out.name)))
            os.replace(tmp, dest)
            self.written.append(dest)
            self._reject(w, None, out, None, True, dest=dest)
        return self._done(out)

    def flush(self, clear: bool = True) -> None:
        """Commit, then hand the batch to a background thread that makes every copy durable,
        verifies each, and only then removes the inbox files: removing a file frees its blocks,
        which costs milliseconds on some disks, so it overlaps with filing the next files. The
        previous batch is finished first (its removals then recorded in the register), so at most
        one is in flight. Without ``clear`` (a stopping run) the register is not written: the next
        run tidies up."""
        self.commit()
        self.finish_removals(clear)
        if not self.pending:
            return
        batch, written = list(self.pending), [Path(p) for p in self.written]
        self.pending.clear()
        self.written.clear()
        self.removing = _Removal(batch, written, self.hook, self.rel)
        self.removing.start()
        self.last_flush = time.monotonic()

    def finish_removals(self, clear: bool = True) -> None:
        """Wait for the batch being removed, and record in the register which inbox files went."""
        if self.removing is None:
            return
        removal, self.removing = self.removing, None
        removal.join()
        if clear:
            reg.clear_pending(self.conn, removal.done)
        if removal.error is not None:
            raise removal.error


class _Removal(threading.Thread):
    """Durable, verified, then removed: one batch of filed files, in the background."""

    def __init__(self, batch, written: list[Path], hook, rel):
        super().__init__(name="cmrg-remove-inbox-copies", daemon=True)
        self.batch, self.written, self.hook, self.rel = batch, written, hook, rel
        self.done: list[tuple[str, str]] = []  # (sha, inbox path) whose pending row can go
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            _flush(self.written)
            for out, src, sha, dest, st in self.batch:
                if _file_sha(dest) != sha:  # the copy is not what was checked: keep the original for the next run
                    out.notes.append(Problem("", "", "", "", "", (
                        f"the filed copy {self.rel(dest)} could not be verified after writing; the file was {LEFT} "
                        "and the next run puts the copy right"), C.UNVERIFIED))
                    continue
                try:
                    now = stat_key(os.lstat(src))
                except FileNotFoundError:
                    now = None
                if now is not None and now != st:  # saved again after it was read: the newer file stays
                    out.notes.append(Problem("", "", "", "", "", (
                        "the file was saved again after it was checked: the version checked was filed, and the "
                        f"newer one was {LEFT} for the next run"), C.CHANGED_AFTER))
                elif now is not None:
                    try:
                        os.unlink(src)
                    except FileNotFoundError:
                        pass
                    except OSError as exc:  # locked by another program, say: the next run removes it
                        out.notes.append(Problem("", "", "", "", "", (
                            f"it was filed, but could not be removed from inbox/ ({exc.strerror}); the next run "
                            "recognises it and removes it"), C.NOT_REMOVED))
                        continue
                self.done.append((sha, self.rel(src)))
                self.hook("removed", len(self.done))
        except BaseException as exc:  # reported by the main thread when it waits for this batch
            self.error = exc


def _current_framework(ws: Workspace):
    try:
        return ws.framework()
    except Exception:  # a broken framework setting must not stop returns being filed
        return None


def ingest(ws: Workspace, *, progress: Callable[[FileOutcome], None] | None = None,
           on_start: Callable[[int], None] | None = None, wait_seconds: float = 10.0,
           write_report: bool = True, corrections: bool = True,
           settle_seconds: float | None = None) -> IngestResult:
    """Ingest every file waiting in ``inbox/``; see the module documentation.

    With ``corrections`` (the default, as ``cmrg ingest``), each rejected return of a workbook
    we issued (still open) gets its corrections workbook (:mod:`cmrg_excel.intake.corrections`)
    once every file is filed; ``corrections=False`` is ``cmrg ingest --no-corrections``.
    ``settle_seconds`` overrides the setting (0 for files the caller wrote and closed itself).
    Raises :class:`IngestStopped` (with what was filed so far) when the run cannot go on."""
    started = time.monotonic()
    started_at = reg.now()
    cfg = ws.config.section("ingest")
    max_mb = _setting(cfg, "max_file_mb", 10, 0.001, 1000, "a number of megabytes")
    workers = int(_setting(cfg, "workers", 2, 1, 64, "a whole number", whole=True))
    memory_mb = int(_setting(cfg, "worker_memory_mb", 1024, 0, 1 << 20, "a whole number of megabytes (0: no cap)",
                             whole=True))
    timeout = _setting(cfg, "file_timeout_seconds", 30, 1, 3600, "a number of seconds")
    if settle_seconds is None:
        settle_seconds = _setting(cfg, "settle_seconds", SETTLE_SECONDS, 0, 60, "a number of seconds")
    ws.ensure_folders()
    with ws.lock("ingest", wait_seconds=wait_seconds):
        conn = reg.open_register(ws)
        try:
            # Each file is all or nothing in its own savepoint, committed in groups; durability
            # comes from the flush before inbox copies are removed.
            conn.execute("PRAGMA synchronous=NORMAL")
            run_id = audit.start_run(conn, started_at)
            result = IngestResult([], None, started_at, 0.0, run_id=run_id)
            try:
                _files(ws, conn, result, progress, on_start, settle_seconds, max_mb, workers, memory_mb, timeout)
            except (BusyError, OSError) as exc:
                _stopped(ws, conn, result, exc, write_report)
            if corrections and result.rejected:
                from .corrections import CorrectionsError, issue_corrections

                try:
                    result.corrections = issue_corrections(ws, conn, submission_ids=[
                        f.submission_id for f in result.rejected if f.submission_id is not None])
                except (CorrectionsError, OSError) as exc:
                    result.corrections_error = str(exc)
            if write_report and (result.files or result.recovered):  # an empty inbox gets no report
                result.report = write_ingest_report(ws, result)
            audit.finish_run(conn, run_id, state="finished", counts=result.counts,
                             report_path=_rel(ws, result.report) if result.report else None)
        finally:
            conn.close()
    result.seconds = time.monotonic() - started
    return result


def _files(ws, conn, result: IngestResult, progress, on_start, settle_seconds: float, max_mb: float, workers: int,
           memory_mb: int, timeout: float) -> None:
    result.recovered = reconcile(ws, conn)
    run = _Run(ws, conn, progress)
    result.files = run.outcomes
    found, odd = scan_inbox(ws)
    if on_start:
        on_start(len(found) + len(odd))
    for out in odd:
        run.skip(out)
    ready, saving = settle(found, settle_seconds)
    for w in saving:
        run.still_saving(w)
    limits = limits_for(int(max_mb * 1024 * 1024))
    run.max_bytes = limits.max_file_bytes
    small = [w for w in ready if w.size <= limits.max_file_bytes]  # the rest are never read whole
    try:
        if small:
            with ReaderPool(workers, memory_mb, timeout, limits, batch=16, ledger=run.ledger) as pool:
                results = pool.read([w.path for w in small], ordered=True)
                for w in ready:  # oldest first, whatever order the workers finish in
                    run.handle(w, next(results) if w.size <= limits.max_file_bytes else None)
                for _ in results:  # nothing left; lets the pool finish cleanly
                    pass
                result.workers_replaced = pool.replaced
        else:
            for w in ready:
                run.handle(w, None)
    except BaseException:
        try:  # each file registered so far is complete (its own savepoint): keep them
            run.commit()
        except BaseException:  # the register itself failed: those not yet committed stay in inbox/
            run.abandon()
        run.drop_unregistered()
        try:
            run.flush(clear=False)  # what was registered is kept: its inbox copies go
            run.finish_removals(clear=False)
        except (BusyError, OSError):
            pass
        raise
    run.flush()
    run.finish_removals()


def _stopped(ws, conn, result: IngestResult, exc: BaseException, write_report: bool) -> None:
    """The run stopped part way: report what was filed, record the run, and raise IngestStopped."""
    if isinstance(exc, BusyError):
        message = f"{reg.BUSY}; what was filed so far is kept; run cmrg ingest again"
        code = exc.exit_code
    else:
        where = getattr(exc, "filename", None)
        where = f"{_rel(ws, Path(where))}: " if where else ""
        message = (f"{where}could not be written ({getattr(exc, 'strerror', None) or exc}); what was filed so far is "
                   "kept. Check that the folder exists and you may write there (and the disk is not full), then run "
                   "cmrg ingest again")
        code = 1
    if write_report:
        try:
            result.report = write_ingest_report(ws, result)
        except OSError:
            result.report = None
    if not isinstance(exc, BusyError):  # when the register itself is busy, the next run marks this one interrupted
        try:
            audit.finish_run(conn, result.run_id, state="stopped", counts=result.counts,
                             report_path=_rel(ws, result.report) if result.report else None, message=message)
        except (BusyError, OSError):
            pass
    raise IngestStopped(message, result, code)


def _setting(cfg: dict, key: str, default: float, low: float, high: float, what: str, whole: bool = False) -> float:
    """An [ingest] setting of cmrg.toml. The rule that holds it (core/settings.py, checked when the
    workspace opened) is the one that counts; the bounds here only say what the caller expects."""
    return float(check_value("ingest", key, cfg.get(key, default)))


# --- the report ---------------------------------------------------------------------------

# The printed columns first (across one A4 landscape page); where each file went, and its
# SHA-256, follow for the screen.
FILE_COLUMNS = ["File", "Outcome", "Contract", "Round", "Problems", "First reason", "Received (UTC)", "Needs a look",
                "Named for", "Found in", "Now at", "Problems file", "Submission", "Supersedes", "SHA-256"]
FILES_PRINTED = 7
PROBLEM_COLUMNS = ["File", "Contract", "Outcome", "Sheet", "Cell", "Activity", "Reason", "Found", "Expected", "Code"]
PROBLEMS_PRINTED = 7
_OUTCOME_ORDER = {"rejected": 0, "duplicate": 1, "accepted": 2}


def write_ingest_report(ws: Workspace, result: IngestResult) -> Path:
    """outbox/ingest-<time>.xlsx: one row per file (rejected first), one per reason, the
    upgrades and corrections workbooks when there are any, and a summary of the run."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    ws.outbox.mkdir(parents=True, exist_ok=True)
    path = ws.outbox / f"ingest-{stamp}.xlsx"
    n = 2
    while path.exists():
        path = ws.outbox / f"ingest-{stamp}-{n}.xlsx"
        n += 1
    started = dt.datetime.fromisoformat(result.started_at)
    files = sorted(result.files, key=lambda f: (_OUTCOME_ORDER.get(f.outcome, 3), f.name.casefold(), f.name))
    rows = []
    reasons = []
    for f in files:
        received = dt.datetime.fromisoformat(f.received_at) if f.received_at else None
        rows.append([f.name, f.outcome, f.contract_id, f.round, len(f.problems), f.first_reason, received,
                     "Yes" if f.needs_a_look else "", ", ".join(f.named_for), f.source, f.stored, f.problems_file,
                     f.submission_id, f.supersedes, f.sha256])
        for p in f.problems + f.notes:
            reasons.append([f.name, f.contract_id, f.outcome, p.sheet, p.cell, p.ref, p.message, p.found, p.expected,
                            p.code])
    upgrades = []
    for f in sorted(result.accepted, key=lambda f: f.name):
        if not f.mapping:
            continue
        moved = {o: n for o, n in f.mapping.items() if o != n}
        for old, new in moved.items():
            upgrades.append([f.name, f.contract_id, f.upgraded_from, old, new or "(dropped: no successor)",
                             "moved" if new else "dropped"])
        upgrades.append([f.name, f.contract_id, f.upgraded_from, f"the other {len(f.mapping) - len(moved)}",
                         "(same reference)", "same"])
    made = [[c.contract_id, c.round, c.submission_id, c.path_rel, len(c.fixes), c.framework_version]
            for c in sorted(result.corrections, key=lambda c: c.contract_id)]
    details = [[d.contract_id, d.round, d.label, d.held, d.corrected, f.submission_id, f.outcome,
                dt.datetime.fromisoformat(f.received_at) if f.received_at else None]
               for f in files for d in f.details]
    summary = [
        ["Started (UTC)", started],  # shown dd/mm/yyyy hh:mm
        ["Files", len(result.files)],
        *[[o.capitalize(), result.count(o)] for o in OUTCOMES],
        ["Left in inbox/: still being saved", sum(1 for f in result.files if f.problems
                                                  and f.problems[0].code == C.STILL_SAVING)],
        ["Accepted, needs a look (named for another contract)", sum(1 for f in result.files if f.needs_a_look)],
        ["Returns replaced by a newer one in this run", sum(1 for f in result.files if f.replaces is not None)],
        ["Finished off from an interrupted run", result.recovered],
        ["Reading processes replaced after a crash or time-out", result.workers_replaced],
        ["Returns mapped from an older framework version", sum(1 for f in result.accepted if f.mapping)],
        ["Corrections workbooks made", len(result.corrections)],
    ]
    when = f"{started:%d/%m/%Y %H:%M} UTC"
    counts = ", ".join(f"{result.count(o)} {o}" for o in OUTCOMES if result.count(o))
    sheets = [
        TableSheet("Files", FILE_COLUMNS, rows, widths={"First reason": 60, "Now at": 39},
                   title=f"Ingest of {when}: {len(result.files)} file(s), {counts}",
                   note="Rejected files first. What each owner must fix is in inbox/rejected/<file>.problems.txt "
                        "and on the Reasons sheet; where each file went and its SHA-256 are in the columns after "
                        "First reason.", printed=FILES_PRINTED),
        TableSheet("Reasons", PROBLEM_COLUMNS, reasons, widths={"Reason": 70},
                   title=f"Ingest of {when}: every reason, file by file", printed=PROBLEMS_PRINTED),
    ]
    if upgrades:
        sheets.append(TableSheet("Upgrades", ["File", "Contract", "From version", "Old ref", "New ref", "Change"],
                                 upgrades, title=f"Ingest of {when}: returns mapped from an older framework"))
    if made:
        sheets.append(TableSheet("Corrections", ["Contract", "Round", "Rejected submission", "Corrections workbook",
                                                 "Fixes", "Framework version"], made,
                                 title=f"Ingest of {when}: corrections workbooks made"))
    if details:
        sheets.append(TableSheet("Details to correct", DETAIL_COLUMNS, details,
                                 title=f"Ingest of {when}: contract details the owners correct"))
    sheets.append(TableSheet("Summary", ["Item", "Value"], summary, title=f"Ingest of {when}: the run"))
    return write_table_workbook(path, sheets[0], extra=sheets[1:])


def summary_json(result: IngestResult) -> str:
    """The run as JSON (for logs and tools)."""
    return json.dumps({
        "files": len(result.files), **{o: result.count(o) for o in OUTCOMES},
        "report": str(result.report) if result.report else None, "recovered": result.recovered,
    })
