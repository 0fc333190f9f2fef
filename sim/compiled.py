"""The compiled build: the run's hot modules compiled by Cython from their own ``.py`` source.

Installing the package (``pip install``, so ``make run`` and ``make test``) compiles the modules
of :data:`PACKAGES` to extension modules (``setup.py``), from the very files that run as pure
Python elsewhere (the way pydantic 1.x shipped): no ``.pyx``, no second copy of the model. A
run gives the same results either way, to the last bit (``tests/test_compiled.py`` runs the
stored-output scenarios both ways); the compiled build is only faster. Where there is no C
compiler, the package installs and runs as pure Python.

Python loads an extension module before a ``.py`` of the same name, so an extension must never
outlive its source. ``setup.py`` records each compiled source's SHA-256 in :data:`MANIFEST`,
and :func:`install` (run by ``import sim``) puts a finder first on ``sys.meta_path`` that loads
the ``.py`` instead of the extension for every module whose source changed since it was
compiled (with a warning: ``make build`` compiles them again), and for every module when
``MSGSIM_PURE=1``. :func:`loaded` tells which modules a process runs compiled.

This module imports nothing of ``sim``: ``setup.py`` loads it by path, before anything else of
the package can be imported.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent
"""The ``sim`` package's folder."""

PACKAGES = ("core", "history", "model", "check")
"""The layers a run spends its time in (every module of them, below ``sim``)."""

EXCLUDED = frozenset({"core/distributions.py"})
"""Left as Python: pydantic models, whose methods must stay plain functions for pydantic to
tell them from fields (what a run calls to draw is in ``core/draws.py``, compiled)."""

MANIFEST = ROOT / "compiled.json"
"""Module name -> SHA-256 of the source it was compiled from (written by ``setup.py``)."""

PURE = "MSGSIM_PURE"
"""``MSGSIM_PURE=1``: run every module from its ``.py`` (at build time: compile nothing)."""


def sources(root: Path = ROOT) -> list[Path]:
    """The ``.py`` files compiled: every module of :data:`PACKAGES` (their ``__init__.py``
    stay Python), in a fixed order."""
    found: list[Path] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if path.name != "__init__.py" and relative not in EXCLUDED:
                found.append(path)
    return found


def module_name(path: Path, root: Path = ROOT) -> str:
    """``sim/model/network.py`` -> ``sim.model.network``."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join((root.name, *parts))


def digest(path: Path) -> str:
    """SHA-256 of what the module is compiled from: its ``.py`` and, if it has one, the
    ``.pxd`` beside it (which makes some of its classes extension types)."""
    h = hashlib.sha256(path.read_bytes())
    pxd = path.with_suffix(".pxd")
    if pxd.exists():
        h.update(b"\0pxd\0" + pxd.read_bytes())
    return h.hexdigest()


_CIMPORT = re.compile(r"^\s*from\s+(\.+)([\w.]*)\s+cimport\b", re.MULTILINE)


def cimported(path: Path) -> list[Path]:
    """The sources whose ``.pxd`` the ``.pxd`` of ``path`` cimports (relative cimports, the
    only ones the package uses): an extension built against their types can run only beside
    their own extensions."""
    pxd = path.with_suffix(".pxd")
    if not pxd.exists():
        return []
    found = []
    for dots, dotted in _CIMPORT.findall(pxd.read_text()):
        base = path.parent
        for _ in range(len(dots) - 1):
            base = base.parent
        found.append(base.joinpath(*dotted.split(".")).with_suffix(".py"))
    return found


def write_manifest(built: Sequence[Path], root: Path, into: Path) -> None:
    """Record the sources of the extensions just built (``setup.py``), through a temporary
    name and a rename."""
    table = {module_name(p, root): digest(p) for p in sorted(built)}
    into.parent.mkdir(parents=True, exist_ok=True)
    partial = into.with_name(into.name + ".tmp")
    partial.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    os.replace(partial, into)


def recorded(manifest: Path = MANIFEST) -> dict[str, str]:
    """What ``manifest`` says each module was compiled from (name -> :func:`digest`); empty
    when there is no manifest or it cannot be read."""
    try:
        return json.loads(manifest.read_text()) if manifest.exists() else {}  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def _extension(path: Path) -> Path | None:
    """The extension module compiled from ``path`` for this interpreter, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = path.with_name(path.stem + suffix)
        if candidate.exists():
            return candidate
    return None


class SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of :attr:`modules` as their ``.py``, ahead of their extensions."""

    def __init__(self, modules: dict[str, Path], root: Path = ROOT) -> None:
        self.modules = modules
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.modules.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def from_source(
    pure: bool, root: Path = ROOT, manifest: Path = MANIFEST
) -> tuple[dict[str, Path], list[str]]:
    """The modules of the package at ``root`` to load from their ``.py`` (name -> file): all
    that have an extension when ``pure``, else those whose source is not the one ``manifest``
    says they were compiled from, and those whose ``.pxd`` cimports one of them or a module
    with no extension (built against an extension type that will be a Python class). The
    second list names them (stale extensions)."""
    compiled_from = recorded(manifest)
    chosen: dict[str, Path] = {}
    stale: list[str] = []
    fresh: dict[str, Path] = {}
    python: set[str] = set()
    """The modules that will run as Python: those with no extension, and those chosen."""
    for path in sources(root):
        name = module_name(path, root)
        if _extension(path) is None:
            python.add(name)
        elif pure or compiled_from.get(name) != digest(path):
            chosen[name] = path
            python.add(name)
            if not pure:
                stale.append(name)
        else:
            fresh[name] = path
    # An extension built against an extension type of a module that runs as Python cannot
    # load: it runs from its source too (and so may others built against it in turn).
    against = (
        {name: {module_name(d, root) for d in cimported(p)} for name, p in fresh.items()}
        if python
        else {}
    )
    changed = True
    while changed:
        changed = False
        for name, deps in against.items():
            path = fresh[name]
            if name not in python and deps & python:
                chosen[name] = path
                stale.append(name)
                python.add(name)
                changed = True
    return chosen, stale


def install(root: Path = ROOT, manifest: Path = MANIFEST) -> None:
    """Put a :class:`SourceFinder` first on ``sys.meta_path`` (once a process) for the modules
    that must run from source; warn about stale extensions."""
    if any(isinstance(f, SourceFinder) and f.root == root for f in sys.meta_path):
        return
    chosen, stale = from_source(os.environ.get(PURE) == "1", root, manifest)
    sys.meta_path.insert(0, SourceFinder(chosen, root))
    if stale:
        warnings.warn(
            f"{len(stale)} module(s) of msgsim changed since they were compiled, or were "
            "compiled against one that did or was not compiled "
            f"({', '.join(stale[:3])}{', ...' if len(stale) > 3 else ''}): they run from "
            "their source, with the same results more slowly, until `make build` compiles "
            "them again",
            RuntimeWarning,
            stacklevel=3,
        )


def loaded() -> dict[str, bool]:
    """Each compilable module imported so far -> whether it runs compiled."""
    names = {module_name(p) for p in sources()}
    out: dict[str, bool] = {}
    for name in sorted(names):
        module = sys.modules.get(name)
        if module is not None:
            origin = getattr(module, "__file__", "") or ""
            out[name] = not origin.endswith(".py")
    return out


def build() -> str:
    """``compiled`` (every compilable module imported so far runs compiled), ``pure`` (none
    does) or ``mixed``: what a benchmark or a bug report should say it ran."""
    flags = set(loaded().values())
    if flags == {True}:
        return "compiled"
    if flags == {False} or not flags:
        return "pure"
    return "mixed"
