"""The summary's settings (``[summary]`` in cmrg.toml) and its error."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import CmrgError
from ...core.settings import check_section


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
        """``[summary]`` of cmrg.toml, checked by the one set of rules (core/settings.py)."""
        return cls(**check_section("summary", dict(section or {})))

