#!/usr/bin/python3
"""Drive a private, headless LibreOffice over UNO to act on a workbook.

Run under the Python that has the ``uno`` module (Debian's /usr/bin/python3):

    /usr/bin/python3 uno_driver.py JOB.json

JOB.json is an object with an ``action`` and its arguments:

``{"action": "fill", "src": ..., "dst": ..., "edits": [...], "recalculate": false}``
    Open ``src``, make each edit the way a person in Calc could, save to
    ``dst`` as Excel 2007-365 (.xlsx).  An edit is
    ``{"sheet": "Assessment", "cell": "D7", "value": "2 Good",
    "kind": "text"|"number"|"date", "paste": false}``.  An edit is refused
    (nothing written) when the sheet is protected and the cell locked, or
    when the cell's validation would reject the value and ``paste`` is false
    (pasting bypasses validation, but never protection).
    A structural edit is ``{"sheet": "Assessment", "unprotect": PASSWORD}``
    (Tools > Protect Sheet, unticked, with the password) or ``{"sheet":
    "Assessment", "delete_row": 12}`` (select row 12, Sheet > Delete Rows;
    refused on a protected sheet, as Calc refuses it).
``{"action": "resave", "src": ..., "dst": ...}``
    Open and save as .xlsx with no edits.
``{"action": "inspect", "src": ..., "cells": [{"sheet": ..., "cell": ...}]}``
    Report sheets (name, visibility, protection) and the given cells' lock
    state, value and validation.
``{"action": "print", "src": ..., "dst": ...}``
    Print ``src`` to the PDF ``dst`` as Calc prints the whole workbook, and
    report, per sheet, its pages and every cell that printing covers (a visible
    sheet, inside its print ranges or else its used area, in a visible row and
    column) with the text Calc displays for it.

Optional job keys: ``result`` (path to write the result JSON to; stdout
otherwise), ``timeout`` (seconds for the whole job, default 120),
``connect_timeout`` (seconds to wait for soffice to accept, default 30),
``state`` (path where the soffice process group id and profile directory are
written as soon as soffice starts, so a caller that has to kill this driver can
still clean up), ``soffice`` (path of the soffice launcher).

The result is a JSON object ``{"ok": bool, "action": ..., "error": str|None,
"edits": [...], "sheets": [...], "cells": [...], "timings": {...},
"soffice_log": str}``.  Exit status: 0 when the job ran (even if some edits
were refused), 1 when it failed, 2 on a bad job file.

soffice is started in its own process group with its own profile directory
and pipe name; only that process group is ever signalled and the profile
directory is removed afterwards, also on error or timeout.
"""

import csv
import datetime as _dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

import uno  # noqa: E402  (Debian's python3-uno)

import _proc  # noqa: E402  (beside this script)
from com.sun.star.beans import PropertyValue  # noqa: E402
from com.sun.star.connection import NoConnectException  # noqa: E402

XLSX_FILTER = "Calc MS Excel 2007 XML"
PDF_FILTER = "calc_pdf_Export"
DEFAULT_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 30.0


class JobError(Exception):
    """The job could not be carried out."""


# --------------------------------------------------------------------------
# soffice process
# --------------------------------------------------------------------------


def find_soffice(explicit=None):
    for cand in (explicit, os.environ.get("SOFFICE"), shutil.which("soffice"),
                 shutil.which("libreoffice"), "/usr/lib/libreoffice/program/soffice",
                 "/usr/bin/soffice"):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise JobError("soffice not found (install libreoffice-calc-nogui)")


class Office:
    """One private soffice process and a UNO connection to it."""

    def __init__(self, soffice, state_path=None):
        self.soffice = soffice
        self.state_path = state_path
        self.profile = tempfile.mkdtemp(prefix="cmrg-lo-profile-")
        self.pipe = "cmrg_lo_%d_%s" % (os.getpid(), uuid.uuid4().hex)
        self.log_path = os.path.join(self.profile, "soffice.log")
        self.proc = None
        self.pgid = None
        self.ctx = None
        self.desktop = None
        self._lock = threading.Lock()
        self.killed_by_watchdog = False
        self.sockets = set()

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        profile_url = uno.systemPathToFileUrl(os.path.join(self.profile, "user"))
        args = [
            self.soffice,
            "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
            "--nolockcheck",
            "-env:UserInstallation=" + profile_url,
            "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % self.pipe,
        ]
        env = dict(os.environ)
        env.pop("PYTHONHOME", None)
        env.pop("PYTHONPATH", None)
        # soffice's own temporary files (lu*.tmp) go inside the profile, so a
        # killed soffice leaves nothing behind in /tmp.
        tmp = os.path.join(self.profile, "tmp")
        os.makedirs(tmp)
        env["TMPDIR"] = env["TMP"] = env["TEMP"] = tmp
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, close_fds=True)
        # start_new_session: the launcher, oosplash and soffice.bin all share
        # this new process group, and nothing else is in it.
        self.pgid = self.proc.pid
        if self.state_path:
            tmp = self.state_path + ".tmp"
            with open(tmp, "w") as fh:
                json.dump({"soffice_pgid": self.pgid, "profile": self.profile,
                           "pipe": self.pipe, "driver_pid": os.getpid()}, fh)
            os.replace(tmp, self.state_path)

    def connect(self, timeout):
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        url = "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % self.pipe
        deadline = time.monotonic() + timeout
        attempts = 0
        last = None
        while True:
            attempts += 1
            try:
                ctx = resolver.resolve(url)
                smgr = ctx.ServiceManager
                desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
                if desktop is None:
                    raise JobError("no Desktop service")
                self.ctx, self.desktop = ctx, desktop
                self.configure()
                return attempts
            except NoConnectException as exc:
                last = exc
            except Exception as exc:  # soffice half up: bridge disposed, etc.
                last = exc
            if self.killed_by_watchdog:
                raise JobError("timed out")
            # The launcher may restart soffice.bin on a fresh profile (exit 81)
            # by itself; only give up early when the whole group is gone.
            if self.proc.poll() is not None and not self._group_alive():
                raise JobError("soffice exited with status %s before accepting a "
                               "connection" % self.proc.returncode)
            if time.monotonic() >= deadline:
                raise JobError("could not connect to soffice within %.0f s (%d attempts): %s"
                               % (timeout, attempts, last))
            time.sleep(0.25)

    # Settings for our private profile.  No document locking: a second soffice
    # opening the same template at the same time (parallel tests), or a stale
    # .~lock file left next to it by a killed soffice, would otherwise make
    # loadComponentFromURL fail.  (Seeding registrymodifications.xcu before
    # the first start is not picked up by LibreOffice 7.4; setting them here is.)
    SETTINGS = {
        "/org.openoffice.Office.Common/Misc": {
            "UseLocking": False,
            "UseDocumentOOoLockFile": False,
            "UseDocumentSystemFileLocking": False,
        },
        "/org.openoffice.Office.Common/Save/Document": {"CreateBackup": False},
    }

    def configure(self):
        cp = self.ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.configuration.ConfigurationProvider", self.ctx)
        for node, values in self.SETTINGS.items():
            acc = cp.createInstanceWithArguments(
                "com.sun.star.configuration.ConfigurationUpdateAccess", props(nodepath=node))
            for key, value in values.items():
                acc.replaceByName(key, value)
            acc.commitChanges()

    def _group_alive(self):
        return _proc.group_alive(self.pgid)

    def kill_group(self, sig):
        if self.pgid is not None:
            _proc.kill_group(self.pgid, sig)

    def note_sockets(self):
        """Remember the socket files our soffice has open (see _proc.osl_sockets)."""
        if self.pgid is not None:
            self.sockets |= _proc.osl_sockets(self.pgid)
        self.sockets.add("/tmp/OSL_PIPE_%d_%s" % (os.getuid(), self.pipe))

    def remove_sockets(self):
        if self.pgid is None or not _proc.group_alive(self.pgid):
            _proc.remove_sockets(self.sockets)

    def stop(self):
        """Stop our soffice (gracefully if possible)."""
        with self._lock:
            if self.proc is not None:
                self.note_sockets()
                if self.desktop is not None and not self.killed_by_watchdog:
                    try:
                        self.desktop.terminate()
                    except Exception:
                        pass  # the bridge goes away while terminate() returns
                    self.desktop = None
                if not _proc.wait_group_gone(self.pgid, 10, self.proc):
                    self.note_sockets()
                    _proc.end_group(self.pgid, self.proc, term_wait=5)
                try:
                    self.proc.wait(timeout=5)
                except Exception:
                    pass
                self.proc = None
            try:
                self._log.close()
            except Exception:
                pass

    def log_text(self, limit=4000):
        try:
            with open(self.log_path, "rb") as fh:
                data = fh.read()
            return data[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def remove_profile(self):
        shutil.rmtree(self.profile, ignore_errors=True)

    def watchdog_fire(self):
        # Runs in a timer thread: a blocked UNO call in the main thread then
        # fails with DisposedException / RuntimeException and the job ends.
        self.killed_by_watchdog = True
        self.note_sockets()
        self.kill_group(signal.SIGKILL)

    # -- documents -----------------------------------------------------------

    def load(self, path):
        if not os.path.isfile(path):
            raise JobError("no such file: %s" % path)
        url = uno.systemPathToFileUrl(os.path.abspath(path))
        doc = self.desktop.loadComponentFromURL(url, "_blank", 0, props(
            Hidden=True, ReadOnly=False, MacroExecutionMode=0, UpdateDocMode=0))
        if doc is None:
            raise JobError("LibreOffice could not open %s" % path)
        if not hasattr(doc, "Sheets"):
            doc.close(True)
            raise JobError("%s did not open as a spreadsheet" % path)
        return doc

    @staticmethod
    def store_xlsx(doc, path):
        path = os.path.abspath(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        url = uno.systemPathToFileUrl(path)
        doc.storeToURL(url, props(FilterName=XLSX_FILTER, Overwrite=True))
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise JobError("LibreOffice did not write %s" % path)


def props(**kwargs):
    out = []
    for key, value in kwargs.items():
        pv = PropertyValue()
        pv.Name = key
        pv.Value = value
        out.append(pv)
    return tuple(out)


# --------------------------------------------------------------------------
# cells, validation
# --------------------------------------------------------------------------


def enum_name(value):
    return getattr(value, "value", None) or str(value)


def split_list_formula(formula):
    """Split a literal list formula ``"a";"b";3`` into its entries.

    Returns None when the formula is not a literal list (e.g. a range).
    """
    s = formula.strip()
    if s.startswith("="):
        s = s[1:].strip()
    if not s:
        return []
    entries = []
    i = 0
    n = len(s)
    while i < n:
        while i < n and s[i] == " ":
            i += 1
        if i < n and s[i] == '"':
            i += 1
            buf = []
            while True:
                if i >= n:
                    return None  # unterminated string
                ch = s[i]
                if ch == '"':
                    if i + 1 < n and s[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(ch)
                i += 1
            entries.append("".join(buf))
        else:
            j = i
            while j < n and s[j] != ";":
                j += 1
            token = s[i:j].strip()
            try:
                float(token)
            except ValueError:
                return None  # a reference, a name or a formula
            entries.append(token)
            i = j
        while i < n and s[i] == " ":
            i += 1
        if i < n:
            if s[i] != ";":
                return None
            i += 1
    return entries


def cell_text(cell):
    return cell.getString()


def resolve_list_source(doc, sheet, formula):
    """Entries of a list validation whose source is a range or a name."""
    s = formula.strip().lstrip("=").strip()
    ranges = None
    # A named range (workbook- or sheet-scoped).
    try:
        names = doc.NamedRanges
        if names.hasByName(s):
            ranges = [names.getByName(s).getReferredCells()]
    except Exception:
        ranges = None
    if ranges is None:
        ref = s.replace("$", "")
        ref = re.sub(r"^'(.*)'\.", lambda m: m.group(1).replace("''", "'") + ".", ref)
        try:
            if "." in ref:
                got = doc.Sheets.getCellRangesByName(ref)
                ranges = list(got)
            else:
                ranges = [sheet.getCellRangeByName(ref)]
        except Exception:
            ranges = None
    if not ranges:
        return None
    entries = []
    for rng in ranges:
        if rng is None:
            continue
        addr = rng.getRangeAddress()
        rows = addr.EndRow - addr.StartRow + 1
        cols = addr.EndColumn - addr.StartColumn + 1
        for r in range(rows):
            for c in range(cols):
                text = rng.getCellByPosition(c, r).getString()
                if text != "":
                    entries.append(text)
    return entries


def describe_validation(doc, sheet, cell):
    v = cell.Validation
    vtype = enum_name(v.Type)
    if vtype == "ANY":
        return None
    info = {
        "type": vtype,
        "operator": enum_name(v.getOperator()),
        "formula1": v.getFormula1(),
        "formula2": v.getFormula2(),
        "error_style": enum_name(v.ErrorAlertStyle),
        "show_error": bool(v.ShowErrorMessage),
        "error_title": v.ErrorTitle,
        "error_message": v.ErrorMessage,
        "show_input": bool(v.ShowInputMessage),
        "input_title": v.InputTitle,
        "input_message": v.InputMessage,
        "ignore_blank": bool(v.IgnoreBlankCells),
        "show_list": int(v.ShowList),
        "list": None,
        "list_source": None,
    }
    if vtype == "LIST":
        entries = split_list_formula(info["formula1"])
        if entries is not None:
            info["list"], info["list_source"] = entries, "literal"
        else:
            entries = resolve_list_source(doc, sheet, info["formula1"])
            if entries is not None:
                info["list"], info["list_source"] = entries, "range"
    return info


def _num(x):
    try:
        return float(str(x).strip())
    except (TypeError, ValueError):
        return None


def value_accepted(validation, value, kind, serial=None):
    """Would Calc accept this value typed into the cell?

    Returns (accepted: bool or None if unknown, reason).
    """
    vtype = validation["type"]
    if vtype == "LIST":
        entries = validation["list"]
        if entries is None:
            return None, "list source %r could not be read" % validation["formula1"]
        text = str(value)
        if text in entries:
            return True, "listed"
        if kind in ("number", "date"):
            num = serial if kind == "date" else _num(value)
            if num is not None and any(_num(e) == num for e in entries):
                return True, "listed"
        if text == "" and validation["ignore_blank"]:
            return True, "blank allowed"
        return False, "%r is not one of the list entries %r" % (text, entries)
    if vtype in ("WHOLE", "DECIMAL", "DATE", "TIME", "TEXT_LEN"):
        if vtype == "TEXT_LEN":
            x = float(len(str(value)))
        elif kind == "date":
            x = serial
        else:
            x = _num(value)
        if x is None:
            return False, "%r is not a number" % (value,)
        if vtype == "WHOLE" and x != int(x):
            return False, "%r is not a whole number" % (value,)
        a, b = _num(validation["formula1"]), _num(validation["formula2"])
        op = validation["operator"]
        checks = {
            "EQUAL": lambda: x == a, "NOT_EQUAL": lambda: x != a,
            "GREATER": lambda: x > a, "GREATER_EQUAL": lambda: x >= a,
            "LESS": lambda: x < a, "LESS_EQUAL": lambda: x <= a,
            "BETWEEN": lambda: b is not None and a <= x <= b,
            "NOT_BETWEEN": lambda: b is not None and not (a <= x <= b),
        }
        if a is None or op not in checks:
            return None, "bounds %r/%r not checked" % (validation["formula1"],
                                                        validation["formula2"])
        return (True, "within bounds") if checks[op]() else (
            False, "%r fails %s %s %s" % (value, op, validation["formula1"],
                                          validation["formula2"]))
    return None, "%s validation not checked" % vtype


def parse_date(value):
    if isinstance(value, (int, float)):
        return None, float(value)
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            return _dt.datetime.strptime(text, fmt), None
        except ValueError:
            pass
    raise ValueError("date %r is not ISO YYYY-MM-DD[THH:MM[:SS]]" % (value,))


def date_serial(doc, value):
    when, serial = parse_date(value)
    if serial is not None:
        return serial
    nd = doc.NullDate  # com.sun.star.util.Date, 1899-12-30 for Excel files
    null = _dt.datetime(nd.Year, nd.Month, nd.Day)
    delta = when - null
    return delta.days + delta.seconds / 86400.0


def number_format(doc, cell):
    try:
        fmt = doc.NumberFormats.getByKey(cell.NumberFormat)
        return fmt.FormatString
    except Exception:
        return None


def cell_type(cell):
    return enum_name(cell.Type)  # EMPTY, VALUE, TEXT, FORMULA


def cell_state(doc, sheet, cell):
    prot = cell.CellProtection
    ctype = cell_type(cell)
    return {
        "locked": bool(prot.IsLocked),
        "formula_hidden": bool(prot.IsFormulaHidden),
        "type": ctype,
        "string": cell.getString(),
        "value": cell.getValue() if ctype in ("VALUE", "FORMULA") else None,
        "formula": cell.getFormula() if ctype == "FORMULA" else None,
        "number_format": number_format(doc, cell),
        "validation": describe_validation(doc, sheet, cell),
    }


def get_sheet(doc, name):
    sheets = doc.Sheets
    if not sheets.hasByName(name):
        raise JobError("no sheet named %r (sheets: %s)" % (name, list(sheets.getElementNames())))
    return sheets.getByName(name)


# --------------------------------------------------------------------------
# actions
# --------------------------------------------------------------------------


def do_structure(doc, edit):
    """Unprotect a sheet or delete a whole row, as a person in Calc would."""
    out = {"sheet": edit.get("sheet"), "status": None, "error": None, "notes": []}
    try:
        sheet = get_sheet(doc, edit["sheet"])
        if "unprotect" in edit:
            out["unprotect"] = True
            sheet.unprotect(str(edit["unprotect"]))
            if sheet.isProtected():
                out["status"], out["error"] = "refused", "wrong password"
                return out
        else:
            row = int(edit["delete_row"])
            out["delete_row"] = row
            if sheet.isProtected():
                out["status"] = "refused"
                out["error"] = "rows cannot be deleted on a protected sheet"
                return out
            sheet.getRows().removeByIndex(row - 1, 1)
        out["status"] = "ok"
    except Exception as exc:
        out["status"] = "error"
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def do_edit(doc, edit):
    if "unprotect" in edit or "delete_row" in edit:
        return do_structure(doc, edit)
    out = {"sheet": edit.get("sheet"), "cell": edit.get("cell"), "value": edit.get("value"),
           "kind": edit.get("kind", "text"), "paste": bool(edit.get("paste", False)),
           "status": None, "error": None, "notes": []}
    try:
        sheet = get_sheet(doc, edit["sheet"])
        cell = sheet.getCellRangeByName(edit["cell"])
        if cell.getRangeAddress().StartRow != cell.getRangeAddress().EndRow or \
                cell.getRangeAddress().StartColumn != cell.getRangeAddress().EndColumn:
            raise JobError("%r is not a single cell" % edit["cell"])
        cell = cell.getCellByPosition(0, 0)
        kind = out["kind"]
        value = edit.get("value")
        if kind not in ("text", "number", "date"):
            raise JobError("unknown kind %r" % kind)

        protected = bool(sheet.isProtected())
        locked = bool(cell.CellProtection.IsLocked)
        out["sheet_protected"], out["locked"] = protected, locked
        if protected and locked:
            out["status"] = "refused"
            out["error"] = "cell %s!%s is locked on a protected sheet" % (edit["sheet"], edit["cell"])
            return out

        serial = date_serial(doc, value) if kind == "date" else None
        if kind == "number":
            num = _num(value)
            if num is None:
                raise JobError("%r is not a number" % (value,))

        validation = describe_validation(doc, sheet, cell)
        out["validation"] = validation
        if validation is not None:
            accepted, reason = value_accepted(validation, value, kind, serial)
            out["validation_check"] = reason
            if accepted is False:
                stops = validation["show_error"] and validation["error_style"] == "STOP"
                if out["paste"]:
                    out["notes"].append("pasted past validation: " + reason)
                elif stops:
                    out["status"] = "refused"
                    out["error"] = "validation (STOP) rejects: " + reason
                    return out
                else:
                    out["notes"].append("validation would only warn (%s%s): %s" % (
                        validation["error_style"],
                        "" if validation["show_error"] else ", no error shown", reason))
            elif accepted is None:
                out["notes"].append(reason)

        fmt_before = cell.NumberFormat
        if kind == "text":
            cell.setString("" if value is None else str(value))
        elif kind == "number":
            cell.setValue(_num(value))
        else:
            cell.setValue(serial)
            if cell.NumberFormat != fmt_before:  # never happens via setValue; belt and braces
                cell.NumberFormat = fmt_before
        out["written"] = {"type": cell_type(cell), "string": cell.getString(),
                          "value": cell.getValue(), "number_format": number_format(doc, cell)}
        out["status"] = "ok"
    except Exception as exc:
        out["status"] = "error"
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def action_fill(office, job, result):
    doc = office.load(job["src"])
    try:
        result["edits"] = [do_edit(doc, e) for e in job.get("edits", [])]
        if job.get("recalculate"):
            doc.calculateAll()
        t = time.monotonic()
        office.store_xlsx(doc, job["dst"])
        result["timings"]["store"] = round(time.monotonic() - t, 3)
    finally:
        close_doc(doc)


def action_resave(office, job, result):
    doc = office.load(job["src"])
    try:
        if job.get("recalculate"):
            doc.calculateAll()
        office.store_xlsx(doc, job["dst"])
    finally:
        close_doc(doc)


def action_inspect(office, job, result):
    doc = office.load(job["src"])
    try:
        sheets = []
        for i in range(doc.Sheets.getCount()):
            sh = doc.Sheets.getByIndex(i)
            visible = bool(sh.IsVisible)
            sheets.append({"name": sh.getName(), "index": i, "visible": visible,
                           "state": "visible" if visible else "hidden",
                           "protected": bool(sh.isProtected())})
        result["sheets"] = sheets
        try:
            result["document_protected"] = bool(doc.isProtected())
        except Exception:
            result["document_protected"] = None
        cells = []
        for spec in job.get("cells", []):
            entry = {"sheet": spec.get("sheet"), "cell": spec.get("cell")}
            try:
                sheet = get_sheet(doc, spec["sheet"])
                cell = sheet.getCellRangeByName(spec["cell"]).getCellByPosition(0, 0)
                entry.update(cell_state(doc, sheet, cell))
            except Exception as exc:
                entry["error"] = "%s: %s" % (type(exc).__name__, exc)
            cells.append(entry)
        result["cells"] = cells
    finally:
        close_doc(doc)


CSV_FILTER = "Text - txt - csv (StarCalc)"
# comma, double quote, UTF-8, from line 1, standard cell format, no language, quoted text,
# detect numbers, save cell contents AS SHOWN, no formulas, keep spaces, then the sheet number
CSV_AS_SHOWN = "44,34,76,1,,0,true,true,true,false,false,%d"


def printed_cells(doc, sheet, index, tmpdir):
    """Every non-empty cell that printing ``sheet`` covers: [row, column, displayed text].

    The text is what Calc shows (CSV export "as shown", one call for the whole sheet);
    the cells are those inside the print ranges (or the used area) that are in a visible
    row and column (queryVisibleCells, one call per range), so nothing is asked cell by cell.
    """
    areas = list(sheet.getPrintAreas())
    if not areas:
        cursor = sheet.createCursor()
        cursor.gotoStartOfUsedArea(False)
        cursor.gotoEndOfUsedArea(True)
        areas = [cursor.getRangeAddress()]
    visible = []
    for area in areas:
        rng = sheet.getCellRangeByPosition(area.StartColumn, area.StartRow, area.EndColumn, area.EndRow)
        visible += [(a.StartRow, a.EndRow, a.StartColumn, a.EndColumn)
                    for a in rng.queryVisibleCells().getRangeAddresses()]
    path = os.path.join(tmpdir, "sheet%d.csv" % index)
    doc.storeToURL(uno.systemPathToFileUrl(path),
                   props(FilterName=CSV_FILTER, FilterOptions=CSV_AS_SHOWN % (index + 1), Overwrite=True))
    found = []
    if not os.path.exists(path):  # LibreOffice names the file after the sheet when told a sheet number
        made = [f for f in os.listdir(tmpdir) if f.startswith("sheet%d-" % index)]
        path = os.path.join(tmpdir, made[0]) if len(made) == 1 else path
    with open(path, encoding="utf-8", newline="") as fh:
        for r, row in enumerate(csv.reader(fh)):
            for c, text in enumerate(row):
                if text.strip() and any(r0 <= r <= r1 and c0 <= c <= c1 for r0, r1, c0, c1 in visible):
                    found.append([r, c, text])
    return found


def action_print(office, job, result):
    doc = office.load(job["src"])
    tmpdir = tempfile.mkdtemp(prefix="cmrg-print-")
    try:
        doc.calculateAll()
        sheets = []
        for i in range(doc.Sheets.getCount()):
            sh = doc.Sheets.getByIndex(i)
            visible = bool(sh.IsVisible)
            entry = {"name": sh.getName(), "index": i, "visible": visible, "pages": 0, "cells": []}
            t0 = time.monotonic()
            if visible:
                entry["pages"] = int(doc.getRendererCount(sh, props(IsPrinter=True)))
                t1 = time.monotonic()
                if entry["pages"]:
                    entry["cells"] = printed_cells(doc, sh, i, tmpdir)
                    columns = sh.getColumns()
                    entry["column_points"] = [round(columns.getByIndex(c).Width / 2540 * 72, 1)
                                              for c in range(min(40, columns.getCount()))]
                    entry["print_scale"] = int(doc.StyleFamilies.getByName("PageStyles")
                                               .getByName(sh.PageStyle).PageScale)
                entry["seconds"] = [round(t1 - t0, 2), round(time.monotonic() - t1, 2)]
            sheets.append(entry)
        result["sheets"] = sheets
        dst = os.path.abspath(job["dst"])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        doc.storeToURL(uno.systemPathToFileUrl(dst), props(FilterName=PDF_FILTER, Overwrite=True))
        if not os.path.isfile(dst) or os.path.getsize(dst) == 0:
            raise JobError("LibreOffice did not write %s" % dst)
    finally:
        close_doc(doc)
        shutil.rmtree(tmpdir, ignore_errors=True)


def close_doc(doc):
    try:
        doc.close(True)
    except Exception:
        try:
            doc.dispose()
        except Exception:
            pass


ACTIONS = {"fill": action_fill, "resave": action_resave, "inspect": action_inspect, "print": action_print}


def run_job(job):
    result = {"ok": False, "action": job.get("action"), "error": None, "edits": [],
              "timings": {}, "soffice_log": ""}
    action = ACTIONS.get(job.get("action"))
    if action is None:
        result["error"] = "unknown action %r" % (job.get("action"),)
        return result
    for key in ("src",) + (("dst",) if job["action"] in ("fill", "resave", "print") else ()):
        if not job.get(key):
            result["error"] = "job has no %r" % key
            return result

    timeout = float(job.get("timeout", DEFAULT_TIMEOUT))
    connect_timeout = float(job.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    t0 = time.monotonic()
    office = None
    watchdog = None

    def on_term(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup run
        raise JobError("driver got signal %d" % signum)

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        office = Office(find_soffice(job.get("soffice")), job.get("state"))
        watchdog = threading.Timer(timeout, office.watchdog_fire)
        watchdog.daemon = True
        watchdog.start()
        office.start()
        result["soffice_pgid"], result["profile"] = office.pgid, office.profile
        result["connect_attempts"] = office.connect(connect_timeout)
        result["timings"]["start"] = round(time.monotonic() - t0, 3)
        t1 = time.monotonic()
        action(office, job, result)
        result["timings"]["action"] = round(time.monotonic() - t1, 3)
        if office.killed_by_watchdog:
            raise JobError("timed out")
        result["ok"] = True
    except Exception as exc:
        if office is not None and office.killed_by_watchdog:
            result["error"] = "timed out after %.0f s (soffice killed): %s: %s" % (
                timeout, type(exc).__name__, exc)
        else:
            result["error"] = "%s: %s" % (type(exc).__name__, exc)
        result["traceback"] = traceback.format_exc()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if office is not None:
            try:
                office.stop()
            finally:
                result["soffice_log"] = office.log_text()
                office.remove_profile()
                office.remove_sockets()
                if job.get("state"):
                    try:
                        os.unlink(job["state"])
                    except OSError:
                        pass
        signal.signal(signal.SIGTERM, old_term)
        result["timings"]["total"] = round(time.monotonic() - t0, 3)
    return result


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s JOB.json\n" % argv[0])
        return 2
    try:
        with open(argv[1], encoding="utf-8") as fh:
            job = json.load(fh)
        if not isinstance(job, dict):
            raise ValueError("job must be a JSON object")
    except (OSError, ValueError) as exc:
        sys.stderr.write("bad job file %s: %s\n" % (argv[1], exc))
        return 2
    result = run_job(job)
    text = json.dumps(result, indent=1, default=str)
    if job.get("result"):
        tmp = job["result"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, job["result"])
    else:
        sys.stdout.write(text + "\n")
    if not result["ok"]:
        sys.stderr.write("uno_driver: %s\n" % result["error"])
        if result.get("soffice_log"):
            sys.stderr.write("soffice output:\n%s\n" % result["soffice_log"])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
