"""Fresh templates made by stamping one workbook per round, instead of building each.

Why this exists: a round issues hundreds of workbooks that differ only in the contract's own
details, the issue token and the time generated. xlsxwriter takes about 25 ms to build one
(850 cells, formats, validations), nearly all of it the same work every time. So
:class:`Stamper` runs :func:`~cmrg_excel.issue.generate.build_template` once per round and contract
*shape* (which details are empty: an empty detail is a blank cell, a different XML element)
on a *probe* spec whose per-file values are placeholders: each text one private-use character
(U+E000 onwards), amounts sentinel numbers, dates sentinel years, the generation time a
sentinel time. Each contract's workbook is then that *base* with the placeholders replaced:
about 3 ms, most of it zlib.

What it guarantees:

* Only fresh templates are stamped: kind initial or reissue, with no answers, attestation,
  corrections, annotations or fixes, nothing carried forward (:func:`stampable`). Everything
  else goes through ``build_template`` as before.
* Every value is written as xlsxwriter writes it in that place, by xlsxwriter's own code
  (reached only through :mod:`cmrg_excel.kit.xlsxwriter_internals`, the pinned wall): a
  shared string by ``SharedStrings._write_si`` (control characters as ``_xHHHH_``, XML
  escaping, ``xml:space="preserve"``; text that xlsxwriter would mangle, such as
  ``<r>...</r>``, as the rich string :class:`~cmrg_excel.kit.xlsxwriter_internals.FastFormulaWorksheet` makes
  of it); document properties and
  header/footer text with ``XMLwriter``'s data escaping; amounts and dates as xlsxwriter
  writes a number cell (``%.16G``; dates by its Excel-serial conversion). The whole string
  around a value is decoded and escaped again, so an escape that spans the value's edge comes
  out as ``build_template`` makes it.
* The zip keeps each part's name, order, date, compression and attributes, and is written by
  ``zipfile`` as xlsxwriter writes it. Without coinciding strings (below) the bytes are
  exactly those of ``build_template``.
* A base is used only once it has proved itself: stamped with a second probe (other, longer
  text with characters to escape, other numbers, dates, yes/no values and time), it must give
  exactly the bytes ``build_template`` gives for that probe; otherwise its shape is built by
  ``build_template``. So a value that changes the workbook other than where it is written
  (a row height, a truncation, a yes/no detail that shows) cannot be stamped wrongly.
* Placeholders are one character, shorter than any real text, so a length limit that the
  base passes is checked again for each value, and that one workbook goes through
  ``build_template`` (:class:`NotStampable`) when a value would cross it or be treated
  differently: a string over Excel's 32,767 characters (xlsxwriter cuts it), a header or
  footer over 255 characters (xlsxwriter drops it) or holding "&", "[" or "]" (codes there),
  an amount that is not finite.

* Any failure of those internals (an xlsxwriter that changed them) makes the workbook, or
  its shape's base, go through ``build_template``: slower, never wrong.

The one difference from ``build_template``: a value equal to another string of the workbook
gets its own shared-string entry where ``build_template`` shares one. Excel and every reader
treat the two alike; the cells hold the same text.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass, fields, replace

from ..core.contracts import Contract
from ..kit import xlsxwriter_internals as XI
from ..kit.styles import WORKBOOK_OPTIONS
from .spec import TemplateSpec, created_at
from .template import build_template

FRESH_KINDS = ("initial", "reissue")
# Per-file values of a spec besides the contract: placeholders, never part of a base's key.
PER_FILE = ("contract", "token", "generated_at")
PRIVATE_USE = 0xE000  # the base's text placeholders: one private-use character each

EXCEL_STRMAX = 32767  # xlsxwriter truncates a cell string beyond this (UTF-16 units)
HEADER_FOOTER_MAX = 255  # xlsxwriter refuses a longer header or footer
HEADER_FOOTER_TAGS = frozenset({"oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter"})
# In a header or footer "&" starts a code ("&[Picture]" an image); a value holding these could
# make xlsxwriter or Excel read the footer differently from the base's.
_HEADER_FOOTER_UNSAFE = re.compile(r"[&\[\]]")
_XHHHH = re.compile(r"_x([0-9a-fA-F]{4})_")
_SI = re.compile(r"<si>.*?</si>", re.S)
_PLAIN_SI = re.compile(r'<si><t( xml:space="preserve")?>([^<]*)</t></si>\Z')
_LEAF = re.compile(r"<([A-Za-z][\w:.-]*)((?:\s[^<>]*)?)>([^<]*)</\1>")


class NotStampable(Exception):
    """This workbook (or this base) cannot be stamped exactly: build it with build_template."""


def stampable(spec: TemplateSpec) -> bool:
    """Whether ``spec`` is a fresh template whose workbook may be stamped."""
    if spec.kind not in FRESH_KINDS or spec.carried_from is not None:
        return False
    if spec.answers or spec.attestation or spec.corrections or spec.annotations or spec.fixes:
        return False
    if type(spec.token) is not str or _shape(spec.contract) is None:
        return False
    try:
        _created(spec)
    except (TypeError, ValueError):
        return False
    return True


def _created(spec: TemplateSpec) -> str:

    return created_at(spec).strftime(XI.DOC_PROPS_DATE)


def _shape(contract: Contract) -> tuple | None:
    """Which details are empty, and the type of the others; None if a value has a type we do
    not stamp."""
    shape = []
    for f in fields(Contract):
        value = getattr(contract, f.name)
        kind = type(value)
        if value is None or value == "":
            shape.append((f.name, value))
        elif kind in (bool, str, int, float, dt.date):
            shape.append((f.name, kind.__name__))
        else:
            return None
    return tuple(shape)


def _key(spec: TemplateSpec) -> tuple:
    """What a base shares with every spec it stamps: the contract's shape and every
    round-wide setting (framework by content hash)."""

    out: list = [_shape(spec.contract)]
    for f in fields(TemplateSpec):
        if f.name in PER_FILE:
            continue
        value = getattr(spec, f.name)
        if f.name == "framework":
            value = value.content_hash
        elif isinstance(value, (dict, list)):
            value = repr(value)
        out.append((f.name, value))
    return tuple(out)


def _probe(spec: TemplateSpec, variant: int) -> TemplateSpec:
    """``spec`` with every per-file value replaced by a placeholder.

    Variant 0 is the base's (placeholders found by search); variant 1 checks the base, with
    other text, lengths, characters that need escaping, numbers and dates.
    """
    changes = {}
    for i, f in enumerate(fields(Contract)):
        value = getattr(spec.contract, f.name)
        kind = type(value)
        if kind is str and value:
            changes[f.name] = _text_placeholder(f.name, variant)
        elif kind is bool:  # not in the workbook (audit_synergy); the check probe has the other value
            changes[f.name] = variant == 0
        elif kind in (int, float):
            changes[f.name] = kind((900_000_000.5 if variant == 0 else 800_000_000.25) + i)
        elif kind is dt.date:
            changes[f.name] = dt.date(9000 + i, 1, 1) if variant == 0 else dt.date(8000 + i, 7, 15)
    return replace(
        spec,
        contract=replace(spec.contract, **changes),
        token=_text_placeholder("token", variant),
        generated_at="1901-02-03T04:05:06+00:00" if variant == 0 else "1902-12-30T23:58:59+00:00",
    )


_TEXT_KEYS = ("token", *(f.name for f in fields(Contract)))


def _text_placeholder(name: str, variant: int) -> str:
    if variant == 0:
        # One character, no text being shorter: a length limit that the base's text passes
        # (a footer's 255, a cell's 32,767) is then checked again for each real value.
        return chr(PRIVATE_USE + _TEXT_KEYS.index(name))
    # Longer, with characters to escape, spaces to preserve and an _xHHHH_ look-alike.
    return f" {chr(PRIVATE_USE + 0x100)}{name} <chk> \"it's\" _x0041_ \u00e9\u00e9\t"


def _values(spec: TemplateSpec) -> tuple[dict[str, str], dict[str, str]]:
    """The per-file values of ``spec``: (text by name, number cell text by name)."""
    texts = {"token": spec.token, "generated_at": spec.generated_at, "created": _created(spec)}
    numbers = {}
    for f in fields(Contract):
        value = getattr(spec.contract, f.name)
        kind = type(value)
        if kind is str and value:
            texts[f.name] = value
        elif kind in (int, float):  # build_template writes float(value)
            try:
                number = float(value)
            except OverflowError:
                raise NotStampable(f"{f.name}: {value!r}") from None
            if not math.isfinite(number):
                raise NotStampable(f"{f.name}: {value!r}")
            numbers[f.name] = _number_text(number)
        elif kind is dt.date:  # build_template writes datetime.combine(value, time())
            numbers[f.name] = _number_text(XI.excel_serial(
                dt.datetime.combine(value, dt.time()), WORKBOOK_OPTIONS.get("date_1904", False),
                WORKBOOK_OPTIONS.get("remove_timezone", False),
            ))
    return texts, numbers


def _number_text(number: float) -> str:
    return f"{number:.16G}"  # as XMLwriter._xml_number_element writes a number cell


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_text(xml_text: str) -> str:
    """Inverse of XMLwriter's data escaping (&, <, >) and its _xHHHH_ escaping."""
    text = _XHHHH.sub(lambda m: chr(int(m.group(1), 16)), xml_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _encode_text(text: str) -> str:
    return XI.element_text_xml(text)


def _render_si(string: str) -> str:
    return XI.shared_string_xml(string)


@dataclass(frozen=True)
class _Slot:
    """A place in a part where per-file values go."""

    kind: str  # "si" (a whole shared string), "text" (element text), "footer", or "number"
    template: str  # decoded text with placeholders; for "number", the value's name


@dataclass(frozen=True)
class _Part:
    name: str
    date_time: tuple
    compress_type: int
    external_attr: int
    create_system: int
    data: bytes | None  # unchanged parts
    pieces: tuple = ()  # otherwise: text and _Slot, in order


class _Base:
    """One probe workbook taken apart at its placeholders."""

    def __init__(self, data: bytes, probe: TemplateSpec):
        texts, numbers = _values(probe)
        self._text_names = {text: name for name, text in texts.items()}
        self._number_names = {text: name for name, text in numbers.items()}
        every = sorted({*self._text_names, *self._number_names}, key=len, reverse=True)
        self._any = re.compile("|".join(map(re.escape, every)))
        self._text = re.compile("|".join(re.escape(t) for t in every if t in self._text_names))
        self.parts: list[_Part] = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                raw = zf.read(info)
                pieces = self._split(info.filename, raw)
                self.parts.append(_Part(
                    info.filename, info.date_time, info.compress_type, info.external_attr, info.create_system,
                    raw if pieces is None else None, () if pieces is None else tuple(pieces),
                ))

    def _split(self, name: str, raw: bytes) -> list | None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not self._any.search(text):
            return None
        pieces: list = []
        pos = 0
        if name == "xl/sharedStrings.xml":
            for m in _SI.finditer(text):
                if not self._any.search(m.group()):
                    continue
                plain = _PLAIN_SI.match(m.group())
                if not plain:
                    raise NotStampable(f"{name}: a placeholder in a rich string")
                template = _decode_text(plain.group(2))
                if _render_si(template) != m.group():
                    raise NotStampable(f"{name}: {m.group()!r} does not decode")
                pieces += [text[pos:m.start()], _Slot("si", template)]
                pos = m.end()
        else:
            for m in _LEAF.finditer(text):
                tag, content = m.group(1), m.group(3)
                if not self._any.search(content):
                    continue
                if name.startswith("xl/worksheets/") and tag == "v" and content in self._number_names:
                    slot = _Slot("number", self._number_names[content])
                else:
                    if name.startswith("xl/worksheets/") and tag in HEADER_FOOTER_TAGS:
                        kind = "footer"
                    elif name.startswith("docProps/"):
                        kind = "text"
                    else:
                        raise NotStampable(f"{name}: a placeholder in <{tag}>")
                    template = _decode_text(content)
                    if _encode_text(template) != content:
                        raise NotStampable(f"{name}: <{tag}> text does not decode")
                    slot = _Slot(kind, template)
                pieces += [text[pos:m.start(3)], slot]
                pos = m.end(3)
        pieces.append(text[pos:])
        if any(isinstance(p, str) and self._any.search(p) for p in pieces):
            raise NotStampable(f"{name}: a placeholder where none is stamped")
        return pieces

    def stamp(self, spec: TemplateSpec) -> bytes:
        texts, numbers = _values(spec)
        by_placeholder = {text: texts[name] for text, name in self._text_names.items()}
        buffer = io.BytesIO()
        # As xlsxwriter's Workbook._store_workbook writes the package.
        with XI.package_writer(buffer) as zf:
            for part in self.parts:
                info = zipfile.ZipInfo(part.name, part.date_time)
                info.compress_type = part.compress_type
                info.external_attr = part.external_attr
                info.create_system = part.create_system
                if part.data is not None:
                    zf.writestr(info, part.data)
                    continue
                out = []
                for piece in part.pieces:
                    if isinstance(piece, str):
                        out.append(piece)
                    elif piece.kind == "number":
                        out.append(numbers[piece.template])
                    else:
                        out.append(self._fill(piece, by_placeholder))
                zf.writestr(info, "".join(out).encode("utf-8"))
        return buffer.getvalue()

    def _fill(self, slot: _Slot, by_placeholder: dict[str, str]) -> str:
        if slot.kind == "footer":
            def value(m: re.Match) -> str:
                text = by_placeholder[m.group()]
                if _HEADER_FOOTER_UNSAFE.search(text):
                    raise NotStampable("header or footer text with '&', '[' or ']'")
                return text  # styles.footer_text(text) is the text itself: it holds no "&"

            string = self._text.sub(value, slot.template)
            if _utf16_len(string) > HEADER_FOOTER_MAX:
                raise NotStampable("header or footer over 255 characters")
            return _encode_text(string)
        string = self._text.sub(lambda m: by_placeholder[m.group()], slot.template)
        if slot.kind == "text":
            return _encode_text(string)
        if len(string) > EXCEL_STRMAX // 2 and _utf16_len(string) > EXCEL_STRMAX:
            raise NotStampable("a string over Excel's 32,767 characters")
        return _render_si(string)


class Stamper:
    """Workbooks for many specs: fresh templates stamped from a base per round and shape,
    the rest (and any a base cannot stamp exactly) built by build_template.

    Stamping leans on xlsxwriter's internals (:mod:`cmrg_excel.kit.xlsxwriter_internals`).
    Any failure there, not only :class:`NotStampable`, makes that workbook (or that shape's
    base) go through ``build_template``, xlsxwriter's public API: a changed internal costs
    speed, never a workbook. ``stamped`` and ``built`` count the workbooks made each way;
    ``bases`` the bases made; ``failures`` the unexpected errors met (at most
    :data:`MAX_FAILURES` kept, as text, for a log or a benchmark to show).
    """

    MAX_FAILURES = 5

    def __init__(self) -> None:
        self._bases: dict[tuple, _Base | None] = {}
        self.stamped = 0
        self.built = 0
        self.failures: list[str] = []

    @property
    def bases(self) -> int:
        return sum(1 for b in self._bases.values() if b is not None)

    def build(self, spec: TemplateSpec) -> bytes:
        data = self._stamp(spec)
        if data is not None:
            self.stamped += 1
            return data
        self.built += 1
        return build_template(spec)

    def _stamp(self, spec: TemplateSpec) -> bytes | None:
        """The stamped workbook, or None when it must be built."""
        try:
            if not stampable(spec):
                return None
            base = self._base(spec)
            return None if base is None else base.stamp(spec)
        except NotStampable:
            return None
        except Exception as exc:  # a library internal that changed or failed: build instead
            self._failed(exc)
            return None

    def _failed(self, exc: Exception) -> None:
        if len(self.failures) < self.MAX_FAILURES:
            self.failures.append(f"{type(exc).__name__}: {exc}")

    def _base(self, spec: TemplateSpec) -> _Base | None:
        key = _key(spec)
        if key not in self._bases:
            try:
                self._bases[key] = _make_base(spec)
            except Exception as exc:  # as in _stamp: this shape is built from now on
                self._failed(exc)
                self._bases[key] = None
        return self._bases[key]


def _make_base(spec: TemplateSpec) -> _Base | None:
    """The base for ``spec``'s round and shape, or None if it fails its check."""
    probe = _probe(spec, 0)
    try:
        base = _Base(build_template(probe), probe)
        check = _probe(spec, 1)
        if base.stamp(check) != build_template(check):
            raise NotStampable("stamping the check probe differs from building it")
    except NotStampable:
        return None
    return base


# --- in worker processes ---------------------------------------------------------------
_worker: Stamper | None = None


def start_worker() -> None:
    """ProcessPoolExecutor initializer: a Stamper of its own for each worker process."""
    global _worker
    _worker = Stamper()


def build_in_worker(spec: TemplateSpec) -> bytes:
    """The workbook for ``spec``, made by this worker's Stamper (see :func:`start_worker`)."""
    assert _worker is not None, "start_worker() was not run in this process"
    return _worker.build(spec)
