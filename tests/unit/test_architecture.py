"""The shape of the package, checked: layers import only downwards, the domain is pure, files stay small.

The rules are the drawing of docs/architecture.md written as data. A new package must be
given its place here before it can import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "subkit"

DOMAIN = {"core", "catalog", "customer", "invoice", "usage", "tax", "fx", "subscription", "payment"}
DOMAIN_ALL = DOMAIN | {"revenue", "analytics"}
DOMAIN_ALL |= {"integration"}  # event catalog, webhook signatures (pure)

#: package -> the packages it may import (besides itself). ``errors`` is the bottom layer.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "money": {"errors", "core"},  # subkit.money: the top-level money module (re-exports core.money)
    "core": {"errors"},
    "catalog": {"errors", "core"},
    "customer": {"errors", "core"},
    "invoice": {"errors", "core", "catalog"},
    "usage": {"errors", "core", "catalog"},
    "fx": {"errors", "core"},
    "tax": {"errors", "core", "catalog", "customer", "invoice"},
    "subscription": {"errors", "core", "catalog", "customer", "invoice", "usage", "tax", "fx"},
    "payment": {"errors", "core", "customer", "invoice", "subscription"},
    "revenue": {"errors"} | DOMAIN,
    "analytics": {"errors", "revenue"} | DOMAIN,
    "integration": {"errors", "core"},
    "ports": {"errors"} | DOMAIN_ALL,
    "adapters": {"errors", "ports"} | DOMAIN_ALL,
    "services": {"errors", "ports"} | DOMAIN_ALL,
    "testing": {"errors", "ports", "adapters", "services"} | DOMAIN_ALL,
    "entrypoints": {"errors", "ports", "adapters", "services", "testing"} | DOMAIN_ALL,
}

#: The imports that cross the rule above, each named with its target modules. The customer
#: portal's default invoice download is the library's one HTML layout (docs/architecture.md,
#: "Rendering"), laid out by renderer modules that are pure: values in, a string out.
CROSSINGS: dict[str, set[str]] = {
    "subkit.services.portal": {"subkit.adapters.render.document", "subkit.adapters.render.html"},
}

#: Names a pure domain module must not import: I/O, databases, the network, the wall clock.
IMPURE_MODULES = {
    "os",
    "io",
    "pathlib",
    "socket",
    "sqlite3",
    "sqlalchemy",
    "psycopg",
    "urllib",
    "http",
    "time",
}
#: Calls that read the wall clock or touch files.
IMPURE_CALLS = {"now", "utcnow", "today", "open", "read_text", "write_text", "time"}
#: The one domain module allowed to read the wall clock: the clock itself.
CLOCK_MODULES = {"subkit.core.clock"}

MAX_LINES = 600


def _modules() -> list[tuple[str, str, Path]]:
    """(module name, its layer, path) for every module of the package."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        layer = parts[1] if len(parts) > 1 else "__init__"
        if layer.endswith("__init__") or layer == "__main__":
            continue  # the top-level re-exports and `python -m subkit` may import anything
        found.append((name, layer, path))
    return found


MODULES = _modules()


def _imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


def test_every_package_has_a_place_in_the_layers() -> None:
    layers = {layer for _, layer, _ in MODULES}
    assert layers - set(ALLOWED) == set(), "give new packages a place in ALLOWED and docs/architecture.md"


@pytest.mark.parametrize(("name", "layer", "path"), MODULES, ids=[m[0] for m in MODULES])
def test_imports_point_downwards(name: str, layer: str, path: Path) -> None:
    wrong = []
    for mod in _imports(ast.parse(path.read_text())):
        if mod.startswith("subkit."):
            target = mod.split(".")[1]
            if target != layer and target not in ALLOWED[layer] and mod not in CROSSINGS.get(name, ()):
                wrong.append(mod)
    assert wrong == [], f"{name} ({layer}) imports {wrong}: layers import only downwards"


@pytest.mark.parametrize(
    ("name", "path"),
    [(n, p) for n, layer, p in MODULES if layer in DOMAIN_ALL and n not in CLOCK_MODULES],
    ids=[n for n, layer, _ in MODULES if layer in DOMAIN_ALL and n not in CLOCK_MODULES],
)
def test_domain_is_pure(name: str, path: Path) -> None:
    tree = ast.parse(path.read_text())
    io = [m for m in _imports(tree) if m.split(".")[0] in IMPURE_MODULES]
    calls = [
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in IMPURE_CALLS)
            or (isinstance(node.func, ast.Name) and node.func.id in IMPURE_CALLS)
        )
    ]
    assert (io, calls) == ([], []), f"{name}: domain code does no I/O and reads no clock"


def _crossed() -> list[str]:
    """The modules a crossing reaches: its targets and the adapter modules they import in turn."""
    todo, seen = sorted(set().union(*CROSSINGS.values())), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            tree = ast.parse((SRC.parent / (name.replace(".", "/") + ".py")).read_text())
            todo.extend(m for m in _imports(tree) if m.startswith("subkit.adapters."))
    return sorted(seen)


@pytest.mark.parametrize("target", _crossed())
def test_what_a_crossing_reaches_is_pure(target: str) -> None:
    # A crossing is allowed only to modules that do no I/O and read no clock, as the domain.
    test_domain_is_pure(target, SRC.parent / (target.replace(".", "/") + ".py"))


def test_no_file_is_over_600_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_rules_catch_a_violation() -> None:
    # The checks above can fail: an upward import and a clock read are both seen.
    tree = ast.parse(
        "from subkit.services.engine import BillingEngine\nfrom datetime import datetime\nx = datetime.now()"
    )
    assert "subkit.services.engine" in _imports(tree)
    assert "services" not in ALLOWED["subscription"]
    assert any(isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "now" for n in ast.walk(tree))
