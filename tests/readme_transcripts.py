"""README.md's transcripts, replayed: every ``$ cmrg ...`` block, run for real, in order.

The walkthrough in README.md is a sequence of fenced blocks whose lines starting ``$ cmrg``
are commands and whose other lines are what the command printed. :func:`replay` runs them all
in a fresh folder, in README order (``cmrg init cyc ...`` first, the rest inside ``cyc/`` as the
README says, ``cmrg demo`` in a folder of its own), and returns each command's real output.
:func:`matches` compares it with the README's, ignoring what changes from run to run (dates,
times, durations, paths, time stamps in file names, the user and machine), how lines are
wrapped, and lines the README elides with a lone ``...``.

Run ``python -m tests.readme_transcripts`` to print every command's real output (to paste into
README.md after a change of wording).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass
class Step:
    command: str          # as written after "$ "
    expected: list[str]   # the README's lines of output
    line: int             # 1-based line of the command in README.md


def steps(text: str | None = None) -> list[Step]:
    """The commands of every ``$ cmrg`` block, in order, with the README's output for each."""
    text = README.read_text(encoding="utf-8") if text is None else text
    out: list[Step] = []
    in_block = False
    current: Step | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            in_block = not in_block
            if current is not None:
                out.append(current)
                current = None
            continue
        if not in_block:
            continue
        if line.startswith("$ cmrg"):
            if current is not None:
                out.append(current)
            current = Step(line[2:], [], n)
        elif current is not None:
            current.expected.append(line)
    for step in out:  # a blank line separates two commands in one block
        while step.expected and not step.expected[-1].strip():
            step.expected.pop()
    return out


def normalise(text: str, roots: list[Path]) -> str:
    """Text with what changes from run to run masked, and whitespace collapsed."""
    for root in sorted(roots, key=lambda p: -len(str(p))):
        text = text.replace(str(root), "<dir>")
    text = re.sub(r"(?<![\w<>])/[^\s:,)'\"]+", "<path>", text)          # absolute paths
    text = re.sub(r"\d{8}-\d{6}(?:-\d+)?", "<stamp>", text)                # ingest-20261127-154600
    text = re.sub(r"\d{2}/\d{2}/\d{4}", "<date>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    text = re.sub(r"\b\d{1,2}:\d{2}(?::\d{2})?\b", "<time>", text)
    text = re.sub(r"\b\d+(?:\.\d+)? s\b", "<n> s", text)                   # 0.5 s, 19 s
    text = re.sub(r"\b[\w.-]+@[\w-]+\b(?![.\w])", "<user>", text)          # root@machine, not an email address
    return " ".join(text.split())


def matches(expected: list[str], actual: str, roots: list[Path]) -> bool:
    """Whether ``actual`` reads as the README's ``expected`` lines, a lone '...' line standing
    for any lines."""
    segments, current = [], []
    for line in expected:
        if line.strip() == "...":
            segments.append(current)
            current = []
        else:
            current.append(line)
    segments.append(current)
    got = normalise(actual, roots)
    wants = [normalise("\n".join(seg), roots) for seg in segments]
    if len(wants) == 1:
        return got == wants[0]
    if not got.startswith(wants[0]):
        return False
    pos = len(wants[0])
    for want in wants[1:-1]:
        found = got.find(want, pos)
        if found < 0:
            return False
        pos = found + len(want)
    return got.endswith(wants[-1]) and len(got) - len(wants[-1]) >= pos


@contextmanager
def _cwd(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def replay(base: Path, only: list[Step] | None = None) -> list[tuple[Step, str, int]]:
    """Run the README's commands in ``base`` (a new folder): (step, output, exit code) each."""
    from click.testing import CliRunner

    from cmrg_excel.cli import cli

    runner = CliRunner()
    base.mkdir(parents=True, exist_ok=True)
    demo_dir = base / "demo-run"
    demo_dir.mkdir()
    results = []
    env = {"CMRG_WORKSPACE": None, "COLUMNS": "100"}
    for step in only or steps():
        args = shlex.split(step.command)[1:]
        if args[0] == "init":
            where = base
        elif args[0] == "demo":
            where = demo_dir
        else:
            where = base / "cyc"
        with _cwd(where):
            res = runner.invoke(cli, args, env=env, catch_exceptions=False)
        results.append((step, res.output, res.exit_code))
    return results


def main(argv: list[str]) -> int:
    """Print each command's real output; with --update, write it into README.md in place of
    the README's (blocks that elide lines with '...' are left for a person to edit)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cmrg-readme-") as tmp:
        done = replay(Path(tmp))
        shown = {s.line: out.replace(str(Path(tmp) / "demo-run"), "/home/you").replace(tmp, "/home/you")
                 for s, out, _ in done}
        for step, _output, code in done:
            print(f"--- README line {step.line} (exit {code})\n$ {step.command}\n{shown[step.line].rstrip()}\n")
        if "--update" in argv:
            lines = README.read_text(encoding="utf-8").splitlines()
            for step, _output, _code in sorted(done, key=lambda d: -d[0].line):
                if any(x.strip() == "..." for x in step.expected):
                    print(f"README line {step.line}: elided with '...', left as it is", file=sys.stderr)
                    continue
                first = step.line  # the command's line, 1-based: its output follows
                lines[first: first + len(step.expected)] = shown[step.line].rstrip().splitlines()
            README.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
