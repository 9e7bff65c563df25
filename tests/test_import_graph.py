"""No import circles between cdp's modules.

Every import counts, also those inside functions (a circle hidden behind a local import is
still a circle); imports only for type checkers do not, nor a submodule importing its own
package (a package's __init__ re-exporting its submodules is not a circle).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cdp", "ingest", "dagster_project", "bench")


def module_names() -> dict[str, Path]:
    """The project's importable modules: files whose every folder is a package (not bench/work's dbt output)."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if not all((folder / "__init__.py").exists() for folder in path.parents if ROOT in folder.parents):
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports at load time (not inside functions)."""
    modules = module_names()
    graph = {}
    for name, path in modules.items():
        imported = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for statement in runtime_statements(tree):
            if isinstance(statement, ast.Import):
                imported |= {alias.name for alias in statement.names}
            elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                imported |= {statement.module} | {f"{statement.module}.{alias.name}" for alias in statement.names}
        graph[name] = {other for other in imported if other in modules and not f"{name}.".startswith(f"{other}.")}
    return graph


def runtime_statements(tree: ast.AST):
    """Every statement except those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        yield node
        yield from runtime_statements(node)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                return [*path[path.index(other) :], other]
            if other not in state and (cycle := visit(other)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_module_imports_itself_through_others():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_checker_sees_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
