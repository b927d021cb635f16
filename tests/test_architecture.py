"""The house's shape: phases as subpackages, imports only downwards, no circles.

docs/architecture.md explains the layers; these tests keep the code and that page honest.
Every import counts, including imports inside functions: an import placed in a function to
dodge a circle is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "cmrg_excel"

# Lowest first. A module may import from its own layer or any lower one, never a higher one.
LAYERS = ["core", "kit", "register", "issue", "intake", "review", "report", "programme", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules imported anywhere in a module (relative imports resolved)."""
    is_pkg = path.name == "__init__.py"
    package = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("cmrg_excel"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cmrg_excel"))
    found.discard(name)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (cycle := visit(n)):
            return cycle
    return None


def test_no_import_circle_inside_the_package():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_lives_in_a_phase():
    loose = [m for m in modules() if m.count(".") == 1 and m.split(".")[1] not in LAYERS]
    assert loose == [], f"modules outside the phase subpackages: {loose}"


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_only_go_down_the_layers(module):
    g = graph()
    mine = layer(module)
    if mine is None:
        return
    upward = sorted(m for m in g[module] if (their := layer(m)) is not None and their > mine)
    assert upward == [], f"{module} (layer {LAYERS[mine]}) imports from higher layers: {upward}"


def test_architecture_page_names_every_subpackage():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for sub in LAYERS:
        assert f"`{sub}/`" in page, f"docs/architecture.md does not describe {sub}/"
    for name in modules():
        leaf = name.split(".")[-1]
        if name.count(".") == 2 and leaf != "__init__":
            assert f"{leaf}.py" in page, f"docs/architecture.md does not mention {name}"


def test_no_two_classes_of_the_package_share_a_name():
    """One name, one thing: a class named like another elsewhere (three called Finding once)
    makes every import and every reader ask which one is meant."""
    import ast
    from collections import defaultdict

    where = defaultdict(list)
    for path in sorted((ROOT / "cmrg_excel").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(ROOT)))
    shared = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not shared, f"classes of the same name in more than one place: {shared}"
