"""One catalogue of problem codes (cmrg_excel/intake/codes.py): every code the package raises or
matches is in it, the four modules that raise them use its constants (never the bare text), and
every code in it is documented in docs/ingest.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cmrg_excel.intake import codes as C
from cmrg_excel.intake.preflight import _MESSAGES

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "cmrg_excel"
RAISERS = ("intake/preflight.py", "intake/check.py", "intake/ingest.py", "intake/corrections.py")
CODE_SETS = ("NOT_CORRECTABLE", "DONE_FOR_YOU", "RECHECK_CODES")


def _code_expressions(tree: ast.AST, path: str):
    """Every expression in a place that holds a problem code: the code of a Problem, a preflight
    finding, a skipped file; a message looked up by code; a comparison with a problem's code; the
    value of a variable called ``code``; the sets of codes that steer corrections and rechecks."""
    def spread(node):
        if isinstance(node, (ast.Tuple, ast.Set, ast.List)):
            for e in node.elts:
                yield from spread(e)
        elif isinstance(node, ast.IfExp):
            yield from spread(node.body)
            yield from spread(node.orelse)
        elif isinstance(node, ast.Dict):
            for k in node.keys:
                yield from spread(k)
        elif node is not None:
            yield node

    def is_code(node) -> bool:
        return ((isinstance(node, ast.Attribute) and node.attr == "code")
                or (isinstance(node, ast.Name) and node.id == "code")
                or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "code"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name == "Problem":
                yield from spread(node.args[6] if len(node.args) > 6 else
                                  next((k.value for k in node.keywords if k.arg == "code"), None))
            elif name in ("add", "evidence") and path.endswith("preflight.py") and node.args:
                yield node.args[0]
            elif name == "PreflightFinding" and path.startswith("intake/") and node.args:
                yield node.args[0]
            elif name == "_odd" and len(node.args) > 2:
                yield node.args[2]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "_MESSAGES":
            yield node.slice
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(is_code(o) for o in operands):
                for o in operands:
                    if not is_code(o):
                        yield from spread(o)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "code" or node.targets[0].id in CODE_SETS:
                yield from spread(node.value)


def _codes_used() -> dict[str, list[tuple[str, int, ast.AST]]]:
    out: dict[str, list] = {}
    for file in sorted(PKG.rglob("*.py")):
        path = file.relative_to(PKG).as_posix()
        if path == "intake/codes.py":
            continue
        for expr in _code_expressions(ast.parse(file.read_text(encoding="utf-8")), path):
            out.setdefault(path, []).append((path, expr.lineno, expr))
    return out


USED = _codes_used()


def _value(expr: ast.AST) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "C":
        return getattr(C, expr.attr)  # AttributeError: a constant the catalogue lacks
    return None  # a variable or a call: checked where its value is made


def test_the_scan_sees_every_module_that_raises_codes():
    assert set(RAISERS) <= set(USED), sorted(set(RAISERS) - set(USED))
    assert sum(len(v) for p, v in USED.items() if p in RAISERS) > 150


@pytest.mark.parametrize("path", RAISERS)
def test_the_modules_that_raise_codes_use_the_catalogues_constants(path):
    bare = [f"{path}:{line}: {expr.value!r}" for _, line, expr in USED[path]
            if isinstance(expr, ast.Constant) and isinstance(expr.value, str)]
    assert not bare, "bare problem codes (use cmrg_excel.intake.codes):\n" + "\n".join(bare)


def test_every_code_the_package_raises_or_matches_is_in_the_catalogue():
    unknown = []
    for path, uses in USED.items():
        for _, line, expr in uses:
            value = _value(expr)
            if value is not None and value not in C.CATALOGUE and value not in (C.ODD_STRUCTURE, C.SAVED_AS_XLSM):
                unknown.append(f"{path}:{line}: {value!r}")
    assert not unknown, "codes not in cmrg_excel/intake/codes.py:\n" + "\n".join(unknown)


def test_every_code_in_the_catalogue_is_used_and_documented():
    doc = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")
    used = {_value(expr) for uses in USED.values() for _, _, expr in uses}
    for code, entry in C.CATALOGUE.items():
        assert entry.stage in (C.PREFLIGHT, C.READING, C.FILING, C.IDENTITY, C.ANSWERS, C.ATTESTATION), code
        assert entry.effect in (C.REFUSED, C.NOTE, C.LEFT, C.DUPLICATE), code
        assert f"`{code}`" in doc, f"docs/ingest.md does not document `{code}`"
        assert code in used or code == C.CHANGED, f"{code} is in the catalogue but nothing raises it"
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", "".join(c + "-" for c in C.CATALOGUE)[:-1])


def test_the_preflight_messages_are_the_catalogues():
    assert _MESSAGES is C.TEMPLATES
    assert C.message(C.TOO_MANY_PARTS, n=400, limit=300).startswith("The workbook is made of 400 internal parts")
    assert C.message(C.EMPTY) == C.CATALOGUE[C.EMPTY].template
    with pytest.raises(KeyError):
        C.message(C.BAD_DATE)  # written where the rule is, from the cell and the value found
    with pytest.raises(ValueError, match="defined twice"):
        C._define(C.EMPTY, C.PREFLIGHT, C.REFUSED)
