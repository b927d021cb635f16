"""The tool's own errors, each carrying the exit code the command line gives it.

Exit codes (README.md and ``cmrg --help``): 0 done, 1 an input needs fixing, 2 wrong usage
(click's own), 3 the workspace or register is busy or damaged, 130 stopped with Ctrl+C.
"""

from __future__ import annotations

EXIT_INPUT = 1
EXIT_BUSY = 3


class CmrgError(Exception):
    """An error with a message for people; the command line prints it and exits with ``exit_code``."""

    exit_code = EXIT_INPUT


class BusyError(CmrgError):
    """Another run, or another program, holds what this command needs; running again later works."""

    exit_code = EXIT_BUSY


class WorkspaceError(CmrgError):
    """The workspace is missing, incomplete or its settings are invalid."""
