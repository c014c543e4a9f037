"""The package's shape, read from its source with `ast` (nothing is imported): no import
circles, no lower layer importing the command layer or the run entry, and the top
level holds no loose modules beyond the entry points."""

import ast
from collections import defaultdict
from pathlib import Path

import dlrun

SRC = Path(dlrun.__file__).parent
# The command layer and the run entry; the packages below them never import these.
UPPER = ("dlrun.cli", "dlrun.__main__", "dlrun.commands", "dlrun.run")
LOWER = (
    "dlrun.cluster",
    "dlrun.search",
    "dlrun.serve",
    "dlrun.runs",
    "dlrun.distributed",
    "dlrun.engine",
    "dlrun.datasets",
    "dlrun.models",
    "dlrun.training",
    "dlrun.metrics",
    "dlrun.checks",
    "dlrun.tasks",
    "dlrun.config",
    "dlrun.errors",
    "dlrun.compat",
)
TOP_LEVEL_MODULES = {"__init__", "__main__", "cli", "errors", "compat"}


def module_name(path: Path) -> str:
    parts = ["dlrun", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def imports_of(path: Path, known: set[str], this: str) -> set[str]:
    """Every dlrun module `path` imports, at module level or inside a function."""
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, set(known), name) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_graph_sees_imports_inside_functions():
    edges = graph()
    assert "dlrun.run.process" in edges["dlrun.run"], "run() imports its process module inside the function"
    assert "dlrun.checks" in edges["dlrun.cli"]


def test_no_import_circles():
    found = cycles(graph())
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_lower_layers_never_import_the_commands_or_the_run_entry():
    upward = defaultdict(list)
    for name, targets in graph().items():
        if within(name, LOWER):
            upward[name] += sorted(t for t in targets if within(t, UPPER))
    upward = {k: v for k, v in upward.items() if v}
    assert not upward, f"imports upwards: {upward}"


def test_only_the_cli_imports_the_commands():
    importers = {
        name for name, targets in graph().items() if any(within(t, ("dlrun.commands", "dlrun.cli")) for t in targets)
    }
    assert importers <= {"dlrun.cli", "dlrun.__main__"} | {n for n in importers if n.startswith("dlrun.commands")}


def test_the_top_level_holds_the_entry_points_and_packages_only():
    loose = {p.stem for p in SRC.glob("*.py")} - TOP_LEVEL_MODULES
    assert not loose, f"loose modules at the top of src/dlrun: {sorted(loose)}; move each into its package"


def test_a_circle_is_found_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
