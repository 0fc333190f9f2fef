"""Link patterns: ``"A->B"`` (directed) or ``"A<->B"`` (both ways), each end a shell glob."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


def parse_link(text: str) -> tuple[str, str, bool]:
    """``"A->B"`` -> (A, B, False); ``"A<->B"`` -> (A, B, True). Patterns are shell globs."""
    if "<->" in text:
        a, b = text.split("<->", 1)
        both = True
    elif "->" in text:
        a, b = text.split("->", 1)
        both = False
    else:
        raise ValueError(
            f"link {text!r} must be written 'A->B' or 'A<->B' "
            "(shell globs allowed, e.g. 'producer-*->broker-0')"
        )
    a, b = a.strip(), b.strip()
    if not a or not b:
        raise ValueError(f"link {text!r} has an empty end")
    return a, b, both


@dataclass(frozen=True)
class LinkPattern:
    """A parsed link pattern: :meth:`matches` tells whether a link ``src->dst`` is in it."""

    src: str
    dst: str
    both: bool

    @classmethod
    def parse(cls, text: str) -> LinkPattern:
        return cls(*parse_link(text))

    def matches(self, src: str, dst: str) -> bool:
        if fnmatch.fnmatchcase(src, self.src) and fnmatch.fnmatchcase(dst, self.dst):
            return True
        return (
            self.both and fnmatch.fnmatchcase(src, self.dst) and fnmatch.fnmatchcase(dst, self.src)
        )


def link_matches(pattern: str, src: str, dst: str) -> bool:
    return LinkPattern.parse(pattern).matches(src, dst)
