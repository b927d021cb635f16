"""The ``cmrg`` command line: a thin click layer over the programme's stages.

Each module here holds one command: it parses options, calls the stage, and prints. What they
share (the group, options, error handling, exit codes) is in :mod:`.base`. Commands are
registered below, explicitly, in the order of a review cycle.
"""

from __future__ import annotations

from . import (
    chase, corrections, decide, demo, generate, ingest, meeting, plan, register, report, simulate, status, summary,
    workspace_cmds,
)
from .base import cli

for _command in (
    workspace_cmds.init_cmd, plan.plan_cmd, generate.generate_cmd, simulate.simulate_cmd, ingest.ingest_cmd,
    corrections.corrections_cmd, status.status_cmd, chase.chase_cmd, decide.decide_cmd, summary.summary_cmd,
    register.register_cmd, meeting.meeting_group, report.findings_cmd, report.report_cmd, demo.demo_cmd,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="cmrg")
