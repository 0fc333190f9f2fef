"""A run fixes glibc's mmap threshold (its memory, not its results)."""

from __future__ import annotations

import platform
import sys

import pytest

from sim.experiment import allocator


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt",
)
def test_glibc_takes_the_fixed_threshold() -> None:
    assert allocator.fix_mmap_threshold() is True
    assert allocator.fix_mmap_threshold() is True  # once per process, then a no-op


def test_elsewhere_nothing_is_done(monkeypatch) -> None:
    monkeypatch.setattr(allocator, "_fixed", False)
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.fix_mmap_threshold() is False
