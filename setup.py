"""The compiled build (see ``sim/compiled.py``): Cython compiles the run's hot modules from their
own ``.py`` files. Everything else about the package is in ``pyproject.toml``.

* ``MSGSIM_PURE=1`` at install time compiles nothing (a pure-Python install).
* Without Cython or a C compiler the package installs as pure Python (each extension is
  optional), and says so.
* ``make build`` (``python setup.py build_ext --inplace``) compiles again what changed since.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("_msgsim_compiled", HERE / "sim" / "compiled.py")
assert _spec is not None and _spec.loader is not None
compiled = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compiled)


SOURCES = {compiled.module_name(p, HERE / "sim"): p for p in compiled.sources(HERE / "sim")}
"""Module name -> its ``.py`` file, for every module compiled."""


def _translate_changed_again(build_dir: Path) -> None:
    """Drop the generated C of every module whose source or ``.pxd`` changed since it was
    compiled (by the in-place build's record), so Cython translates it again: Cython compares
    the times of the files a module still depends on, and would miss a removed ``.pxd``."""
    if not compiled.MANIFEST.exists():  # no build yet: no generated C to drop
        return
    recorded = compiled.recorded()
    for name, path in SOURCES.items():
        if recorded.get(name) != compiled.digest(path):
            generated = build_dir / path.relative_to(HERE).with_suffix(".c")
            generated.unlink(missing_ok=True)


def extensions() -> list[Extension]:
    if os.environ.get(compiled.PURE) == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("msgsim: Cython is not installed: installing as pure Python", file=sys.stderr)
        return []
    # A C double operation rounds as Python's float does only if the compiler fuses none of
    # them (an FMA rounds once): the same results on any machine and with any CFLAGS.
    flags = [] if sys.platform == "win32" else ["-ffp-contract=off"]
    modules = [
        Extension(  # optional: with no compiler, that module stays Python
            name, [path.relative_to(HERE).as_posix()], optional=True, extra_compile_args=flags
        )
        for name, path in SOURCES.items()
    ]
    _translate_changed_again(HERE / "build" / "cython")
    return cythonize(  # type: ignore[no-any-return]
        modules,
        language_level=3,
        build_dir="build/cython",  # the generated C stays out of the package
        nthreads=os.cpu_count() or 1,
        quiet=True,
        compiler_directives={
            "binding": True,  # functions keep Python's introspection (signatures, __dict__)
            "annotation_typing": False,  # annotations are documentation, as in Python
            "embedsignature": True,
            "warn.unreachable": False,  # `return` then `yield`: a generator that yields nothing
        },
    )


class BuildExt(build_ext):
    """Builds the extensions on every core, then records the sources of those it built."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not getattr(self, "parallel", None):
            self.parallel = os.cpu_count() or 1

    def copy_file(self, infile: str, outfile: str, *args: Any, **kwargs: Any) -> tuple[str, bool]:
        """Into place through a temporary name and a rename: a process running the old
        extension keeps its file (overwriting a loaded shared object can crash it)."""
        partial = f"{outfile}.tmp"
        _, copied = super().copy_file(infile, partial, *args, **kwargs)
        os.replace(partial, outfile)
        return outfile, copied

    def run(self) -> None:
        super().run()
        if not self.extensions:  # a pure-Python install: what was compiled before stands
            return
        into = Path("." if self.inplace else self.build_lib) / "sim" / "compiled.json"
        built = [
            SOURCES[ext.name]
            for ext in self.extensions
            if Path(self.get_ext_fullpath(ext.name)).exists()
        ]
        compiled.write_manifest(built, HERE / "sim", into)
        print(f"msgsim: {len(built)} of {len(self.extensions)} modules compiled", file=sys.stderr)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
