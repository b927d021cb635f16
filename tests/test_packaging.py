"""What 'pip install .' (not editable) puts in place: every package of the source tree."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_in_setup_cfg():
    # An editable install finds any folder with an __init__.py; a real install only the
    # packages setup.cfg names, so a missing one breaks 'pip install . && cmrg demo'.
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cmrg_excel").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found <= listed, f"not in setup.cfg [options] packages: {sorted(found - listed)}"
