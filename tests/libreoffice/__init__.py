"""Drive a real LibreOffice Calc from the tests.

The tests run under the project's Python; the ``uno`` bridge belongs to
Debian's system Python, so UNO work runs in ``uno_driver.py`` as a subprocess
under ``/usr/bin/python3`` (override with ``CMRG_UNO_PYTHON``; the soffice
launcher can be overridden with ``SOFFICE``).  Every call starts its own
soffice with its own profile directory and pipe name, under a time limit, and
stops it afterwards; nothing is shared between calls, so tests may run in
parallel.

API:

``soffice_path() -> str | None``
``require_libreoffice()``  skip the test without LibreOffice, fail under CI=true
``fill(src, dst, edits, timeout=120, recalculate=False) -> dict``
    (an edit may also be structural: ``{"sheet": S, "unprotect": PASSWORD}``
    or ``{"sheet": S, "delete_row": N}``, N 1-based)
``resave(src, dst, timeout=120) -> dict``
``inspect(src, cells=(), timeout=120) -> dict``
``convert_to_pdf(src, outdir, timeout=120) -> Path``
``print_workbook(src, pdf, timeout=180) -> dict``  the PDF and what each sheet prints
``pdf_text(pdf) -> str``,  ``pdf_pages(pdf) -> int``

An edit is ``{"sheet": "Assessment", "cell": "D7", "value": "2 Good",
"kind": "text" | "number" | "date", "paste": False}`` (``kind`` defaults to
text; a date value is ISO ``YYYY-MM-DD``).  ``fill`` returns the driver's
result; ``result["edits"][i]["status"]`` is ``"ok"``, ``"refused"`` (locked
cell on a protected sheet, or a value the cell's STOP validation rejects when
not pasted: nothing written, reason in ``"error"``) or ``"error"``.
Failures of LibreOffice itself raise ``LibreOfficeError`` carrying soffice's
output.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import _proc

__all__ = [
    "LibreOfficeError",
    "DRIVER",
    "soffice_path",
    "uno_python",
    "missing_tools",
    "require_libreoffice",
    "fill",
    "resave",
    "inspect",
    "convert_to_pdf",
    "print_workbook",
    "pdf_text",
    "pdf_pages",
]

DRIVER = Path(__file__).with_name("uno_driver.py")
DEFAULT_TIMEOUT = 120.0
# Time the driver may need beyond its own job timeout to stop soffice.
_STOP_GRACE = 40.0


class LibreOfficeError(RuntimeError):
    """LibreOffice (or the driver around it) failed."""

    def __init__(self, message: str, stderr: str = "", result: Mapping | None = None):
        self.stderr = stderr or ""
        self.result = dict(result) if result else None
        text = message
        if self.stderr.strip():
            text += "\n--- stderr ---\n" + self.stderr.strip()
        super().__init__(text)


# --------------------------------------------------------------------------
# locating the tools
# --------------------------------------------------------------------------


def soffice_path() -> str | None:
    """Path of the soffice launcher, or None when LibreOffice is not installed."""
    for cand in (
        os.environ.get("SOFFICE"),
        shutil.which("soffice"),
        shutil.which("libreoffice"),
        "/usr/lib/libreoffice/program/soffice",
    ):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def uno_python() -> str:
    """The Python interpreter that has the ``uno`` module."""
    return os.environ.get("CMRG_UNO_PYTHON", "/usr/bin/python3")


@functools.lru_cache(maxsize=None)
def _uno_importable(python: str) -> bool:
    if not os.path.isfile(python):
        return False
    try:
        proc = subprocess.run(
            [python, "-c", "import uno"],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def missing_tools() -> list[str]:
    """What is missing for these tests (empty when all is there)."""
    missing = []
    if soffice_path() is None:
        missing.append("soffice (libreoffice-calc-nogui)")
    if not _uno_importable(uno_python()):
        missing.append("the uno module for %s (python3-uno)" % uno_python())
    for tool in ("pdftotext", "pdfinfo"):
        if shutil.which(tool) is None:
            missing.append("%s (poppler-utils)" % tool)
    return missing


def require_libreoffice() -> None:
    """Skip the calling test when LibreOffice is missing; fail instead under CI.

    In CI (environment variable ``CI=true``) a missing LibreOffice is a
    failure, never a skip: .ci/run installs it.
    """
    import pytest

    missing = missing_tools()
    if not missing:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            "LibreOffice not installed, but CI=true: missing " + ", ".join(missing),
            pytrace=False,
        )
    pytest.skip("LibreOffice not installed (missing %s)" % ", ".join(missing))


# --------------------------------------------------------------------------
# process handling
# --------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    # The system Python must not pick up the project Python's settings.
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


def _run_driver(job: dict, timeout: float) -> dict:
    soffice = soffice_path()
    if soffice is None:
        raise LibreOfficeError("soffice not found: install libreoffice-calc-nogui")
    python = uno_python()
    with tempfile.TemporaryDirectory(prefix="cmrg-lo-job-") as tmp:
        job = dict(job)
        job.update(
            result=os.path.join(tmp, "result.json"),
            state=os.path.join(tmp, "state.json"),
            timeout=float(timeout),
            soffice=soffice,
        )
        job_path = os.path.join(tmp, "job.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job, fh)
        proc = subprocess.Popen(
            [python, str(DRIVER), job_path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_clean_env(),
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout + _STOP_GRACE)
        except subprocess.TimeoutExpired:
            # The driver's own watchdog did not end it: kill the driver, then
            # the soffice group it recorded, and remove that profile.
            _proc.end_group(proc.pid, proc)
            _cleanup_state(job["state"])
            stdout, stderr = _drain(proc)
            raise LibreOfficeError(
                "uno_driver did not finish within %.0f s (killed)" % (timeout + _STOP_GRACE),
                stderr.decode("utf-8", "replace"),
            )
        finally:
            if proc.poll() is None:  # interrupted (KeyboardInterrupt, ...)
                _proc.end_group(proc.pid, proc)
                _cleanup_state(job["state"])
        err = stderr.decode("utf-8", "replace")
        if proc.returncode != 0 and not os.path.exists(job["result"]):
            _cleanup_state(job["state"])
            raise LibreOfficeError(
                "uno_driver exited with status %s and no result" % proc.returncode,
                err + stdout.decode("utf-8", "replace"),
            )
        with open(job["result"], encoding="utf-8") as fh:
            result = json.load(fh)
    if not result.get("ok"):
        raise LibreOfficeError(
            "LibreOffice %s of %s failed: %s" % (job.get("action"), job.get("src"), result.get("error")),
            (result.get("soffice_log") or "") + ("\n" + err if err.strip() else ""),
            result,
        )
    return result


def _drain(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    """What a killed process had written, without waiting on a stray pipe holder."""
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        return b"", b""


def _cleanup_state(state_path: str) -> None:
    """Clean up after a driver that was killed: its soffice group and profile."""
    try:
        with open(state_path, encoding="utf-8") as fh:
            state = json.load(fh)
    except (OSError, ValueError):
        return
    pgid = state.get("soffice_pgid")
    if isinstance(pgid, int) and pgid > 1:
        _proc.end_group(pgid, term_wait=2)
    pipe = state.get("pipe")
    if pipe:
        _proc.remove_sockets({"/tmp/OSL_PIPE_%d_%s" % (os.getuid(), pipe)})
    profile = state.get("profile")
    if profile and os.path.basename(profile).startswith("cmrg-lo-profile-"):
        shutil.rmtree(profile, ignore_errors=True)


# --------------------------------------------------------------------------
# UNO jobs
# --------------------------------------------------------------------------

_KINDS = ("text", "number", "date")


def _normalise_edit(edit: Mapping[str, Any]) -> dict:
    if not isinstance(edit, Mapping):
        raise TypeError("an edit must be a mapping, got %r" % (edit,))
    if "unprotect" in edit or "delete_row" in edit:
        if set(edit) not in ({"sheet", "unprotect"}, {"sheet", "delete_row"}):
            raise ValueError("a structural edit is {sheet, unprotect} or {sheet, delete_row}, got %r" % (edit,))
        out = {"sheet": str(edit["sheet"])}
        if "unprotect" in edit:
            out["unprotect"] = str(edit["unprotect"])
        else:
            out["delete_row"] = int(edit["delete_row"])
        return out
    unknown = set(edit) - {"sheet", "cell", "value", "kind", "paste"}
    if unknown:
        raise ValueError("unknown edit keys %s in %r" % (sorted(unknown), edit))
    for key in ("sheet", "cell"):
        if not edit.get(key):
            raise ValueError("edit %r has no %r" % (edit, key))
    kind = edit.get("kind", "text")
    if kind not in _KINDS:
        raise ValueError("edit kind must be one of %s, got %r" % (_KINDS, kind))
    value = edit.get("value")
    if hasattr(value, "isoformat"):  # date / datetime
        value = value.isoformat()
    return {
        "sheet": str(edit["sheet"]),
        "cell": str(edit["cell"]),
        "value": value,
        "kind": kind,
        "paste": bool(edit.get("paste", False)),
    }


def _normalise_cell(spec: Any) -> dict:
    if isinstance(spec, str):
        if "!" not in spec:
            raise ValueError("cell %r must be written 'Sheet!A1'" % spec)
        sheet, cell = spec.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
        return {"sheet": sheet, "cell": cell.replace("$", "")}
    if isinstance(spec, Mapping):
        return {"sheet": str(spec["sheet"]), "cell": str(spec["cell"])}
    sheet, cell = spec
    return {"sheet": str(sheet), "cell": str(cell)}


def fill(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    edits: Iterable[Mapping[str, Any]],
    timeout: float = DEFAULT_TIMEOUT,
    recalculate: bool = False,
) -> dict:
    """Open ``src`` in LibreOffice, make ``edits`` as a person would, save .xlsx to ``dst``."""
    job = {
        "action": "fill",
        "src": os.path.abspath(src),
        "dst": os.path.abspath(dst),
        "edits": [_normalise_edit(e) for e in edits],
        "recalculate": bool(recalculate),
    }
    return _run_driver(job, timeout)


def resave(src: str | os.PathLike, dst: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Open ``src`` in LibreOffice and save it unchanged as .xlsx to ``dst``."""
    job = {"action": "resave", "src": os.path.abspath(src), "dst": os.path.abspath(dst)}
    return _run_driver(job, timeout)


def inspect(
    src: str | os.PathLike,
    cells: Sequence[Any] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> dict:
    """What LibreOffice sees in ``src``.

    ``cells`` items are ``"Sheet!A1"``, ``(sheet, cell)`` or ``{"sheet", "cell"}``.
    Returns ``{"sheets": [{"name", "index", "visible", "state", "protected"}],
    "document_protected": bool, "cells": [{"sheet", "cell", "locked",
    "formula_hidden", "type", "string", "value", "formula", "number_format",
    "validation": None | {"type", "list", "error_style", "show_error", ...}}]}``.
    LibreOffice has no "very hidden": such sheets report ``state == "hidden"``.
    """
    job = {
        "action": "inspect",
        "src": os.path.abspath(src),
        "cells": [_normalise_cell(c) for c in cells],
    }
    return _run_driver(job, timeout)


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------


def print_workbook(src: str | os.PathLike, pdf: str | os.PathLike, timeout: float = 180) -> dict:
    """Print ``src`` to the PDF ``pdf`` as Calc prints the whole workbook.

    Returns ``{"sheets": [{"name", "visible", "pages", "cells": [[row, col, text], ...]}]}``:
    per sheet, how many pages it prints on and every cell that printing covers (inside
    the print ranges, or the used area when there are none; in a visible row and column)
    with the text Calc displays for it, as formatted, after recalculating.
    """
    job = {"action": "print", "src": os.path.abspath(src), "dst": os.path.abspath(pdf)}
    return _run_driver(job, timeout)


def convert_to_pdf(
    src: str | os.PathLike, outdir: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT
) -> Path:
    """Print ``src`` to PDF with headless soffice; return the PDF's path."""
    soffice = soffice_path()
    if soffice is None:
        raise LibreOfficeError("soffice not found: install libreoffice-calc-nogui")
    src = Path(src).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    pdf = outdir / (src.stem + ".pdf")
    if pdf.exists():
        pdf.unlink()
    profile = tempfile.mkdtemp(prefix="cmrg-lo-profile-")
    try:
        cmd = [
            soffice,
            "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
            "--nolockcheck",
            "-env:UserInstallation=" + Path(profile, "user").as_uri(),
            "--convert-to", "pdf",
            "--outdir", str(outdir),
            str(src),
        ]
        env = _clean_env()
        # soffice's temporary files go inside the private profile too.
        tmp = Path(profile, "tmp")
        tmp.mkdir()
        env["TMPDIR"] = env["TMP"] = env["TEMP"] = str(tmp)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _proc.end_group(proc.pid, proc, term_wait=5)
            stdout, stderr = _drain(proc)
            raise LibreOfficeError(
                "soffice --convert-to pdf %s did not finish within %.0f s (killed)" % (src, timeout),
                (stderr + stdout).decode("utf-8", "replace"),
            )
        finally:
            if proc.poll() is None or _proc.group_alive(proc.pid):
                # interrupted, or a straggler left in our group
                _proc.end_group(proc.pid, proc, term_wait=5)
        output = (stderr + stdout).decode("utf-8", "replace")
        if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
            raise LibreOfficeError(
                "soffice --convert-to pdf %s failed (status %s, no %s)" % (src, proc.returncode, pdf),
                output,
            )
        return pdf
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _run_tool(args: list[str], timeout: float = 60) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise LibreOfficeError("%s not found: install poppler-utils" % args[0])
    try:
        proc = subprocess.run(
            [tool] + args[1:], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise LibreOfficeError("%s timed out" % " ".join(args)) from exc
    if proc.returncode != 0:
        raise LibreOfficeError(
            "%s failed with status %s" % (" ".join(args), proc.returncode),
            proc.stderr.decode("utf-8", "replace"),
        )
    return proc.stdout.decode("utf-8", "replace")


def pdf_text(pdf: str | os.PathLike) -> str:
    """The text of a PDF (pdftotext -layout)."""
    return _run_tool(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"])


def pdf_pages(pdf: str | os.PathLike) -> int:
    """The number of pages of a PDF (pdfinfo)."""
    out = _run_tool(["pdfinfo", str(pdf)])
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split(":", 1)[1])
    raise LibreOfficeError("pdfinfo reported no page count for %s" % pdf, out)
