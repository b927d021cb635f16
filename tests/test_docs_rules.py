"""docs/ingest.md's rule table and the code stay in step: every problem code the rules can raise is
listed, and every test the table names exists and asserts one of its row's codes."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from cmrg_excel.intake import check, preflight
from cmrg_excel.intake import codes as catalogue

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ingest.md"
SECTION = "## Every rule and the test that pins it"


def table_rows() -> list[tuple[set[str], list[str]]]:
    """(codes, tests named) of every row of the rule tables."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.find("\n## ", len(SECTION))]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| `") else []
        if len(cells) == 3:
            codes = set(re.findall(r"`([a-z]+(?:-[a-z]+)*)`", cells[0]))
            tests = re.findall(r"`(tests/[\w/]+\.py::\w+)`", cells[2])
            rows.append((codes, tests))
    return rows


def codes_raised(module) -> set[str]:
    """Every code a rule module can raise, read from its source: check's Problem(..., code) and
    preflight's col.add(code, ...) / col.evidence(code, ...)."""
    tree = ast.parse(inspect.getsource(module))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        arg = None
        if name == "Problem":
            arg = node.args[6] if len(node.args) > 6 else next((k.value for k in node.keywords if k.arg == "code"), None)
        elif name in ("add", "evidence") and node.args:
            arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
        elif isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "C":
            found.add(getattr(catalogue, arg.attr))  # a constant of the catalogue, cmrg_excel/intake/codes.py
    return found


def test_every_code_the_rules_raise_is_in_the_table():
    listed = set().union(*(codes for codes, _ in table_rows()))
    for module in (check, preflight):
        raised = codes_raised(module)
        assert len(raised) > 15, raised
        assert raised <= listed, f"{module.__name__}: not in {DOC.name}: {sorted(raised - listed)}"


def test_every_row_names_tests_that_exist_and_assert_its_codes():
    rows = table_rows()
    assert len(rows) > 40
    sources: dict[str, tuple[str, dict[str, ast.FunctionDef]]] = {}
    for codes, tests in rows:
        assert tests, f"{sorted(codes)}: no test named"
        mentioned = set()
        for ref in tests:
            path, name = ref.split("::")
            if path not in sources:
                text = (ROOT / path).read_text(encoding="utf-8")
                funcs = {n.name: n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)}
                sources[path] = (text, funcs)
            text, funcs = sources[path]
            assert name in funcs, f"{ref} does not exist"
            node = funcs[name]
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            body = "\n".join(text.splitlines()[first - 1:node.end_lineno])
            here = {c for c in codes if f'"{c}"' in body}
            assert here, f"{ref} asserts none of {sorted(codes)}"
            mentioned |= here
        assert mentioned == codes, f"no test named for {sorted(codes - mentioned)}"


def test_every_test_the_docs_name_exists():
    """docs/*.md name tests (the rule table, the changes issue 18 listed in testing.md): each exists."""
    named = set()
    for doc in (ROOT / "docs").glob("*.md"):
        named |= {(doc.name, ref) for ref in re.findall(r"`(tests/[\w/]+\.py::\w+)`", doc.read_text(encoding="utf-8"))}
    assert len(named) > 40
    for doc, ref in sorted(named):
        path, name = ref.split("::")
        text = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", text, re.M), f"{doc} names {ref}, which does not exist"
