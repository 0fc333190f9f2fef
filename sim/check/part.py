"""A part of the checker: one handler per operation it cares about.

A part marks its handlers with :func:`on`; the fold (``fold.py``) calls, for each operation in
history order, the handlers every part registered for it. A handler receives the operation's
position in the history and the operation itself (see ``sim/history/ops.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

    _marked: dict[Op, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        marked: dict[Op, str] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                for op in getattr(value, "_ops", ()):
                    marked[op] = name
        cls._marked = marked

    def handlers(self) -> dict[Op, Handler]:
        return {op: getattr(self, name) for op, name in self._marked.items()}
