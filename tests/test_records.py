"""A partition's columnar log gives back exactly the records stored in it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.model.broker.records import RecordLog
from sim.model.messages import Record

records = st.lists(
    st.tuples(
        st.one_of(st.builds("p{}-{}".format, st.integers(0, 2), st.integers(0, 99)), st.text()),
        st.one_of(st.integers(0, 70_000), st.integers(-(2**40), 2**40)),  # two bytes, eight
        st.integers(0, 3),
        st.floats(0, 1e6),
        st.floats(0, 10),
        st.booleans(),
    ),
    max_size=30,
)


@given(records, st.integers(0, 30), records)
def test_a_record_log_behaves_as_a_list_of_records(first, keep, then) -> None:
    """Append, index, slice and cut the tail, with one partition or several (a log holds one
    partition's records, but the columns do not rely on it)."""
    log, expected, ever = RecordLog(), [], []

    def append(rows) -> None:
        for eid, key, part, created, process, poison in rows:
            rec = Record(eid, key, part, created, process, len(expected), poison)
            log.append(rec)
            expected.append(rec)
            ever.append(key)

    append(first)
    assert list(log) == expected and len(log) == len(expected)
    assert log[1:4] == expected[1:4]
    if expected:
        assert log[-1] == expected[-1] and log[0] == expected[0]
    del log[keep:]
    del expected[keep:]
    assert list(log) == expected
    append(then)
    assert list(log) == expected
    if all(0 <= k < 2**16 for k in ever):  # (a widened column stays wide when cut)
        assert log.keys.itemsize == 2
