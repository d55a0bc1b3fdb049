"""The layout holds: an area of the back-office imports web's shared modules, `bots` and
`storage`, never another area; nothing imports the command line; no module imports itself back
through others. Read with `ast`, nothing is run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AREAS = (
    "review",
    "surveys",
    "evaluation",
    "admin",
    "hooks",
    "suggestions",
    "field",
    "public",
    "followup",
    "home",
    "report",
)


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("storage", "bots", "web"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in modules else base)
    return {t for t in out if t in modules and t != name and not name.startswith(t + ".")}


def _area(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "web" and len(parts) > 1 and parts[1] in AREAS + ("cli",):
        return parts[1]
    return None


def test_areas_import_only_shared_modules_and_nothing_imports_the_cli() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        mine = _area(name)
        for target in _imports(name, path, modules):
            theirs = _area(target)
            if name.split(".")[0] in ("bots", "storage") and target.split(".")[0] == "web":
                wrong.append(f"{name} imports web ({target}): arrows go web -> bots -> storage")
            elif theirs == "cli" and mine != "cli":
                wrong.append(f"{name} imports the command line ({target})")
            elif theirs and mine and theirs != mine and mine != "cli":
                wrong.append(f"{name} ({mine}) imports another area: {target}")
            elif theirs and mine is None and name != "web":
                wrong.append(f"{name} (shared, or below web) imports an area: {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_web_holds_only_the_factory_and_shared_modules() -> None:
    flat = sorted(p.name for p in (ROOT / "web").glob("*.py"))
    assert flat == [
        "__init__.py",
        "activity.py",
        "audit_log.py",
        "auth.py",
        "counts.py",
        "db.py",
        "diversity.py",
        "field_figures.py",
        "indicators.py",
        "nav.py",
        "params.py",
        "publication.py",
        "results.py",
        "spreadsheet.py",
        "suivi.py",
        "tables.py",
        "texts.py",
        "theme_state.py",
    ]
