"""The summary's settings (``[summary]`` in cmrg.toml) and its error."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import CmrgError


class SummaryError(CmrgError):
    """The summary cannot be written (no register data, unknown round, bad settings)."""


# --- inputs and outputs ----------------------------------------------------------------

@dataclass(frozen=True)
class SummarySettings:
    """Thresholds for the findings; ``[summary]`` in cmrg.toml."""

    strength_share: float = 0.75
    issue_share: float = 0.5
    inconsistency_sd: float = 1.2
    evidence_min_chars: int = 20
    top_n: int = 5

    @classmethod
    def from_section(cls, section: dict | None) -> "SummarySettings":
        section = dict(section or {})
        unknown = sorted(set(section) - set(cls.__dataclass_fields__))
        if unknown:
            raise SummaryError(f"cmrg.toml: [summary] {unknown[0]} is not a known setting")
        out = {}
        limits = {
            "strength_share": (float, 0.0, 1.0), "issue_share": (float, 0.0, 1.0),
            "inconsistency_sd": (float, 0.0, 10.0), "evidence_min_chars": (int, 0, 10000), "top_n": (int, 1, 50),
        }
        for key, (kind, low, high) in limits.items():
            if key not in section:
                continue
            value = section[key]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int and not isinstance(value, int):
                ok = False
            if not ok or not low <= value <= high:
                raise SummaryError(
                    f"cmrg.toml: [summary] {key} = {value!r} is not valid: use a "
                    f"{'whole number' if kind is int else 'number'} from {low:g} to {high:g}"
                )
            out[key] = kind(value)
        return cls(**out)

