"""Reading returned workbooks: preflight, then python-calamine, in worker processes.

A returned file is untrusted bytes. Each file is first checked by
:func:`cmrg_excel.intake.preflight.preflight` (zip bombs, XML bombs, far-away cells, macros, ...)
and only then parsed with python-calamine, and both happen in a worker process with a
memory cap (``RLIMIT_AS`` where the platform has :mod:`resource`) and a per-file time
limit. A native abort, an out-of-memory kill or a hang costs that one file: it comes back
as :class:`ReadResult` with ``crashed`` set, the worker is replaced and the run goes on.

Only the cells :mod:`cmrg_excel.kit.layout` names are kept, as plain values (``str``, ``float``,
``int``, ``bool``, ``date``, ``datetime``; an empty cell is ``""``). Nothing is interpreted
here: :mod:`cmrg_excel.intake.check` decides what the values mean.

:class:`ReaderPool` feeds workers batches of paths and streams back one result per file,
in the order each worker finished them (or, with ``ordered``, in the order given, whatever the
workers' timing), so a crash is pinned to the file being read. Each result carries the bytes
the worker read (``data``): the caller files exactly those, never the file as it is later.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..kit import calamine_internals as calamine
from ..kit import layout as L
from .preflight import PreflightFinding, Limits, preflight

# --- plain data out ----------------------------------------------------------------------


@dataclass
class RawRow:
    """One row of the Assessment sheet below the header, as found in the file."""

    row: int  # 1-based
    ref: object
    values: dict[str, object]  # layout.INPUT_KEYS -> value
    activity: object = ""  # column B: the key activity's statement (the area's name on an area row)


@dataclass
class RawReturn:
    """The cells of one return that the layout names, uninterpreted."""

    sheets: dict[str, str]  # sheet name -> visible, hidden or veryhidden (workbook order)
    meta: dict[str, object] | None  # META_KEYS -> value; None when the metadata sheet is missing
    meta_labels: dict[str, object] = field(default_factory=dict)  # META_KEYS -> the key written in column A
    contract: dict[str, object] = field(default_factory=dict)  # field key -> value as held (column B)
    corrections: dict[str, object] = field(default_factory=dict)  # field key -> correction (column C), non-empty
    rows: list[RawRow] = field(default_factory=list)  # Assessment rows with a ref or any answer
    attestation: dict[str, object] = field(default_factory=dict)  # ATTEST key -> value
    # (sheet, cell, value) of what is written outside the cells the layout reads: beyond the form's
    # columns or rows on the Contract and Attestation sheets; on the Assessment sheet, in columns J and
    # beyond, and in B, C or E of rows without a Ref (the overall row's own text left out)
    outside: list[tuple[str, str, object]] = field(default_factory=list)
    # sheet -> {cell: formula} of formulas where the template has none (a reader sees only their
    # cached value, which Excel would recompute): from preflight
    formulas: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class ReadResult:
    """What reading one file produced. Exactly one of raw, findings-with-fatal, error or crashed."""

    path: str
    sha256: str = ""
    size: int = 0
    findings: list[PreflightFinding] = field(default_factory=list)
    raw: RawReturn | None = None
    error: str | None = None  # the reader refused the file (message for the owner)
    crashed: str | None = None  # the worker died or ran out of time (detail for the log)
    stat: tuple | None = None  # (inode, size, mtime_ns) of the file as read: proves it unchanged when filed
    checked: object | None = None  # check.CheckResult, when the worker was given the ledger (raw is then dropped)
    data: bytes | None = None  # every byte read, when the whole file was read: what is filed is what was checked
    limit: bool = False  # refused by one of our own limits (memory, time, a crash), not for what the file holds

    @property
    def fatal(self) -> list[PreflightFinding]:
        return [f for f in self.findings if f.fatal]


UNREADABLE = (
    "The workbook could not be read safely: opening it {why}. Open it in Excel, check your answers are there, "
    "use File > Save As, choose 'Excel Workbook (*.xlsx)' and send the new file. If that does not help, copy "
    "your answers into a fresh copy of the workbook we sent you."
)


def limits_for(max_file_bytes: int) -> Limits:
    """Preflight limits for returns of this project's templates."""
    return Limits(max_file_bytes=max_file_bytes, max_row=L.MAX_ROW, max_col=L.MAX_COL)


# --- reading one file ----------------------------------------------------------------------



def _at(grid: list[list[object]], r: int, c: int) -> object:
    if r < len(grid):
        row = grid[r]
        if c < len(row):
            return row[c]
    return ""


# Where the layout's cells are, as 0-based (row, column): worked out once, not per file.
_META_AT = tuple((k, L.rc(L.meta_cell(k)), L.rc(L.meta_cell(k, L.META_KEY_COL))) for k in L.META_KEYS)
_CONTRACT_AT = tuple((f.key, L.rc(L.contract_cell(f.key)), L.rc(L.contract_cell(f.key, L.CONTRACT_CORRECTION_COL)))
                     for f in L.CONTRACT_FIELDS)
_ATTEST_AT = tuple((f.key, L.rc(f.cell)) for f in L.ATTEST_FIELDS)
_REF_COL = L.col_index(L.ASSESS_BY_KEY["ref"].letter)
_ACTIVITY_COL = L.col_index(L.ASSESS_BY_KEY["activity"].letter)
_ANSWER_COLS = tuple((k, L.col_index(L.ASSESS_BY_KEY[k].letter)) for k in L.INPUT_KEYS)
_LAST_ANSWER_COL = max(c for _, c in _ANSWER_COLS)
_PREVIOUS_COL = L.col_index(L.ASSESS_BY_KEY["previous"].letter)
_CONFIRM_COL = L.col_index(L.ASSESS_BY_KEY["confirm"].letter)
_FIRST_OUTSIDE_COL = _PREVIOUS_COL  # J: the last column of a first-round table is I
_TEXT_COLS = tuple(L.col_index(L.ASSESS_BY_KEY[k].letter) for k in ("activity", "guidance", "score"))
_FORM_LAST_COL = L.col_index(L.FORM_LAST_COL)


def _blank(value: object) -> bool:
    return value == "" or value is None or (value.__class__ is str and not value.strip())


def _form_outside(raw: RawReturn, sheet: str, g: list[list[object]], last_row: int, first_col: int = 0) -> None:
    """Cells written on a form sheet (Contract, Attestation) outside its columns and rows."""
    last_col = _FORM_LAST_COL
    for r0, row in enumerate(g):
        if r0 >= last_row:
            cols = range(len(row))
        elif len(row) > last_col + 1 or first_col:
            cols = [*range(first_col), *range(last_col + 1, len(row))]
        else:
            continue
        for c in cols:
            if c < len(row) and not _blank(row[c]):
                raw.outside.append((sheet, f"{L.col_letter(c)}{r0 + 1}", row[c]))


def extract(wb) -> RawReturn:
    """The layout's cells from a workbook opened by :func:`cmrg_excel.kit.calamine_internals.open_workbook`."""
    sheets = calamine.sheet_states(wb)
    raw = RawReturn(sheets=sheets, meta=None)

    def grid(name: str) -> list[list[object]] | None:
        if name not in sheets:
            return None
        return calamine.sheet_grid(wb, name)

    g = grid(L.META)
    if g is not None:
        raw.meta = {k: _at(g, *value) for k, value, _ in _META_AT}
        raw.meta_labels = {k: _at(g, *label) for k, _, label in _META_AT}
    g = grid(L.CONTRACT)
    if g is not None:
        for key, value, correction in _CONTRACT_AT:
            raw.contract[key] = _at(g, *value)
            corr = _at(g, *correction)
            if corr not in ("", None):
                raw.corrections[key] = corr
        _form_outside(raw, L.CONTRACT, g, L.CONTRACT_LAST_ROW)
    g = grid(L.ASSESSMENT)
    if g is not None:
        rows = raw.rows
        outside = raw.outside
        for r0 in range(0, min(len(g), L.MAX_ROW)):
            row = g[r0]
            n = len(row)
            if n > _FIRST_OUTSIDE_COL:  # columns J and beyond: outside the table (J is the template's on a re-review)
                for c in range(_FIRST_OUTSIDE_COL, n):
                    if c != _CONFIRM_COL and not _blank(row[c]) and (c != _PREVIOUS_COL or r0 >= L.ASSESS_HEADER_ROW):
                        outside.append((L.ASSESSMENT, f"{L.col_letter(c)}{r0 + 1}", row[c]))
            if r0 < L.ASSESS_FIRST_ROW - 1:
                continue
            if n > _LAST_ANSWER_COL:
                values = {k: row[c] for k, c in _ANSWER_COLS}
            else:
                values = {k: (row[c] if c < n else "") for k, c in _ANSWER_COLS}
            ref = row[_REF_COL] if _REF_COL < n else ""
            activity = row[_ACTIVITY_COL] if _ACTIVITY_COL < n else ""
            if ref not in ("", None) or any(v not in ("", None) for v in values.values()):
                rows.append(RawRow(r0 + 1, ref, values, activity))
            elif activity != L.OVERALL_LABEL:  # a row without a Ref: anything in B, C or E is outside the table
                for c in _TEXT_COLS:
                    if c < n and not _blank(row[c]):
                        outside.append((L.ASSESSMENT, f"{L.col_letter(c)}{r0 + 1}", row[c]))
    g = grid(L.ATTESTATION)
    if g is not None:
        raw.attestation = {key: _at(g, *at) for key, at in _ATTEST_AT}
        _form_outside(raw, L.ATTESTATION, g, L.ATTEST_LAST_ROW, first_col=1)
    return raw


def owners_formulas(found: dict[str, tuple[tuple[str, str], ...]]) -> dict[str, dict[str, str]]:
    """The formulas preflight found on the sheets read, where the template has none."""
    out: dict[str, dict[str, str]] = {}
    for sheet in (L.CONTRACT, L.ASSESSMENT, L.ATTESTATION, L.META):
        for cell, text in found.get(sheet, ()):
            letters = cell.rstrip("0123456789")
            if sheet == L.ASSESSMENT and letters in L.ASSESS_FORMULA_COLS:
                continue
            if sheet == L.ATTESTATION and cell in L.ATTEST_FORMULA_CELLS:
                continue
            out.setdefault(sheet, {})[cell] = text
    return out


def read_bytes(data: bytes, limits: Limits, path: str = "") -> ReadResult:
    """Preflight then read one file's bytes (call in a worker process for untrusted files)."""
    res = ReadResult(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    pf = preflight(data, limits)
    res.findings = list(pf.findings)
    if not pf.ok:
        return res
    try:
        wb = calamine.open_workbook(data)
        res.raw = extract(wb)
        res.raw.formulas = owners_formulas(pf.formulas)
    except calamine.PasswordError:
        res.error = ("The workbook is protected with a password to open. Open it, remove the password "
                     "(File > Info > Protect Workbook > Encrypt with Password, clear the box), save and send it again.")
    except MemoryError:
        res.error = UNREADABLE.format(why="needed more memory than any of our workbooks")
        res.limit = True
    except Exception as exc:  # CalamineError, XmlError, ZipError, ValueError ... on damaged files
        res.error = UNREADABLE.format(why=f"failed ({type(exc).__name__}: {str(exc)[:200]})")
    return res


def stat_key(st: os.stat_result) -> tuple[int, int, int]:
    """What proves a file unchanged: (inode, size, modification time in ns)."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_path(path: str | Path, limits: Limits, keep: bool = False) -> ReadResult:
    """Read one file in this process (tests, tools); see :class:`ReaderPool` for untrusted runs.
    With ``keep``, the bytes read come back in ``data`` when they are the whole file."""
    p = str(path)
    try:
        with open(p, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read(limits.max_file_bytes + 1)
    except OSError as exc:
        return ReadResult(path=p, error=f"The file could not be opened ({exc.strerror}).")
    res = read_bytes(data, limits, p)
    res.stat = stat_key(st)
    if keep and len(data) == st.st_size:
        res.data = data
    return res


# --- worker processes ------------------------------------------------------------------------

# Test hook: when the environment names a file (by its base name), the worker aborts while
# reading it, exactly as a native crash in a parser would.
ABORT_HOOK = "CMRG_TEST_ABORT_ON"
HANG_HOOK = "CMRG_TEST_HANG_ON"


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_AS; the time limit still applies
        return
    if memory_mb <= 0:
        return
    limit = memory_mb * 1024 * 1024
    try:  # a forked worker starts with its parent's address space: the cap is on top of it
        with open("/proc/self/statm") as fh:
            limit += int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        pass
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _worker_main(conn, limits: Limits, memory_mb: int, ledger=None, close=()) -> None:
    """Worker loop: receive a batch of paths, send back one ReadResult per file as each is done.

    With a ledger, the worker also runs :func:`cmrg_excel.intake.check.check` and sends back only
    its result (small to pickle), so the main process only files and registers."""
    for c in close:  # a forked worker inherits the main process's ends of every pipe: let them go
        try:
            c.close()
        except OSError:
            pass
    _limit_memory(memory_mb)
    parent = os.getppid()
    abort_on = os.environ.get(ABORT_HOOK)
    hang_on = os.environ.get(HANG_HOOK)

    if ledger is not None:
        import datetime as _dt

        from .check import check

    while True:
        try:
            while not conn.poll(0.5):
                if os.getppid() != parent:  # the main process was killed: stop, releasing what it shared
                    return
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for path in batch:
            name = os.path.basename(path)
            if abort_on and name == abort_on:
                os.abort()
            if hang_on and name == hang_on:
                time.sleep(3600)
            try:
                res = read_path(path, limits, keep=True)
            except MemoryError:
                res = ReadResult(path=path, error=UNREADABLE.format(why="needed more memory than any of our workbooks"),
                                 limit=True)
            if ledger is not None and res.raw is not None:
                try:
                    received = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
                    res.checked = check(res.raw, ledger, file_name=name, received=received)
                    res.checked.issue = None  # the main process needs only what the result carries
                    res.raw = None
                except Exception:  # a bug in a rule must not lose the file: the main process checks again
                    res.checked = None
            conn.send(res)


def _context():
    """fork on Linux (fast to start, nothing re-imported), spawn elsewhere (macOS, Windows)."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Worker:
    def __init__(self, ctx, limits: Limits, memory_mb: int, ledger=None, siblings=()):
        self.conn, child = ctx.Pipe(duplex=True)
        close = [self.conn, *siblings] if ctx.get_start_method() == "fork" else []
        self.proc = ctx.Process(target=_worker_main, args=(child, limits, memory_mb, ledger, close), daemon=True)
        self.proc.start()
        child.close()
        self.pending: deque[int] = deque()  # numbers of the files sent, not yet answered, in order
        self.since = time.monotonic()  # when the file now being read was started

    def send(self, numbers: list[int], paths: list[str]) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.extend(numbers)
        self.conn.send(paths)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:
            pass
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)
        self.conn.close()


COLLECT_SECONDS = 0.005  # how long the main process lets results gather while files are still queued


class ReaderPool:
    """Worker processes that read returns; a worker that dies or hangs costs only its current file.

    Use as a context manager; :meth:`read` yields one :class:`ReadResult` per path, in
    completion order.
    """

    def __init__(self, workers: int = 2, memory_mb: int = 1024, timeout: float = 30.0,
                 limits: Limits | None = None, batch: int = 8, ledger=None):
        self.n = max(1, int(workers))
        self.memory_mb = memory_mb
        self.timeout = float(timeout)
        self.limits = limits or limits_for(10 * 1024 * 1024)
        self.batch = max(1, batch)
        self.ctx = _context()
        self.workers: list[_Worker] = []
        self.replaced = 0
        self.ledger = ledger

    def __enter__(self) -> "ReaderPool":
        self.workers = []
        for _ in range(self.n):
            self.workers.append(_Worker(self.ctx, self.limits, self.memory_mb, self.ledger,
                                        [w.conn for w in self.workers]))
        return self

    def __exit__(self, *exc) -> None:
        for w in self.workers:
            if exc[0] is None:
                w.stop()
            else:
                w.kill()
        self.workers = []

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        self.replaced += 1
        new = _Worker(self.ctx, self.limits, self.memory_mb, self.ledger, [x.conn for x in self.workers if x is not w])
        self.workers[self.workers.index(w)] = new
        return new

    def read(self, paths: Iterable[str | Path], ordered: bool = False) -> Iterator[ReadResult]:
        """One result per path: as each is done, or with ``ordered`` in the order of ``paths``
        (results that finish early wait, and workers are kept at most a window of files ahead
        of the first one still being read, so memory stays bounded)."""
        items = [str(p) for p in paths]
        queue: deque[int] = deque(range(len(items)))
        if not self.workers:
            raise RuntimeError("use ReaderPool as a context manager")
        # Small first batches so both workers start at once; then bigger ones.
        size = max(1, min(self.batch, len(queue) // (self.n * 4) or 1))
        window = max(64, 8 * self.n * size)
        done: dict[int, ReadResult] = {}
        next_out = 0

        def feed(w: _Worker) -> None:
            # Keep up to two batches in flight per worker so it never waits for the main process.
            while queue and len(w.pending) < 2 * size and (not ordered or queue[0] < next_out + window):
                batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                w.send(batch, [items[i] for i in batch])

        def ready(i: int, res: ReadResult) -> Iterator[ReadResult]:
            nonlocal next_out
            res.path = items[i]
            if not ordered:
                yield res
                return
            done[i] = res
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1

        for w in self.workers:
            feed(w)
        while any(w.pending for w in self.workers):
            busy = [w for w in self.workers if w.pending]
            now = time.monotonic()
            left = min(w.since + self.timeout - now for w in busy)
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=max(0.0, left) + 0.01)
            if queue:
                # More files to come: let a few more results arrive and take them together. Waking
                # for every file costs the workers the CPU (context switches, cold caches) on a
                # machine with as many cores as workers: about 10% of a 1,000-file run.
                time.sleep(COLLECT_SECONDS)
            for w in busy:
                while w.pending and _poll(w.conn):
                    try:
                        res = w.conn.recv()
                    except (EOFError, OSError):
                        break
                    i = w.pending.popleft()
                    w.since = time.monotonic()
                    yield from ready(i, res)
                if w.pending and (not w.proc.is_alive() or time.monotonic() - w.since > self.timeout):
                    culprit = w.pending.popleft()
                    queue.extendleft(reversed(w.pending))
                    w.pending.clear()
                    if w.proc.is_alive():
                        why = f"took longer than {self.timeout:g} seconds"
                    else:
                        why = f"stopped the reading process (exit code {w.proc.exitcode})"
                    w = self._replace(w)
                    yield from ready(culprit, ReadResult(path=items[culprit], error=UNREADABLE.format(why=why),
                                                         crashed=why, limit=True))
                feed(w)
            for w in self.workers:  # a window that moved on lets idle workers take more
                if not w.pending:
                    feed(w)


def _poll(conn) -> bool:
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False


def read_many(paths: Iterable[str | Path], *, workers: int = 2, memory_mb: int = 1024, timeout: float = 30.0,
              limits: Limits | None = None, on_result: Callable[[ReadResult], None] | None = None) -> list[ReadResult]:
    """Read files in worker processes and return every result (a convenience for tools and tests)."""
    out = []
    with ReaderPool(workers, memory_mb, timeout, limits) as pool:
        for res in pool.read(paths):
            if on_result:
                on_result(res)
            out.append(res)
    return out
