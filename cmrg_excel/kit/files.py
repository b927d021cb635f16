"""Writing files safely: complete or absent, never half-written."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write a file so that it is either complete or absent, never half-written.

    ``durable`` also forces it to disk before the rename; files that can simply be
    generated again skip that.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    tmp.replace(path)
