"""``cmrg init``: a new workspace with its settings file, folders and a blank contract list."""

from __future__ import annotations

import json
import secrets
from importlib import resources
from pathlib import Path

from ..core import settings
from ..core.workspace import CONFIG_NAME, CONFIG_TEMPLATE, STANDING_TEXT, Workspace, load_config
from ..core.benefits import FILE_NAME as BENEFITS_FILE
from ..core.framework import BUILTIN_PACKAGE
from ..kit.benefits_list import write_benefits_log
from ..kit.contract_list import write_contract_list
from ..kit.files import write_atomic


def init_workspace(
    path: str | Path,
    council: str = "Example Council",
    return_email: str = "cmrg@example.gov.uk",
    password: str | None = None,
) -> tuple[Workspace, list[Path]]:
    """Create a workspace; existing files are kept. Returns it and the files it made."""
    root = Path(path).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    cfg = root / CONFIG_NAME
    if not cfg.exists():
        pw = password or "cmrg-" + secrets.token_hex(3)
        # The rules the file is held to when it loads, applied before anything is written.
        values = {key: settings.check_value(section, key, value, option) for section, key, value, option in (
            ("council", "name", council, "--council"), ("council", "return_email", return_email, "--return-email"),
            ("templates", "password", pw, "password"))}
        # Written as TOML basic strings: quotes and backslashes escaped, any other character as it is.
        quoted = {key: json.dumps(value, ensure_ascii=False)[1:-1] for key, value in values.items()}
        write_atomic(cfg, CONFIG_TEMPLATE.format(council=quoted["name"], return_email=quoted["return_email"],
                                                 password=quoted["password"]).encode("utf-8"))
        made.append(cfg)
    ws = Workspace(root, load_config(cfg))
    for folder in (ws.inbox, ws.outbox, ws.archive, ws.frameworks_dir):
        if not folder.exists():
            folder.mkdir(parents=True)
            made.append(folder)
    if not ws.contracts_path.exists():
        write_contract_list(ws.contracts_path)
        made.append(ws.contracts_path)
    log = root / BENEFITS_FILE
    if not log.exists():
        write_benefits_log(log, ws.config.council_name)
        made.append(log)
    standing = root / STANDING_TEXT
    if not standing.exists():
        write_atomic(standing, resources.files(BUILTIN_PACKAGE).joinpath(STANDING_TEXT).read_bytes())
        made.append(standing)
    return ws, made
