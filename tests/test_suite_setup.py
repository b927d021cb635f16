"""How the suite itself runs: what CI selects (docs/testing.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_hypothesis_is_derandomised_in_ci_and_fresh_on_a_developers_machine():
    """CI=true selects the 'ci' profile: the same examples every run, so a green CI run is reproducible
    and no rule is pinned only by a lucky draw. HYPOTHESIS_PROFILE picks one by name."""
    code = ("import tests.conftest; from hypothesis import settings; "
            "print(settings.default.derandomize, settings.default.database is None)")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}

    def profile(**extra: str) -> str:
        return subprocess.run([sys.executable, "-c", code], env={**env, **extra}, cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()

    assert profile(CI="true") == "True True"
    assert profile() == "False False"
    assert profile(HYPOTHESIS_PROFILE="mutation") == "True True"
