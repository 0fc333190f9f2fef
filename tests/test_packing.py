"""Settled events' states pack column by column and come back exactly."""

from __future__ import annotations

import marshal
import math
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.check.packing import _NAMES, _compress, _transpose, pack, unpack
from sim.check.settled import compact, expand
from sim.check.state import EventState

values = st.one_of(
    st.integers(-(2**63), 2**63),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.nan, 1e-300]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.tuples(st.integers(), st.none()),
)


@st.composite
def batches(draw):
    """Columns mostly of one type each (as in a run: ints, floats, bools, None, strings,
    tuples), with now and then a value of another type in them."""
    n = draw(st.integers(0, 12))
    kinds = [draw(values) for _ in _NAMES]

    def cell(k):
        if draw(st.integers(0, 9)) == 0:
            return draw(values)
        if type(k) is int:
            return k + draw(st.integers(-1000, 1000))
        if type(k) is float:
            return draw(st.floats(allow_nan=True))
        return k

    rows = [tuple(cell(k) for k in kinds) for _ in range(n)]
    ids = draw(st.lists(st.text(max_size=4), min_size=n, max_size=n, unique=True))
    return dict(zip(ids, rows, strict=True))


def _same(a, b) -> bool:
    """Equal values of the same types all the way down (repr tells nan and -0.0 apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(map(_same, a.values(), b.values()))
    return repr(a) == repr(b)


@given(batches())
def test_a_batch_comes_back_exactly(batch) -> None:
    """The same values of the same types, nan and -0.0 included."""
    assert _same(unpack(pack(batch)), batch)


def _event(j: int) -> tuple:
    created = 100.0 + j * 0.0087
    e = EventState(
        seq=19 * j,
        producer=f"producer-{j % 2}",
        key=(j * 7919) % 1000,
        partition=j % 4,
        created_at=created,
    )
    e.copies, e.effects, e.first_effect_at, e.first_effect_seq = 0, 1, created + 0.004, 19 * j + 9
    e.sources = ((("broker-0", j % 4, j // 4, 0), 19 * j + 7, None),)
    e.append_causes = ((19 * j + 3, None),)
    return compact(e)


def test_a_run_like_batch_packs_smaller_than_marshalled_whole() -> None:
    batch = {f"p{j % 2}-{j // 2}": _event(j) for j in range(4096)}
    packed = pack(batch)
    whole = _compress(marshal.dumps(batch))  # the same codec over the tuples marshalled whole
    assert _same(unpack(packed), batch)
    assert len(packed) < 0.8 * len(whole), (len(packed), len(whole))


def test_compact_gives_every_field_in_order_and_expand_takes_it_back() -> None:
    """compact spells the fields out (so the compiled build reads them in C): a field added to
    EventState and not to compact, or two swapped, fails here."""
    names = [f.name for f in fields(EventState)]
    e = EventState(seq=0, producer="p", key=0, partition=0, created_at=0.0)
    for i, name in enumerate(names):
        setattr(e, name, ("value", i))  # every field a different value
    assert compact(e) == tuple(("value", i) for i in range(len(names)))
    assert expand(compact(e)) == e


@given(st.integers(1, 5).flatmap(lambda w: st.lists(st.tuples(*[st.integers()] * w), min_size=1)))
def test_transposing_gives_zips_columns(states: list[tuple[int, ...]]) -> None:
    assert _transpose(states, len(states[0])) == [list(c) for c in zip(*states, strict=True)]


def test_transposing_ragged_states_fails() -> None:
    with pytest.raises(ValueError):
        _transpose([(1, 2), (3,)], 2)
