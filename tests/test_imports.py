"""The import rule (docs/architecture.md, "Packages"): the imports among server/ and rtc/ form
no circle, counting imports inside functions (a circle held together by a late import is still
a circle) and those under ``if TYPE_CHECKING:`` (a circle of annotations is a circle too: the
modules that need each other's shape say it with a small ``Protocol`` instead); server/'s
packages import only the layers below them; and no module imports another one's private name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each layer may import itself and the layers before it; rtc/ stands apart and below all.
LAYERS = (
    "rtc",
    "server.platform",
    "server.db",
    "server.accounts",
    "server.counseling",
    "server.sessions",
    "server.live",
    "server.records",
    "server",  # the top: the app, the command line, serve, metrics
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for top in ("server", "rtc"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module, names) for each import of a known module in this file, wherever it stands."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [alias.name for alias in node.names]
            submodules = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in known]
            if node.module in known:
                found.append((node.module, [n for n in names if f"{node.module}.{n}" not in known]))
            found.extend((sub, []) for sub in submodules)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names if alias.name in known)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m, _ in imports(path, known)} - {name} for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def layer(module: str) -> int:
    """The index in LAYERS of the longest prefix that holds this module; the root package
    itself (``server/__init__.py``) holds only the version, which every layer may read."""
    if module == "server":
        return 0
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS.index(max(matches, key=len))


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_packages_import_only_the_layers_below() -> None:
    upward = [
        f"{a} imports {b}" for a, targets in graph().items() for b in targets if layer(b) > layer(a)
    ]
    assert upward == []


def test_no_module_imports_another_ones_private_names() -> None:
    known = modules()
    private = [
        f"{name} imports {module}.{n}"
        for name, path in known.items()
        for module, names in imports(path, known)
        for n in names
        if n.startswith("_") and not n.endswith("__") and module != name
    ]
    assert private == []


def test_the_rule_sees_a_circle() -> None:
    """The check itself: a circle made of a late import is found."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_started_server_holds_neither_the_pdf_library_nor_alembic(tmp_path: Path) -> None:
    """fpdf and the image libraries it brings (about 20 MB of RSS) load with the first PDF
    report, not with the server; Alembic, mako and pygments (about 18 MB) only in the child
    process that migrates at start (docs/performance.md, "Memory"). The probe starts the app as
    ``lingkar serve`` does, on a new data directory, and looks at what it has loaded."""

    probe = f"""
import asyncio, sys
from pathlib import Path
from aiohttp import web
from server.app import create_app
from server.db.database import MIGRATED, migrate_in_child
from server.platform.settings import Settings

async def main():
    settings = Settings(data_dir=Path({str(tmp_path)!r}))
    await migrate_in_child(settings)
    app = create_app(settings)
    app[MIGRATED] = True
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        tops = {{m.split(".")[0] for m in sys.modules}}
        print(sorted(tops & {{"fpdf", "PIL", "alembic", "mako", "pygments"}}))
    finally:
        await runner.cleanup()

asyncio.run(main())
"""
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert shown == "[]", f"loaded at start: {shown}"
