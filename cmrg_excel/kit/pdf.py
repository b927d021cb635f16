"""PDF copies of the documents and workbooks the tool writes, through LibreOffice when installed.

Members and committees read PDFs. LibreOffice (``soffice``) converts a ``.docx`` or ``.xlsx``
faithfully; where it is not installed the caller says so and carries on with the Word or
Excel file alone. Each conversion uses its own throwaway LibreOffice profile, so a copy of
LibreOffice the user has open, or another conversion running at the same time, does not
block it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 180


class PdfError(Exception):
    """LibreOffice was found but did not produce the PDF."""


def soffice() -> str | None:
    """The LibreOffice program, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(source: Path, out_dir: Path | None = None) -> Path | None:
    """Convert ``source`` to ``<out_dir>/<stem>.pdf``; None when LibreOffice is not installed."""
    program = soffice()
    if program is None:
        return None
    out_dir = out_dir or source.parent
    with tempfile.TemporaryDirectory(prefix="cmrg-lo-") as profile, tempfile.TemporaryDirectory(prefix="cmrg-pdf-") as tmp:
        try:
            done = subprocess.run(
                [program, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                 "--convert-to", "pdf", "--outdir", tmp, str(source)],
                capture_output=True, timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"LibreOffice took over {TIMEOUT_SECONDS} s to convert {source.name} to PDF") from None
        made = Path(tmp) / (source.stem + ".pdf")
        if done.returncode != 0 or not made.exists():
            why = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise PdfError(f"LibreOffice could not convert {source.name} to PDF"
                           + (f": {why[-1]}" if why else ""))
        target = out_dir / made.name
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(str(made), str(target))
    return target
