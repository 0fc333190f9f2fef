"""The compiled build (``sim/compiled.py``, ``setup.py``) runs the same simulator, only faster.

* CI runs the compiled build (``.ci/run`` sets ``MSGSIM_REQUIRE_COMPILED``), so every other test
  of the suite checks it; this file also runs the stored-output scenarios (every preset strategy,
  queue mode, the simulated day) as pure Python in a second process: both builds must give the
  stored numbers and messages to the last bit, and the same whole history.
* An extension whose source changed since it was compiled is never used: its ``.py`` runs
  instead.
"""

from __future__ import annotations

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
