"""Event-id tables: they behave as the dict and the list they replace, for ids of any form."""

from __future__ import annotations

from array import array

from hypothesis import example, given
from hypothesis import strategies as st

from sim.check.reads import LastReads
from sim.core import eids
from sim.core.eids import Checksum, CreationOrder, IdList, IdMap, IdTimes, name, split
from sim.model.producer.database import BusinessRows

#: ids of the run's form, and of others (tests name events freely)
ids = st.one_of(
    st.builds(name, st.integers(0, 3), st.integers(0, 3000)),
    st.builds(name, st.integers(0, 3), st.integers(2**25, 10**12 - 1)),  # kept in the dict
    st.sampled_from(["e1", "p", "p-1", "p1-", "p01-2", "p1-02", "px-1", "p1-2-3", "p²-1"]),
    st.text(max_size=6),
)


def test_split_reads_back_what_name_writes() -> None:
    assert split(name(3, 12345)) == (3, 12345)
    assert split(name(0, 0)) == (0, 0)
    for other in ("e1", "", "p", "p1-02", "p01-2", "p1-x", "p²-1", "q1-2", "p1-2-3"):
        assert split(other) is None, other


def test_split_gives_the_same_whether_it_remembers_the_id_or_parses_it() -> None:
    # name() hands its ids to split's memory, which forgets them two generations later
    made = [name(i % 3, i) for i in range(3 * eids._RECENT)]
    remembered = [split(eid) for eid in reversed(made)]  # the oldest forgotten meanwhile
    assert remembered == [(i % 3, i) for i in reversed(range(3 * eids._RECENT))]
    assert split("p999999-999999999999") == (999_999, 999_999_999_999)
    assert split(name(10**6, 1)) is None and split(name(1, 10**12)) is None


def test_the_last_id_kept_in_an_array_and_the_first_kept_in_the_dict() -> None:
    # (once, not per example: an array reaching j = 2**25 - 1 holds 128 MB)
    table = IdMap()
    below, above = name(1, 2**25 - 1), name(1, 2**25)
    table[below], table[above] = 3, 4
    table.add(below, 1)
    assert (table[below], table[above], len(table)) == (4, 4, 2)
    codes = dict((eid, code) for code, eid in IdList([below, above]).pairs())
    assert table.at(codes[below]) == 4 and table.at(codes[above]) == 4
    del table[below]
    assert below not in table and dict(table) == {above: 4}


#: values of every width a column takes (a byte, two, four)
values = st.one_of(st.integers(0, 9), st.sampled_from([253, 254, 255, 65_534, 65_535, 2**31 - 2]))


@given(st.lists(st.tuples(st.sampled_from(["set", "del", "add"]), ids, values)))
@example([("set", "p0-0", 2**31 - 2), ("add", "p0-0", 1)])  # 2**31 - 1 stored as 2**31
def test_an_id_map_behaves_as_a_dict(steps: list[tuple[str, str, int]]) -> None:
    table, expected = IdMap(), {}
    for action, eid, value in steps:
        if action == "set":
            table[eid] = expected[eid] = value
        elif action == "add":
            table.add(eid, value)
            expected[eid] = expected.get(eid, 0) + value
        elif eid in expected:
            del table[eid]
            del expected[eid]
        assert (eid in table) == (eid in expected)
    assert len(table) == len(expected)
    assert dict(table) == expected
    codes = dict((eid, code) for code, eid in IdList(expected).pairs() if code >= 0)
    assert {eid: table.at(code) for eid, code in codes.items()} == {
        eid: expected[eid] for eid in codes
    }
    assert sorted(table) == sorted(expected)
    reference = Checksum()
    for eid, value in expected.items():
        reference.add(eid, value)
    assert table.checksum() == reference


@given(st.lists(ids), st.integers(0, 30))
def test_an_id_list_behaves_as_a_list(eids: list[str], keep: int) -> None:
    table = IdList(eids)
    assert list(table) == eids and len(table) == len(eids)
    assert [table[i] for i in range(len(eids))] == eids
    assert [eid for _, eid in table.pairs()] == eids
    table.truncate(keep)
    assert list(table) == eids[:keep]
    table.append("p1-7")
    assert list(table) == [*eids[:keep], "p1-7"]


def test_an_id_map_costs_a_few_bytes_an_event() -> None:
    table = IdMap()
    for j in range(100_000):
        table[name(0, j)] = 1
    columns = table._columns.values()
    assert sum(column.buffer_info()[1] * column.itemsize for column in columns) < 1.2 * 100_000
    table[name(0, 5)] = 300  # the column widens: two bytes an event, the values kept
    assert table[name(0, 5)] == 300 and table[name(0, 6)] == 1 and len(table) == 100_000
    assert sum(column.itemsize for column in table._columns.values()) == 2


@given(
    st.lists(
        st.one_of(
            ids,
            st.builds(name, st.integers(0, 2), st.integers(0, 6)),  # in turn, often
            st.builds(name, st.integers(250, 300), st.integers(0, 2)),  # past a byte's numbers
        )
    )
)
def test_creation_order_gives_back_the_ids_and_codes_an_id_list_gives(eids: list[str]) -> None:
    order = CreationOrder()
    for eid in eids:
        order.append(eid)
    assert len(order) == len(eids) and list(order) == eids
    codes = [code for code, _ in IdList(eids).pairs()]
    got = [code for code, _ in order.pairs()]
    assert [c for c in got if c >= 0] == [c for c in codes if c >= 0]
    assert [c < 0 for c in got] == [c < 0 for c in codes]


def test_creation_order_keeps_a_byte_for_an_id_in_turn() -> None:
    order = CreationOrder()
    for j in range(1000):
        order.append(name(j % 3, j // 3))
    assert len(order._producers) == 1000 and not order._others


@given(
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.integers(0, 2**15 - 1),
            st.one_of(st.integers(0, 1000), st.integers(2**31 - 2, 2**40)),
        )
    )
)
def test_last_reads_behave_as_a_dict_of_offsets(puts: list[tuple[int, int, int]]) -> None:
    """LastReads (the checker's last reader of each record) keeps what a dict keeps, in six
    bytes a record until a position passes 2**31."""
    table, expected = LastReads(), {}
    for offset, code, seq in puts:
        table.put(offset, code, seq)
        expected[offset] = (code, seq)
    assert {o: table.get(o) for o in range(-1, 42)} == {o: expected.get(o) for o in range(-1, 42)}
    if all(seq < 2**31 for _, _, seq in puts):
        assert table.seqs.itemsize == 4


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "del"]),
            ids,
            st.one_of(st.floats(allow_nan=False), st.just(float("nan")), st.just(-0.0)),
        )
    )
)
def test_id_times_behave_as_a_dict(steps: list[tuple[str, str, float]]) -> None:
    table, expected = IdTimes(), {}
    for action, eid, t in steps:
        if action == "set":
            table[eid] = expected[eid] = t
        elif eid in expected:
            del table[eid]
            del expected[eid]
        assert (eid in table) == (eid in expected)
        assert len(table) == len(expected)
    for eid, t in expected.items():
        got = table[eid]
        assert repr(got) == repr(t)  # the same float, nan and -0.0 included


def test_business_rows_keep_each_rows_state() -> None:
    rows = BusinessRows()
    rows["p0-1"] = "open"
    rows["p0-2"] = "committed"
    rows["x"] = "open"
    rows["p0-3"] = "aborted"
    assert rows.open_ids() == ["p0-1", "x"] and len(rows) == 4
    rows["p0-1"] = "committed"
    rows["p0-3"] = "open"
    assert [rows.get(e) for e in ("p0-1", "p0-2", "p0-3", "x", "p9-9")] == [
        "committed",
        "committed",
        "open",
        "open",
        None,
    ]
    assert rows.open_ids() == ["p0-3", "x"] and len(rows) == 4


def test_a_checksum_read_a_chunk_at_a_time_is_the_whole_ones(monkeypatch) -> None:
    table, reference = IdMap(), Checksum()
    for j in range(0, 1000, 7):
        table[name(j % 3, j)] = j % 300
        reference.add(name(j % 3, j), j % 300)
    whole = table.checksum()
    monkeypatch.setattr(eids, "_CHUNK", 5)
    assert table.checksum() == whole == reference


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 10**12 - 1), st.integers(1, 9))))
def test_a_checksum_added_by_codes_is_the_one_added_id_by_id(rows) -> None:
    by_id, by_codes = Checksum(), Checksum()
    for i, j, n in rows:
        by_id.add(name(i, j), n)
    by_codes.add_codes(
        array("Q", [i << 40 | j for i, j, _ in rows]), array("Q", [n for *_, n in rows])
    )
    assert by_codes == by_id


@given(st.lists(st.tuples(ids, st.integers(1, 9), st.booleans())))
def test_a_checksum_takes_back_what_it_added(rows) -> None:
    """Adding every id, then removing some, is adding only the others; merging two checksums
    is adding both tables' ids to one."""
    kept, added, other = Checksum(), Checksum(), Checksum()
    for eid, n, stays in rows:
        added.add(eid, n)
        if stays:
            kept.add(eid, n)
        else:
            other.add(eid, n)
    both = Checksum()
    both.merge(kept)
    both.merge(other)
    assert both == added
    for eid, n, stays in rows:
        if not stays:
            added.remove(eid, n)
    assert added == kept


@given(st.lists(ids, max_size=20))
def test_code_of_is_the_code_an_id_list_makes(eids_: list[str]) -> None:
    made = IdList()
    for eid in eids_:
        made.append(eid)
    for code, eid in made.pairs():
        assert eids.code_of(eid) == (code if code >= 0 else -1)
