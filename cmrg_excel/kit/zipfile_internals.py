"""The one place that leans on :mod:`zipfile` beyond its documented API: reading a member
with a cap on its size that the member's own header cannot lift.

Written against CPython 3.11's zipfile (setup.cfg asks for Python 3.11 or later);
``tests/test_library_walls.py`` checks every assumption, so a Python whose zipfile differs
fails there by name.

What this module assumes:

* The undocumented module constants ``zipfile.structFileHeader`` (the local file header's
  struct format), ``zipfile.sizeFileHeader`` (its size) and ``zipfile.stringFileHeader``
  (its signature), with the flags at index 3 and the name and extra-field lengths at 10 and
  11 of the unpacked header.
* ``ZipInfo.header_offset``, ``orig_filename``, ``flag_bits``, ``compress_size``, ``CRC``
  (documented or long-standing public attributes).
* ``ZipFile.open(info)`` stops reading at ``info.file_size`` (so a caller may lower or
  raise it for one read), and the ``ZipExtFile`` it returns has ``_orig_compress_start``
  (where the compressed bytes start) and ``_decrypter`` (None for a plain member). Where
  either is missing, the member is read through zipfile itself with the same cap: slower,
  never wrong.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

# A zip local file header (zipfile.structFileHeader): the fields used here, by position.
_LH_SIGNATURE, _LH_FLAGS, _LH_NAME_LENGTH, _LH_EXTRA_LENGTH = 0, 3, 10, 11
# Flag bits of a member read here only through zipfile: 0x1 encrypted, 0x20 patched data,
# 0x40 strong encryption.
UNPLAIN_FLAGS = 0x61


def read_member_capped(zf: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, at most cap + 1 of them (more than cap means "over the cap").

    The header's uncompressed size is not trusted: the compressed bytes are inflated here
    with zlib, capped at cap + 1, and CRC-checked like zipfile does. Where the member's
    local header is plain (signature, the same name as in the directory, no encryption),
    its data is located from that header directly; anything else goes through
    ``zipfile.open()``, which raises zipfile's own error for a damaged header (and where
    zipfile's internals differ, another Python, the member is read through zipfile itself,
    with the same cap). Raises what zipfile or zlib raise for a damaged member, or EOFError.
    """
    start = data_start(data, info)
    if start is not None:
        return _inflate_at(data, info, start, cap)
    claimed = info.file_size
    info.file_size = cap + 1  # zipfile stops at file_size: let it read one byte past the cap
    try:
        with zf.open(info) as fh:
            start = getattr(fh, "_orig_compress_start", None)
            if isinstance(start, int) and getattr(fh, "_decrypter", None) is None:
                return _inflate_at(data, info, start, cap)
            return fh.read(cap + 1)
    finally:
        info.file_size = claimed


def data_start(data: bytes, info: zipfile.ZipInfo) -> int | None:
    """Where a member's compressed bytes start, read from its local header as zipfile.open()
    does; None when the header is anything but plain (zipfile.open() then reports it)."""
    off = info.header_offset
    end = off + zipfile.sizeFileHeader
    if off < 0 or end > len(data) or info.flag_bits & UNPLAIN_FLAGS:
        return None
    header = struct.unpack(zipfile.structFileHeader, data[off:end])
    if header[_LH_SIGNATURE] != zipfile.stringFileHeader or header[_LH_FLAGS] & UNPLAIN_FLAGS:
        return None
    name_end = end + header[_LH_NAME_LENGTH]
    try:
        name = data[end:name_end].decode("utf-8" if header[_LH_FLAGS] & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    return name_end + header[_LH_EXTRA_LENGTH]


def _inflate_at(data: bytes, info: zipfile.ZipInfo, start: int, cap: int) -> bytes:
    raw = data[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        out = raw[:cap + 1]
        if len(out) <= cap and len(raw) < info.compress_size:
            raise EOFError("stored data ends early")
    else:  # ZIP_DEFLATED (nothing else is streamed)
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(raw, cap + 1)
        if len(out) <= cap and not inflater.eof:
            raise EOFError("compressed data ends before its end marker")
    if len(out) <= cap and zlib.crc32(out) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return out
