"""A part of the checker: one handler per operation it cares about.

A part marks its handlers with :func:`on`; the fold (``fold.py``) calls, for each operation in
history order, the handlers every part registered for it. A handler receives the operation's
position in the history and the operation itself (see ``sim/history/ops.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from ..history.ops import Op, Row

Handler = Callable[[int, Row], None]


def on(*ops: Op) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a method as the part's handler of ``ops``."""

    def mark(fn: Callable[..., None]) -> Callable[..., None]:
        fn.__dict__["_ops"] = ops
        return fn

    return mark


class Part:
    """Base class: collects the methods marked with :func:`on`."""

    def handlers(self) -> dict[Op, Handler]:
        """Each operation's handler: the method marked for it (a subclass's mark wins)."""
        return {op: getattr(self, name) for op, name in marked(type(self)).items()}


_MARKED: dict[type, dict[Op, str]] = {}


def marked(cls: type) -> dict[Op, str]:
    """Operation -> the name of the method of ``cls`` marked to handle it, worked out once a
    class (here, not in ``__init_subclass__``: a compiled part is an extension type, which
    neither runs that hook nor takes attributes of its own)."""
    found = _MARKED.get(cls)
    if found is None:
        found = _MARKED[cls] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                for op in getattr(value, "_ops", ()):
                    found[op] = name
    return found
