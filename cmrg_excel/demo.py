"""A whole review cycle on built-in, fictional sample data, for trying the tool out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .contracts import read_contracts
from .framework import BUILTIN_PACKAGE
from .generate import GenerateResult, generate_round, write_contract_list
from .workspace import Workspace, init_workspace, open_workspace

FIRST_ROUND = "2026-27"
SAMPLE = "sample-contracts.csv"


def sample_contracts():
    """The 28 fictional contracts that ship with the tool."""
    with resources.as_file(resources.files(BUILTIN_PACKAGE).joinpath(SAMPLE)) as path:
        return read_contracts(path).contracts


def default_folder(base: Path | None = None) -> Path:
    """A new, timestamped folder under ``base`` (the current folder by default)."""
    base = base or Path.cwd()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = base / f"cmrg-demo-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"cmrg-demo-{stamp}-{n}"
    return folder


@dataclass
class DemoResult:
    workspace: Workspace
    generated: list[GenerateResult] = field(default_factory=list)


def setup(folder: Path) -> Workspace:
    """A workspace for the fictional 'Example Council' holding the sample contract list."""
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; give a new folder for the demo")
    ws, _ = init_workspace(folder, council="Example Council", return_email="cmrg@example-council.gov.uk",
                           password="demo")
    write_contract_list(ws.contracts_path, sample_contracts())
    return open_workspace(ws.root)
