"""The compiled build (``sim/compiled.py``, ``setup.py``) runs the same simulator, only faster.

* CI runs the compiled build (``.ci/run`` sets ``MSGSIM_REQUIRE_COMPILED``), so every other test
  of the suite checks it; this file also runs the stored-output scenarios (every preset strategy,
  queue mode, the simulated day) as pure Python in a second process: both builds must give the
  stored numbers and messages to the last bit, and the same whole history.
* An extension whose source changed since it was compiled is never used: its ``.py`` runs
  instead.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sim
from sim import compiled

from .test_stored_outputs import CONFIGS, digest, shortened

ROOT = Path(__file__).resolve().parent.parent
PURE_ENV = {**os.environ, compiled.PURE: "1"}


def _build_in_this_process() -> str:
    importlib.import_module("sim.experiment.run")  # every compilable module a run needs
    return compiled.build()


def test_ci_runs_the_compiled_build() -> None:
    build = _build_in_this_process()
    if os.environ.get("MSGSIM_REQUIRE_COMPILED") == "1":
        assert build == "compiled", compiled.loaded()
    elif build != "compiled":
        pytest.skip(f"the {build} build (no C compiler or Cython at install)")
    assert all(compiled.loaded().values())


def test_msgsim_pure_runs_every_module_from_its_source() -> None:
    code = (
        "import sim.experiment.run, sim.compiled as c, json; "
        "print(json.dumps([c.build(), len(c.loaded())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=PURE_ENV, capture_output=True, text=True, check=True
    )
    build, count = json.loads(out.stdout)
    assert build == "pure" and count == len(compiled.sources())


def test_the_pure_build_gives_the_stored_outputs_too() -> None:
    """The stored outputs pass in this process (the compiled build, on CI); here they must pass
    in a process that runs every module from its ``.py``."""
    if _build_in_this_process() != "compiled":
        pytest.skip("this process runs pure Python already")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
         "tests/test_stored_outputs.py"],
        cwd=ROOT, env=PURE_ENV, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert f"{len(CONFIGS)} passed" in out.stdout


HISTORY = """
import json, sys
import sim
from tests.test_stored_outputs import digest
data = json.loads(sys.stdin.read())
res = sim.run(data, workers=1, progress=False)
print(digest(res.events), len(res.events))
"""


@pytest.mark.parametrize("name", ["compare_semantics", "database_publishing", "queue_mode"])
def test_both_builds_record_the_same_whole_history(name: str) -> None:
    """Operation by operation (trace ``full``): the same history in both builds."""
    if _build_in_this_process() != "compiled":
        pytest.skip("this process runs pure Python already")
    (path,) = [p for p in CONFIGS if p.stem == name]
    data = shortened(path)
    data["trace"] = "full"
    as_built = {k: v for k, v in os.environ.items() if k != compiled.PURE}
    runs = {}
    for build, env in (("compiled", as_built), ("pure", PURE_ENV)):
        out = subprocess.run(
            [sys.executable, "-c", HISTORY], input=json.dumps(data), env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        runs[build] = out.stdout.split()
    assert runs["compiled"] == runs["pure"]
    assert int(runs["pure"][1]) > 1000  # a real history, not two empty ones
    res = sim.run(data, workers=1, progress=False)  # and this process agrees with both
    assert digest(res.events) == runs["pure"][0]


# The finder, on a package of its own: an extension file that is not a valid one fails to
# import, so a module imports at all only if its .py was chosen.


def _fake_package(tmp_path: Path, name: str) -> tuple[Path, Path]:
    root = tmp_path / name
    (root / "model").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "model" / "__init__.py").write_text("")
    source = root / "model" / "hot.py"
    source.write_text("VALUE = 'from source'\n")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (root / "model" / f"hot{suffix}").write_bytes(b"not a shared object")
    return root, source


def _manifest(tmp_path: Path, table: dict[str, str]) -> Path:
    path = tmp_path / "compiled.json"
    path.write_text(json.dumps(table))
    return path


def test_an_extension_compiled_from_this_source_is_used(tmp_path: Path) -> None:
    root, source = _fake_package(tmp_path, "fresh_pkg")
    manifest = _manifest(tmp_path, {"fresh_pkg.model.hot": compiled.digest(source)})
    assert compiled.from_source(False, root, manifest) == ({}, [])
    chosen, _ = compiled.from_source(True, root, manifest)  # MSGSIM_PURE=1
    assert chosen == {"fresh_pkg.model.hot": source}


def test_a_stale_extension_is_passed_over_for_its_source(tmp_path: Path) -> None:
    root, source = _fake_package(tmp_path, "stale_pkg")
    old = hashlib.sha256(b"VALUE = 'compiled'\n").hexdigest()
    manifest = _manifest(tmp_path, {"stale_pkg.model.hot": old})
    chosen, stale = compiled.from_source(False, root, manifest)
    assert stale == ["stale_pkg.model.hot"] and chosen == {"stale_pkg.model.hot": source}
    # no manifest at all (an extension of unknown origin): stale too
    assert compiled.from_source(False, root, tmp_path / "absent.json")[1] == stale

    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError):  # the bogus extension, as Python would load it
            importlib.import_module("stale_pkg.model.hot")
        sys.modules.pop("stale_pkg.model.hot", None)
        with pytest.warns(RuntimeWarning, match="make build"):
            compiled.install(root, manifest)
        assert importlib.import_module("stale_pkg.model.hot").VALUE == "from source"
    finally:
        sys.path.remove(str(tmp_path))
        sys.meta_path[:] = [
            f for f in sys.meta_path
            if not (isinstance(f, compiled.SourceFinder) and f.root == root)
        ]  # fmt: skip
        for name in [m for m in sys.modules if m.startswith("stale_pkg")]:
            del sys.modules[name]


def test_the_manifest_is_written_whole(tmp_path: Path) -> None:
    root, source = _fake_package(tmp_path, "manifest_pkg")
    into = tmp_path / "out" / "compiled.json"
    compiled.write_manifest([source], root, into)
    assert json.loads(into.read_text()) == {"manifest_pkg.model.hot": compiled.digest(source)}
    assert [p.name for p in into.parent.iterdir()] == ["compiled.json"]  # no temporary left


def test_an_extension_built_against_a_module_run_from_source_runs_from_source(
    tmp_path: Path,
) -> None:
    """``hot.pxd`` cimports ``base.pxd``: when ``base`` runs from its source (its class is a
    Python class), ``hot``'s extension, built against base's extension type, cannot load."""
    root, hot = _fake_package(tmp_path, "cimport_pkg")
    base = root / "model" / "base.py"
    base.write_text("class Base:\n    pass\n")
    (root / "model" / "base.pxd").write_text("cdef class Base:\n    pass\n")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (root / "model" / f"base{suffix}").write_bytes(b"not a shared object")
    pxd = "from .base cimport Base\n\ncdef class Hot(Base):\n    pass\n"
    hot.with_suffix(".pxd").write_text(pxd)
    assert compiled.cimported(hot) == [base]
    fresh = {
        "cimport_pkg.model.hot": compiled.digest(hot),
        "cimport_pkg.model.base": compiled.digest(base),
    }
    assert compiled.from_source(False, root, _manifest(tmp_path, fresh)) == ({}, [])
    old_base = fresh | {"cimport_pkg.model.base": hashlib.sha256(b"old").hexdigest()}
    chosen, stale = compiled.from_source(False, root, _manifest(tmp_path, old_base))
    assert set(chosen) == set(stale) == {"cimport_pkg.model.base", "cimport_pkg.model.hot"}
    (root / "model" / f"base{suffix}").unlink()  # base was not compiled at all (optional)
    chosen, stale = compiled.from_source(False, root, _manifest(tmp_path, fresh))
    assert set(chosen) == set(stale) == {"cimport_pkg.model.hot"}


def test_a_changed_pxd_makes_its_extension_stale(tmp_path: Path) -> None:
    root, source = _fake_package(tmp_path, "pxd_pkg")
    before = compiled.digest(source)
    source.with_suffix(".pxd").write_text("cdef class Hot:\n    cdef public object a\n")
    assert compiled.digest(source) != before
    manifest = _manifest(tmp_path, {"pxd_pkg.model.hot": before})
    assert compiled.from_source(False, root, manifest)[1] == ["pxd_pkg.model.hot"]


# Extension types: a class a .pxd declares (``cdef class``) keeps its attributes in a C struct
# and has no instance dict unless it declares one, so an attribute its .py sets but its .pxd
# does not declare would fail only in the compiled build, and only when that line runs.


def _declared() -> dict[tuple[Path, str], tuple[set[str], bool]]:
    """(source, class) -> (attributes its .pxd declares, whether it keeps an instance dict)."""
    out: dict[tuple[Path, str], tuple[set[str], bool]] = {}
    bases: dict[str, str] = {}
    for source in compiled.sources():
        pxd = source.with_suffix(".pxd")
        if not pxd.exists():
            continue
        current = None
        for line in pxd.read_text().splitlines():
            words = line.split()
            if line.startswith("cdef class "):
                head = line[len("cdef class ") :].split(":")[0]
                current = head.split("(")[0].strip()
                out[(source, current)] = (set(), False)
                if "(" in head:
                    bases[current] = head.split("(")[1].rstrip(")").strip()
            elif line and not line[0].isspace():  # the class's block is over
                current = None
            elif current is not None and words[:1] == ["cdef"]:
                attrs, has_dict = out[(source, current)]
                if words[1:3] == ["dict", "__dict__"]:
                    out[(source, current)] = (attrs, True)
                else:  # cdef [public|readonly] <type, maybe of two words> name, name, ...
                    rest = words[1:]
                    if rest[0] in ("public", "readonly"):
                        rest = rest[1:]
                    attrs.update(n.split()[-1] for n in " ".join(rest).split(","))
    # an extension type has its bases' fields too (Producer has Node's, Envelope has Call's)
    by_name = {name: attrs for (_, name), (attrs, _) in out.items()}
    for (_, name), (attrs, _) in out.items():
        base = bases.get(name)
        while base in by_name:
            attrs |= by_name[base]
            base = bases.get(base)
    return out


def _assigned(source: Path, name: str) -> tuple[set[str], set[str]]:
    """The attributes the methods of class ``name`` assign on ``self``, and the names its body
    assigns at class level."""
    tree = ast.parse(source.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    on_self: set[str] = set()
    for node in ast.walk(cls):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if (
                    isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "self"
                ):
                    on_self.add(t.attr)
    # a dataclass's annotated names are its fields (set by its __init__; a default is the
    # field's, not a class attribute, in a compiled dataclass as in Python's)
    dataclass = any("dataclass" in ast.unparse(d) for d in cls.decorator_list)
    if dataclass:
        on_self |= {
            n.target.id
            for n in cls.body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            and "ClassVar" not in ast.unparse(n.annotation)
        }  # fmt: skip
    in_body = {
        t.id
        for n in cls.body
        if isinstance(n, (ast.Assign, ast.AnnAssign))
        and not (dataclass and isinstance(n, ast.AnnAssign))
        for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
        if isinstance(t, ast.Name) and (isinstance(n, ast.Assign) or n.value is not None)
    }
    return on_self, in_body


def test_every_attribute_an_extension_type_sets_is_declared() -> None:
    declared = _declared()
    assert len(declared) >= 20  # the .pxd files are found and read
    for (source, name), (attrs, has_dict) in declared.items():
        on_self, in_body = _assigned(source, name)
        if not has_dict:
            assert on_self <= attrs, (source.name, name, sorted(on_self - attrs))
        # a class attribute of the same name would hide the struct's field
        assert not (in_body & attrs), (source.name, name, sorted(in_body & attrs))
    # nor may a subclass's (a node's: Broker of Node) hide one of its base's fields
    fields = {name: attrs for (_, name), (attrs, _) in declared.items()}
    subclasses = 0
    for source in compiled.sources():
        for cls in ast.parse(source.read_text()).body:
            if not isinstance(cls, ast.ClassDef):
                continue
            for base in cls.bases:
                if isinstance(base, ast.Name) and base.id in fields:
                    subclasses += 1
                    _, in_body = _assigned(source, cls.name)
                    hidden = in_body & fields[base.id]
                    assert not hidden, (source.name, cls.name, sorted(hidden))
    assert subclasses >= 5


def test_the_declared_classes_are_extension_types_in_the_compiled_build() -> None:
    if _build_in_this_process() != "compiled":
        pytest.skip("the pure build")
    heap_type = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement at run time
    for (source, name), _ in _declared().items():
        cls = getattr(importlib.import_module(compiled.module_name(source)), name)
        assert not cls.__flags__ & heap_type, f"{name} of {source.name} is a Python class"
