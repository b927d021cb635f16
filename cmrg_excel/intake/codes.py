"""Every problem code intake can give a returned file, in one catalogue.

A code is the stable name of one rule or one thing that happened to a file: it is stored with
the problem in the register, shown in the ingest report and the rejection note, matched by the
corrections workbooks and the status, and documented in ``docs/ingest.md``. The modules that
raise them (:mod:`.preflight`, :mod:`.check`, :mod:`.ingest`, :mod:`.corrections`) use the
constants below, never the bare text, and ``tests/test_problem_codes.py`` holds every code they
use to this catalogue and every code here to ``docs/ingest.md``.

Each :class:`Code` says at which stage it arises and what it does to the file: ``refused``
(the return is rejected and the owner told why), ``note`` (kept with a return that is filed),
``left`` (the file is left in ``inbox/`` for the next run) or ``duplicate``. Where a code always
says the same thing, its message template is here too (the preflight's; ``{placeholders}``
filled by :meth:`Code.message`); the checks' messages, built from the cell and the value found,
are written where the rule is.

Like pyxform's error catalogue: one place to see every code, what it means and what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFLIGHT, READING, FILING, IDENTITY, ANSWERS, ATTESTATION = (
    "preflight", "reading", "filing", "identity", "answers", "attestation")
REFUSED, NOTE, LEFT, DUPLICATE = "refused", "note", "left", "duplicate"


@dataclass(frozen=True)
class Code:
    code: str
    stage: str
    effect: str
    template: str = ""

    def message(self, **values: object) -> str:
        """The code's message with its placeholders filled in."""
        return self.template.format(**values) if values else self.template


CATALOGUE: dict[str, Code] = {}


def _define(code: str, stage: str, effect: str, template: str = "") -> str:
    if code in CATALOGUE:
        raise ValueError(f"problem code {code!r} defined twice")
    CATALOGUE[code] = Code(code, stage, effect, template)
    return code


def message(code: str, **values: object) -> str:
    """The message template of ``code``, filled in (KeyError for a code that has none)."""
    entry = CATALOGUE[code]
    if not entry.template:
        raise KeyError(f"{code}: its message is written where the rule is")
    return entry.message(**values)


FRESH_COPY = "Copy your answers into a fresh copy of the workbook we sent you, save it and send that."
_FRESH_COPY_LOWER = FRESH_COPY[0].lower() + FRESH_COPY[1:]

# --- preflight: the raw bytes, before any parser -----------------------------------------------
EMPTY = _define("empty", PREFLIGHT, REFUSED, (
    "The file is empty: it may not have saved or uploaded properly. Open the workbook in "
    "Excel, check your answers are there, save it and send it again."))
ENCRYPTED = _define("encrypted", PREFLIGHT, REFUSED, (
    "The workbook is protected with a password to open. Open it, remove the password "
    "(File > Info > Protect Workbook > Encrypt with Password, clear the box), save and "
    "send it again."))
LEGACY_XLS = _define("legacy-xls", PREFLIGHT, REFUSED, (
    "The file is in the old Excel 97-2003 format (.xls), not the workbook we sent. Please "
    "fill in the .xlsx workbook we sent you; if you have already typed your answers into "
    "this file, open it in Excel, use File > Save As and choose 'Excel Workbook (*.xlsx)', "
    "then send the .xlsx file."))
MACRO_ENABLED = _define("macro-enabled", PREFLIGHT, REFUSED, (
    "The workbook contains macros (VBA code), for example because it was saved as a "
    "macro-enabled workbook (.xlsm) and renamed. We cannot accept files with macros. Open "
    "it in Excel, use File > Save As, choose 'Excel Workbook (*.xlsx)' (Excel removes the "
    "macros) and send the new file."))
ODS = _define("ods", PREFLIGHT, REFUSED, (
    "The file is an OpenDocument spreadsheet (.ods), not the Excel workbook we sent. In "
    "LibreOffice use File > Save As, choose 'Excel 2007-365 (.xlsx)', keep that format "
    "when asked, and send the .xlsx file."))
CSV = _define("csv", PREFLIGHT, REFUSED, (
    "The file is a CSV text file, not the Excel workbook we sent, so the questions and "
    "checks in the workbook are missing. Please enter your answers in the workbook (.xlsx) "
    "we sent you, save it as an Excel Workbook and send it back."))
PDF = _define("pdf", PREFLIGHT, REFUSED, (
    "The file is a PDF, not the Excel workbook we sent. We can only read answers from the "
    "workbook itself: please fill in the .xlsx file we sent you and send it back as it is, "
    "without printing or exporting it to PDF."))
TRUNCATED = _define("truncated", PREFLIGHT, REFUSED, (
    "The file is damaged or incomplete (it may have been cut off while saving, copying or "
    "uploading). Open the workbook in Excel, check your answers are all there, save it and "
    "send it again. If Excel cannot open it either, " + _FRESH_COPY_LOWER))
NOT_A_WORKBOOK = _define("not-a-workbook", PREFLIGHT, REFUSED, (
    "The file is not an Excel workbook{what}. Please send back the Excel workbook (.xlsx) "
    "we sent you, with your answers filled in."))
NOT_XLSX_PACKAGE = _define("not-xlsx-package", PREFLIGHT, REFUSED, (
    "The file is not an Excel workbook in the format we sent{what}. Please send back the "
    "Excel workbook (.xlsx) we sent you, with your answers filled in."))
TOO_LARGE = _define("too-large", PREFLIGHT, REFUSED, (
    "The file is {size}, larger than the {limit} we accept. The workbook we sent is much "
    "smaller: check you are sending the right file, remove any pictures or extra sheets "
    "you added, save it and send it again."))
TOO_MANY_PARTS = _define("too-many-parts", PREFLIGHT, REFUSED, (
    "The workbook is made of {n} internal parts, far more than the workbook we sent (we "
    "accept up to {limit}), which usually means a lot of extra content was added. " + FRESH_COPY))
ZIP_BOMB = _define("zip-bomb", PREFLIGHT, REFUSED, (
    "Part of the workbook expands to an unreasonable size when opened ({what}), so we "
    "cannot open it safely. " + FRESH_COPY))
DOCTYPE = _define("doctype", PREFLIGHT, REFUSED, (
    "The workbook contains a document-type declaration (DOCTYPE or ENTITY), which Excel "
    "never writes and which can be used to attack the systems that read the file. " + FRESH_COPY))
EXTERNAL_LINK = _define("external-link", PREFLIGHT, REFUSED, (
    "The workbook contains links to other files or to external data ({what}). We never "
    "need them, and they can leak information when the file is opened. In Excel use Data "
    "> Edit Links > Break Link, remove any connections under Data > Queries & Connections, "
    "then save and send it again."))
EMBEDDED_OBJECT = _define("embedded-object", PREFLIGHT, REFUSED, (
    "The workbook contains an embedded object (another file or document inserted into a "
    "sheet). We cannot accept embedded files: click the object, press Delete, save and "
    "send it again. Send any supporting documents separately."))
ACTIVEX = _define("activex", PREFLIGHT, REFUSED, (
    "The workbook contains ActiveX controls (buttons, tick boxes or similar inserted from "
    "the Developer tab). We cannot accept them: select each one, press Delete (Developer > "
    "Design Mode helps to select them), save and send it again."))
CELL_OUT_OF_BOUNDS = _define("cell-out-of-bounds", PREFLIGHT, REFUSED)

# A second message of macro-enabled: the macro-enabled file type with no macro code anywhere.
SAVED_AS_XLSM_MESSAGE = (
    "The workbook was saved as a macro-enabled workbook (.xlsm). It holds no macros, but we accept "
    "only the Excel Workbook format we sent. Open it in Excel, use File > Save As, choose 'Excel "
    "Workbook (*.xlsx)' and send the new file.")

# A second message of not-xlsx-package: a zip package of an unusual structure.
ODD_STRUCTURE_MESSAGE = (
    "The workbook's internal structure is unusual ({what}), so it cannot be checked "
    "safely. Open it in Excel, use File > Save As, choose 'Excel Workbook (*.xlsx)' and "
    "send the new file. If that does not help, " + _FRESH_COPY_LOWER)

# --- reading and filing: what happened to the file in the run ----------------------------------
UNREADABLE = _define("unreadable", READING, LEFT)
READER_LIMIT = _define("reader-limit", READING, REFUSED)
INTERNAL_ERROR = _define("internal-error", FILING, LEFT)
STILL_SAVING = _define("still-saving", FILING, LEFT)
CHANGED = _define("changed", FILING, LEFT)  # before schema 3: "still-saving" now; kept in older registers
CHANGED_AFTER = _define("changed-after", FILING, NOTE)
STOPPED = _define("stopped", FILING, LEFT)
LINK = _define("link", FILING, LEFT)
FOLDER = _define("folder", FILING, LEFT)
NOT_A_FILE = _define("not-a-file", FILING, LEFT)
PROBLEMS_NOTE = _define("problems-note", FILING, LEFT)
DUPLICATE_RESTORED = _define("duplicate", FILING, DUPLICATE)
REPLACES = _define("replaces", FILING, NOTE)
UNVERIFIED = _define("unverified", FILING, NOTE)
NOT_REMOVED = _define("not-removed", FILING, NOTE)

# --- identity: a workbook we issued, and the one to answer ------------------------------------
MISSING_SHEET = _define("missing-sheet", IDENTITY, REFUSED)
NO_METADATA = _define("no-metadata", IDENTITY, REFUSED)
UNKNOWN_TOKEN = _define("unknown-token", IDENTITY, REFUSED)
FRAMEWORK_MISSING = _define("framework-missing", IDENTITY, REFUSED)
ALTERED_METADATA = _define("altered-metadata", IDENTITY, REFUSED)
WRONG_CONTRACT = _define("wrong-contract", IDENTITY, REFUSED)
NAME_MISMATCH = _define("name-mismatch", IDENTITY, NOTE)
WITHDRAWN = _define("withdrawn", IDENTITY, REFUSED)
ALTERED_CONTRACT = _define("altered-contract", IDENTITY, REFUSED)
CHANGED_DETAIL = _define("changed-detail", IDENTITY, NOTE)
SUPERSEDED = _define("superseded", IDENTITY, REFUSED)
OLD_ROUND = _define("old-round", IDENTITY, REFUSED)
OLD_TEMPLATE = _define("old-template", IDENTITY, REFUSED)
UPGRADED = _define("upgraded", IDENTITY, NOTE)
EXTRA_SHEET = _define("extra-sheet", IDENTITY, NOTE)

# --- answers --------------------------------------------------------------------------------------
EMPTY_RETURN = _define("empty-return", ANSWERS, REFUSED)
MISSING_RATING = _define("missing-rating", ANSWERS, REFUSED)
BAD_RATING = _define("bad-rating", ANSWERS, REFUSED)
NA_NEEDS_REASON = _define("na-needs-reason", ANSWERS, REFUSED)
TOO_LONG = _define("too-long", ANSWERS, REFUSED)
MISSING_ACTION = _define("missing-action", ANSWERS, REFUSED)
MISSING_OWNER = _define("missing-owner", ANSWERS, REFUSED)
MISSING_TARGET_DATE = _define("missing-target-date", ANSWERS, REFUSED)
BAD_DATE = _define("bad-date", ANSWERS, REFUSED)
BAD_CONFIRM = _define("bad-confirm", ANSWERS, REFUSED)
UNCONFIRMED = _define("unconfirmed", ANSWERS, REFUSED)
JUMP_WITHOUT_EVIDENCE = _define("jump-without-evidence", ANSWERS, REFUSED)
STRAY_ANSWER = _define("stray-answer", ANSWERS, REFUSED)
MISSING_ROW = _define("missing-row", ANSWERS, REFUSED)
DUPLICATE_ROW = _define("duplicate-row", ANSWERS, REFUSED)
ROWS_MOVED = _define("rows-moved", ANSWERS, NOTE)
REF_MISMATCH = _define("ref-mismatch", ANSWERS, REFUSED)
OUTSIDE_TABLE = _define("outside-table", ANSWERS, REFUSED)
FORMULA = _define("formula", ANSWERS, REFUSED)

# --- attestation ------------------------------------------------------------------------------
ATTESTATION_INCOMPLETE = _define("attestation-incomplete", ATTESTATION, REFUSED)
ATTESTATION_DATE = _define("attestation-date", ATTESTATION, REFUSED)

# Templates by code, as the preflight looks its messages up (the second messages too, under
# names that are not codes: the problem keeps its code, macro-enabled or not-xlsx-package).
ODD_STRUCTURE = "odd-structure"
SAVED_AS_XLSM = "saved-as-xlsm"
TEMPLATES: dict[str, str] = {c.code: c.template for c in CATALOGUE.values() if c.template}
TEMPLATES[ODD_STRUCTURE] = ODD_STRUCTURE_MESSAGE
TEMPLATES[SAVED_AS_XLSM] = SAVED_AS_XLSM_MESSAGE
