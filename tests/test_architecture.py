"""The shape of the package, read from its source: layers, no import cycles, no branches on
strategies in the model, short functions, and docstrings that cite files that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

import sim
from sim.core import strategies
from sim.history.ops import VOCABULARY, Op

SIM = Path(sim.__file__).resolve().parent
ROOT = SIM.parent

#: What each layer may import besides itself (the top: api, cli, __init__, __main__, anything).
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "config": {"core"},
    "history": {"core"},
    "model": {"history", "config", "core"},
    "check": {"history", "core"},
    "experiment": {"model", "check", "history", "config", "core"},
    "report": {"experiment", "check", "history", "config", "core"},
}
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SIM.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Every sim module ``name`` imports, anywhere in the file (``TYPE_CHECKING`` included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sim"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            elif node.module and node.module.startswith("sim"):
                target = node.module
            else:
                continue
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and m != name}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for name, path in modules().items():
        mine = layer(name)
        if mine is None:
            continue
        for target in imports(name, path):
            theirs = layer(target)
            if theirs is None or (theirs != mine and theirs not in LAYERS[mine]):
                wrong.append(f"{name} ({mine}) imports {target} ({theirs or 'top'})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_among_sim_modules() -> None:
    graph = nx.DiGraph()
    for name, path in modules().items():
        graph.add_node(name)
        for target in imports(name, path):
            graph.add_edge(name, target)
    cycles = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, cycles


CHOICES = {
    *strategies.PRESETS,
    *strategies.PUBLISHERS,
    *strategies.COUPLINGS,
    *strategies.COMMIT_MODES,
    "log",
    "queue",
    "fsync",
    "interval",
    "memory",
    "block",
    "reject",
    "drop-oldest",
} - {"none"}


def test_no_model_code_branches_on_a_strategy_coupling_commit_mode_broker_mode_or_durability() -> (
    None
):
    """Behaviours are looked up in registries (dicts); nothing in the model compares a
    strategy, coupling, commit mode, broker mode, durability or overflow name."""
    found = []
    for path in sorted((SIM / "model").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                for const in ast.walk(node):
                    if isinstance(const, ast.Constant) and const.value in CHOICES:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {const.value!r}")
    assert not found, "\n".join(found)


def test_no_function_in_sim_is_longer_than_60_lines() -> None:
    long = []
    for path in sorted(SIM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length}")
    assert not long, "\n".join(long)


CITATION = re.compile(r"``?((?:sim|tests|docs|experiments|benchmarks)/[\w/.-]+\.(?:py|md|yaml))``?")


def test_docstrings_cite_files_that_exist() -> None:
    missing = []
    for path in sorted(SIM.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                continue
            doc = ast.get_docstring(node) or ""
            for cited in CITATION.findall(doc):
                if not (ROOT / cited).exists():
                    missing.append(f"{path.relative_to(ROOT)} cites {cited}")
    assert not missing, "\n".join(missing)


def test_every_operation_is_declared_once_with_its_fields() -> None:
    assert set(VOCABULARY) == set(Op)
    for op, spec in VOCABULARY.items():
        assert spec.says, op
        assert spec.detail_type in (str, int, float, tuple), op


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_layer_says_what_it_may_import(name: str) -> None:
    doc = ast.get_docstring(ast.parse((SIM / name / "__init__.py").read_text())) or ""
    assert "May import" in doc
