"""What every ``cmrg`` command shares: the group, options, error handling and progress bars.

Each stage's commands live in a module of this package named after the stage; they parse
options, call the stage, and print. Exit codes (as in README.md and ``cmrg --help``): 0 done
(a run with rejected returns is still done), 1 an input needs fixing (contract list,
settings, framework, a file that cannot be written), 2 wrong usage (click's own), 3 the
workspace is busy or its register is damaged, 130 stopped with Ctrl+C.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from .. import __version__
from ..core.errors import EXIT_INPUT, CmrgError
from ..core.terminal import table  # noqa: F401  (re-exported for the command modules)
from ..core.textsafe import visible
from ..core.workspace import CONFIG_NAME, ENV_VAR, Workspace, is_placeholder_email, open_workspace

HELP = f"""\
Run a council's contract management review programme through Excel workbooks.

\b
A review cycle, in commands:
  cmrg init DIR             make a workspace: settings, contract list, folders
  cmrg plan                 propose which contracts to review, month by month
  cmrg generate --round R   one locked self-assessment workbook per contract
  cmrg simulate --round R   practice returns, filled as owners would, in inbox/
  cmrg ingest               check the returns in inbox/ and file each one
  cmrg corrections          rejected returns sent back with the fixes marked
  cmrg status               where each contract's return stands in a round
  cmrg chase                reminder email drafts for returns not yet accepted
  cmrg decide ...           withdraw, reinstate or confirm a return; withdraw a
                            workbook or a round issued by mistake (recorded)
  cmrg summary              the summary workbook for finance and the committee
  cmrg register --out FILE  every accepted answer, as a .xlsx or .csv file
  cmrg meeting pack         the pack members read before meeting an owner
  cmrg findings             the group's agreed themes for the committee paper
  cmrg report               draft the committee paper (Word) from the register
  cmrg demo                 two review rounds on built-in sample data

Every command after init works on a workspace folder: the one named with
--workspace DIR, before or after the command name ('cmrg -w ~/cmrg status'
or 'cmrg status -w ~/cmrg'), else the folder in ${ENV_VAR}, else the
current folder or the nearest folder above it holding a cmrg.toml (so a
command run inside outbox/ finds its workspace, as git does). Dates are
written dd/mm/yyyy. Run 'cmrg COMMAND --help' for each command's manual.

\b
Exit codes:
  0    done (an ingest run that rejected some files is still done)
  1    an input needs fixing: the message says which file, row or setting
  2    wrong usage: an unknown option, a missing --round, a bad date
  3    the workspace is busy (another cmrg run) or its register is damaged
  130  stopped with Ctrl+C; files already finished are kept
"""


NO_BREAK_HYPHEN = "\u2011"


class HelpFormatter(click.HelpFormatter):
    """click's help layout, except that a line never breaks inside a hyphenated word, so
    '--skip-invalid', 'review-plan.xlsx' and 're-commissioning' stay whole (and can be
    copied from the screen)."""

    def write(self, string: str) -> None:
        super().write(string.replace(NO_BREAK_HYPHEN, "-"))

    def write_text(self, text: str) -> None:
        super().write_text(text.replace("-", NO_BREAK_HYPHEN))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [tuple(cell.replace("-", NO_BREAK_HYPHEN) for cell in row) for row in rows]
        super().write_dl(rows, col_max, col_spacing)


class CmrgContext(click.Context):
    formatter_class = HelpFormatter


class CmrgCommand(click.Command):
    context_class = CmrgContext


class CmrgGroup(click.Group):
    """Lists commands in the order of a review cycle rather than alphabetically."""

    context_class = CmrgContext
    command_class = CmrgCommand
    ORDER = ["init", "plan", "generate", "simulate", "ingest", "corrections", "status", "chase", "decide", "summary",
             "register", "meeting", "findings", "report", "demo"]

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (self.ORDER.index(n) if n in self.ORDER else 99, n))


def command(name: str):
    """Declare a cmrg command (registered on the group in cmrg_excel/cli/__init__.py)."""
    return click.command(name, cls=CmrgCommand)


class CmrgSubGroup(click.Group):
    """A command with subcommands (``cmrg decide withdraw``), laid out like the others."""

    context_class = CmrgContext
    command_class = CmrgCommand


def group(name: str):
    """Declare a cmrg command that has subcommands (registered like any command)."""
    return click.group(name, cls=CmrgSubGroup)


@click.group(cls=CmrgGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cmrg")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The workspace folder, for any command: 'cmrg -w DIR status' is 'cmrg status -w DIR'.")
def cli(workspace: Path | None) -> None:
    pass


def _workspace_or_the_groups(ctx: click.Context, param: click.Parameter, value):
    """The command's --workspace, else the one given before the command name ('cmrg -w DIR
    status'), else $CMRG_WORKSPACE, else the current folder or the nearest above it."""
    # Worked out here rather than by click's envvar: which source a value came from is not yet
    # known to a callback in every click release (8.4 records it only after the callback).
    if value is not None:
        return value
    given = ctx.parent.params.get("workspace") if ctx.parent is not None else None
    if given is not None:
        return given
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else None


def workspace_option(func):
    """Adds --workspace/-w (default: the group's --workspace, $CMRG_WORKSPACE, else the current
    folder or the nearest folder above it that is a workspace, as git finds a repository)."""
    return click.option(
        "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
        default=None, callback=_workspace_or_the_groups,
        help=f"The workspace folder made by 'cmrg init'. Default: the one given before the command name, else "
             f"${ENV_VAR}, else the current folder, or the nearest folder above it holding a cmrg.toml.",
    )(func)


def friendly_errors(func):
    """Turn the tool's own errors into one clear message and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CmrgError as exc:
            fail(str(exc), exc.exit_code)
        except BrokenPipeError:  # output piped into a program that stopped reading ('| head'): stop quietly
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            sys.exit(1)
        except OSError as exc:  # a folder that cannot be written, a file open in Excel, a full disk
            fail(file_error(exc), EXIT_INPUT)
        except KeyboardInterrupt:
            fail("stopped by the user; finished files are kept", 130)

    return wrapper


def fail(message: str, code: int = EXIT_INPUT) -> None:
    click.secho("Error: ", fg="red", bold=True, err=True, nl=False)
    click.echo(visible(message, lines=True), err=True)
    sys.exit(code)


def file_error(exc: BaseException, target: Path | None = None, action: str = "read or written") -> str:
    """A file-system error in plain words, naming ``target`` (the file asked for) when known
    rather than the temporary file the write was going through."""
    # xlsxwriter's FileCreateError carries the OSError as its argument
    cause = exc if isinstance(exc, OSError) else next((a for a in exc.args if isinstance(a, OSError)), exc)
    why = (getattr(cause, "strerror", None) or str(cause)).rstrip(".")
    # os.replace(temporary, file) names the file being replaced second
    name = target if target is not None else (getattr(cause, "filename2", None) or getattr(cause, "filename", None))
    where = f"{name}: " if name else ""
    return (f"{where}could not be {action} ({why}). Check that the folder exists and you may write "
            "there, and that the file is not open in Excel or another program.")


def load(workspace: Path | None) -> Workspace:
    return open_workspace(workspace)


def warn_placeholder_email(ws: Workspace) -> None:
    """Say loudly, on stderr, when the return address is still cmrg init's placeholder: every
    workbook and email tells owners to send their returns there, and none would arrive."""
    address = ws.config.return_email
    if address and not is_placeholder_email(address):
        return
    click.secho(f"\nWarning: the return address is {address or 'not set'!s}, a placeholder: the workbooks and "
                "emails tell owners to send their returns there, and none would reach you.", fg="red", bold=True,
                err=True)
    click.secho(f"Set return_email under [council] in {ws.rel(ws.root / CONFIG_NAME)}, then issue them again "
                "with --force before sending.", fg="red", err=True)


def out_target(ws: Workspace, out: Path, force: bool) -> Path:
    """Where --out may write: never over a file cmrg keeps (the contract list, the register, a
    workbook issued, anything in inbox/ or archive/), even with --force; over any other file
    that exists only with --force."""
    what = ws.managed(out)
    if what is not None:
        fail(f"--out {out}: that is {what}, which cmrg keeps; choose another --out", EXIT_INPUT)
    if out.exists() and not force:
        fail(f"--out {out} already exists: choose another --out, or add --force to replace it", EXIT_INPUT)
    return out


def only_ids(only: tuple[str, ...]) -> list[str] | None:
    """The contract IDs of --only (repeated, or separated by commas); None when --only was not given.
    An --only that names no contract (``--only ""``) is a usage error, never "every contract"."""
    if not only:
        return None
    ids = [part.strip() for item in only for part in item.split(",") if part.strip()]
    if not ids:
        raise click.UsageError("--only names no contract: give one or more contract IDs (--only GET-001,GET-002), "
                               "or leave --only out for every contract")
    return ids


def seconds_option(ctx, param, value):
    """A click callback: a number of seconds from 0 to a day (not nan or inf), or a usage error."""
    if value is None:
        return None
    if not 0 <= value <= 86400:  # also refuses nan, which every comparison refuses
        raise click.BadParameter(f"{value!r} is not a number of seconds from 0 to 86400")
    return value


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
