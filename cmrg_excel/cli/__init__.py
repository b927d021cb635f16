"""The ``cmrg`` command line: a thin click layer over the pipeline stages.

Each stage's commands live in a module of this package named after the stage; they parse
options, call the stage, and print. Exit codes: 0 done (a run with rejected returns is
still done), 1 the input needs fixing (contract list, settings, framework), 2 wrong
usage, 3 the workspace is busy or damaged.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .. import __version__
from ..contracts import ContractListError
from ..framework import FrameworkError
from ..register import RegisterError
from ..terminal import table  # noqa: F401  (re-exported for the command modules)
from ..workspace import ENV_VAR, Workspace, WorkspaceError, open_workspace

EXIT_INPUT = 1
EXIT_BUSY = 3

HELP = f"""\
Run a contract management review programme through Excel workbooks.

\b
A review cycle, in commands:
  cmrg init DIR                  make a workspace (settings, contract list, folders)
  cmrg plan                      propose which contracts to review, month by month
  cmrg generate --round R        one locked self-assessment workbook per contract
  cmrg ingest                    check returned workbooks dropped into inbox/
  cmrg corrections               rejected returns sent back pre-filled, cells to fix marked
  cmrg status / cmrg chase       who has not returned, and reminder emails
  cmrg summary                   the summary workbook for finance and the committee
  cmrg demo                      two review rounds on built-in sample data

Every command works on a workspace folder: --workspace DIR, else ${ENV_VAR},
else the current folder. Run 'cmrg COMMAND --help' for each command's manual.

\b
Exit codes: 0 done; 1 an input needs fixing (the message says where);
2 wrong usage; 3 the workspace is busy or its register is damaged.
"""


class CmrgGroup(click.Group):
    """Lists commands in the order of a review cycle rather than alphabetically."""

    ORDER = ["init", "plan", "generate", "ingest", "corrections", "status", "chase", "summary", "register", "demo"]

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (self.ORDER.index(n) if n in self.ORDER else 99, n))


@click.group(cls=CmrgGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cmrg")
def cli() -> None:
    pass


def workspace_option(func):
    """Adds --workspace/-w (default: $CMRG_WORKSPACE, else the current folder)."""
    return click.option(
        "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
        envvar=ENV_VAR, default=None, show_envvar=True,
        help="Workspace folder. Default: the current folder.",
    )(func)


def friendly_errors(func):
    """Turn the tool's own errors into one clear message and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (WorkspaceError, RegisterError) as exc:
            code = EXIT_BUSY if "another cmrg run" in str(exc) or isinstance(exc, RegisterError) else EXIT_INPUT
            fail(str(exc), code)
        except (ContractListError, FrameworkError) as exc:
            fail(str(exc), EXIT_INPUT)
        except KeyboardInterrupt:
            fail("stopped by the user; finished files are kept", 130)

    return wrapper


def fail(message: str, code: int = EXIT_INPUT) -> None:
    click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
    click.echo(message, err=True)
    sys.exit(code)


def load(workspace: Path | None) -> Workspace:
    return open_workspace(workspace)


def rel(ws: Workspace, path: Path) -> str:
    """A path shown relative to the workspace when it is inside it."""
    return ws.rel(path)


class Progress:
    """A progress bar on stderr for a long run, started once the run knows its size.

    Shown in a terminal from ``show_over`` items, and from ``always_over`` items even in
    logs and scripts; otherwise silent, where a bar would only add noise. Use it as a
    context manager and pass ``start`` and ``tick`` to the stage as its callbacks.
    """

    def __init__(self, label: str, show_over: int = 20, always_over: int | None = None):
        self.label = label
        self.show_over = show_over
        self.always_over = always_over
        self.bar = None

    def start(self, total: int) -> None:
        shown = total >= self.show_over and sys.stderr.isatty()
        if shown or (self.always_over is not None and total >= self.always_over):
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()

    def tick(self, *_done) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> bool:
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


# Stage command modules register themselves on import.
from . import (  # noqa: E402,F401  (imported for their commands)
    chase, corrections, demo, generate, ingest, plan, register, status, summary, workspace_cmds,
)


def main() -> None:
    cli(prog_name="cmrg")
