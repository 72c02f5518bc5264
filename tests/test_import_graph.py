"""The import graph: imports point down the layers, and nothing imports in a circle.

Every module's imports are read with ``ast`` (anywhere in the module: a function-level import
is still an arrow, so it cannot hide a circle). A module may import its own package and the
packages of its layer or below, never above; no two modules, and no two packages, may import
each other round a circle. docs/architecture.md draws the same layers.

A new top-level package or module needs a place in ``LAYERS``: the test names it. Management
commands are entry points and sit at the top whatever their package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "leadsieve"
SKIPPED_DIRS = {"migrations", "__pycache__", "tests"}

# Bottom first. A name is a top-level package or module of ``leadsieve`` (``leads``), or a
# dotted module inside one (``config.urls``) when that module sits apart from its package:
# the longest match wins. Names of one layer may import each other (without a circle).
LAYERS: tuple[tuple[str, ...], ...] = (
    # Infrastructure: settings and their parsers, the database backend, the task queue.
    ("engine", "config", "worker_processes", "background"),
    ("accounts",),
    ("leads",),  # the lead, capture, import, dedupe, merge; scoped lead reads
    ("scoring",),
    ("routing",),  # routing, deadlines (deadline tables) and their breaches
    ("cadences",),
    ("stages",),  # stage moves, closing, booking: they may end a cadence
    ("segments", "pipeline"),  # saved lead filters; the path of a lead on arrival
    ("webforms", "api", "reports"),
    ("intake",),
    # The top floor: pages, operations, the demo, the project's URLs and entry points.
    (
        "workspace",
        "teamsettings",
        "insights",
        "ops",
        "demo",
        "cli",
        "config.urls",
        "config.asgi",
        "config.wsgi",
        # The API's routes: like config.urls, they mount the endpoints of every concept.
        "api.api",
        "api.urls",
        # The insights reports as JSON: an API module that reads a top-floor concept.
        "api.insights",
    ),
)


def list_modules(root: Path = ROOT / PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (``leadsieve.leads.models``)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if SKIPPED_DIRS.intersection(parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported_names(module: str, path: Path) -> Iterable[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def read_imports(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from x import name`` counts as ``x``
    unless ``x.name`` is a module)."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        for name in _imported_names(module, path):
            while name and name not in modules:
                name = name.rsplit(".", 1)[0] if "." in name else ""
            if name and name != module:
                graph[module].add(name)
    return graph


def layer_of(module: str) -> tuple[int, str] | None:
    """The layer index and the ``LAYERS`` name that places ``module`` (longest match).

    A management command (``<package>.management...``) is an entry point, like a page: it
    sits in the top layer, under its package's name plus ``.management``.
    """
    relative = module.removeprefix(f"{PACKAGE}.")
    package, _, rest = relative.partition(".")
    if rest == "management" or rest.startswith("management."):
        return (len(LAYERS) - 1, f"{package}.management")
    best: tuple[int, str] | None = None
    for index, names in enumerate(LAYERS):
        for name in names:
            matches = relative == name or relative.startswith(f"{name}.")
            if matches and (best is None or len(name) > len(best[1])):
                best = (index, name)
    return best


def find_circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """Each import of a module placed above the importer, as "a (layer) -> b (layer)"."""
    found = []
    for module in sorted(graph):
        here = layer_of(module)
        for target in sorted(graph[module]):
            there = layer_of(target)
            if here is None or there is None or here[1] == there[1]:
                continue
            if there[0] > here[0]:
                found.append(f"{module} ({here[1]}) -> {target} ({there[1]})")
    return found


def package_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The graph between the names of ``LAYERS`` (packages, and modules placed apart)."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        here = layer_of(module)
        if here is None:
            continue
        edges = packages.setdefault(here[1], set())
        for target in targets:
            there = layer_of(target)
            if there is not None and there[1] != here[1]:
                edges.add(there[1])
    return packages


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return read_imports(list_modules())


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    unplaced = sorted(m for m in graph if m != PACKAGE and layer_of(m) is None)
    assert not unplaced, f"add these to LAYERS in tests/test_import_graph.py: {unplaced}"


def test_no_module_imports_a_layer_above_it(graph: dict[str, set[str]]) -> None:
    upward = upward_imports(graph)
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle(graph: dict[str, set[str]]) -> None:
    circles = find_circles(graph)
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_no_packages_import_each_other_in_a_circle(graph: dict[str, set[str]]) -> None:
    circles = find_circles(package_graph(graph))
    assert not circles, "package circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_no_top_level_packages_import_each_other_in_a_circle(
    graph: dict[str, set[str]],
) -> None:
    """The plain view (``import_cycles.py --packages``): every module counts for its own
    top-level package, management commands and modules placed apart included."""

    def top(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = packages.setdefault(top(module), set())
        edges.update(top(t) for t in targets if top(t) != top(module))
    circles = find_circles(packages)
    assert not circles, "package circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


# --- The checks themselves: they must catch what they are for --------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / PACKAGE


def test_it_reports_an_upward_import_naming_both_modules(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "leads/__init__.py": "",
            "leads/views.py": "def f():\n    from leadsieve.workspace.views import page\n",
            "workspace/__init__.py": "",
            "workspace/views.py": "from leadsieve.leads.models import Lead\npage = Lead\n",
            "leads/models.py": "Lead = 1\n",
        },
    )
    graph = read_imports(list_modules(package))
    assert upward_imports(graph) == [
        "leadsieve.leads.views (leads) -> leadsieve.workspace.views (workspace)"
    ]


def test_it_reports_a_circle_of_relative_imports(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "scoring/__init__.py": "",
            "scoring/a.py": "from . import b\n",
            "scoring/b.py": "from .c import x\n",
            "scoring/c.py": "from leadsieve.scoring.a import y\nx = 1\n",
        },
    )
    graph = read_imports(list_modules(package))
    assert find_circles(graph) == [
        ["leadsieve.scoring.a", "leadsieve.scoring.b", "leadsieve.scoring.c"]
    ]
    assert upward_imports(graph) == []


def test_it_reports_a_circle_between_packages_of_one_layer(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "webforms/__init__.py": "",
            "webforms/x.py": "from leadsieve.api import y\n",
            "api/__init__.py": "",
            "api/y.py": "z = 1\n",
            "api/z.py": "from leadsieve.webforms import x\n",
        },
    )
    graph = read_imports(list_modules(package))
    assert find_circles(graph) == []
    assert find_circles(package_graph(graph)) == [["api", "webforms"]]


def test_a_module_placed_apart_takes_its_own_layer() -> None:
    top = len(LAYERS) - 1
    assert layer_of("leadsieve.config.urls") == (top, "config.urls")
    assert layer_of("leadsieve.api.api") == (top, "api.api")
    assert layer_of("leadsieve.api.schemas") == (top - 2, "api")
    assert layer_of("leadsieve.leads.management.commands.import_leads") == (
        top,
        "leads.management",
    )
    assert layer_of("leadsieve.config.settings") == (0, "config")
    assert layer_of("leadsieve.configuration") is None
