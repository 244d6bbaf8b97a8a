"""The package's import layers, checked: no import cycle and no import from a lower layer to a higher one.

    python tools/layers.py            # prints the layer map and every violation; exit 1 if any

Layers, lowest first (a module may import from its own layer and the ones before it). Every import
counts, including the ones inside functions (they are where start-up time is saved, not where
design rules stop):

    core      errors, paths, atomic, registry, defaults, decision, imageio, metrics, results, onnxsession
    align     detection, landmarks, alignment, framing
    degrade   resolution reduction, camera-like degradations
    models    networks, shipped / published weights, SR, export
    data      datasets, pair lists, the crop cache
    recognize recognizer, routing, embeddings, calibration, operating points, quality
    search    gallery, meet-in-the-middle matcher, fusion
    video     scan and tracking
    eval      benchmarks and reports
    train     recipes, heads, losses, objectives, the engine (its callbacks evaluate: above eval)
    make      generators of test data and benchmarks
    api       the facade (``lrface/api.py``, re-exported by ``lrface/__init__.py``)
    service   lrface over HTTP (``lrface serve``)
    cli       the command-line client
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

LAYERS = ("core", "align", "degrade", "models", "data", "recognize", "search", "video", "eval", "train", "make",
          "api", "service", "cli")
CORE = {"errors", "paths", "atomic", "registry", "defaults", "decision", "imageio", "metrics", "results", "onnxsession",
        "__main__"}
SRC = Path(__file__).resolve().parent.parent / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    top = parts[1]
    if top in CORE:
        return "cli" if top == "__main__" else "core"
    if top not in LAYERS:
        raise SystemExit(f"{module}: top-level name {top!r} is in no layer (add it to tools/layers.py)")
    return top


def imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports (relative imports resolved; ``from x import y``
    counts y when y is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in sorted((SRC / "lrface").rglob("*.py"))}
    return {m: imports(p, set(files)) for m, p in files.items()}


def upward(g: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    return [f"{m} ({layer_of(m)}) imports {d} ({layer_of(d)})" for m, deps in sorted(g.items()) for d in sorted(deps)
            if rank[layer_of(d)] > rank[layer_of(m)]]


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), ignoring a package's
    ``__init__`` re-exporting its own modules."""
    def deps(m: str) -> set[str]:
        return {d for d in g[m] if not (m.startswith(d + ".") and d in g)}  # a module importing its package's __init__
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in deps(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    g = graph()
    bad = upward(g)
    loops = cycles(g)
    for layer in LAYERS:
        members = sorted(m.removeprefix("lrface.") or "lrface" for m in g if layer_of(m) == layer)
        print(f"{layer:<10} {' '.join(members)}")
    for line in bad:
        print("UPWARD", line)
    for comp in loops:
        print("CYCLE", " <-> ".join(comp))
    print(f"{len(g)} modules, {sum(map(len, g.values()))} imports: {len(bad)} upward, {len(loops)} cycles")
    return 1 if bad or loops else 0


if __name__ == "__main__":
    sys.exit(main())
