"""Schema checks: raw CSV strings parsed into types, and typed frames checked between stages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.core.tables import (
    Column,
    SchemaError,
    check_table,
    missing_columns_message,
    parse_table,
    stored_dtype,
)

SCHEMA = {
    "n": Column("int"),
    "x": Column("float", nullable=True),
    "name": Column("str"),
    "when": Column("datetime"),
}


def strings(**columns: list) -> pd.DataFrame:
    """A frame of strings as ingest reads it, indexed by file line number (header on line 1)."""
    frame = pd.DataFrame(columns, dtype="str")
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def good_strings() -> pd.DataFrame:
    return strings(
        n=["1", "2"], x=["1.5", None], name=["a", "b"],
        when=["2013-01-01T10:00:00Z", "2013-01-01T11:00:00Z"], extra=["p", "q"],
    )  # fmt: skip


def test_parse_table_types_columns_and_drops_extras() -> None:
    table = parse_table(good_strings(), SCHEMA, "t.csv")
    assert list(table.columns) == ["n", "x", "name", "when"]
    assert table["n"].dtype == np.int64
    assert table["x"].dtype == np.float64 and np.isnan(table["x"].iloc[1])
    assert pd.api.types.is_string_dtype(table["name"])
    assert table["when"].iloc[0] == pd.Timestamp("2013-01-01 10:00", tz="UTC")


def test_missing_column_names_file_and_column() -> None:
    with pytest.raises(SchemaError, match=r"t\.csv: missing columns \['name'\]"):
        parse_table(good_strings().drop(columns="name"), SCHEMA, "t.csv")


def test_unparseable_value_names_column_line_and_value() -> None:
    raw = good_strings()
    raw.loc[3, "x"] = "fast"
    with pytest.raises(
        SchemaError,
        match=r"t\.csv: column 'x' expects float; cannot parse 1 values, first at lines 3 \('fast'\)",
    ):
        parse_table(raw, SCHEMA, "t.csv")


def test_bad_timestamp_is_reported() -> None:
    raw = good_strings()
    raw.loc[2, "when"] = "yesterday"
    with pytest.raises(
        SchemaError, match=r"column 'when' expects datetime.*lines 2 \('yesterday'\)"
    ):
        parse_table(raw, SCHEMA, "t.csv")


def test_missing_value_in_required_column_names_line() -> None:
    raw = good_strings()
    raw.loc[3, "n"] = None
    with pytest.raises(SchemaError, match=r"column 'n' has 1 missing values, first at lines 3"):
        parse_table(raw, SCHEMA, "t.csv")


def test_fractional_int_is_reported() -> None:
    raw = good_strings()
    raw.loc[2, "n"] = "1.5"
    with pytest.raises(
        SchemaError, match=r"column 'n' expects int; 1 values are not whole numbers"
    ):
        parse_table(raw, SCHEMA, "t.csv")


def test_empty_table_is_an_error() -> None:
    with pytest.raises(SchemaError, match=r"t\.csv: the table has no rows"):
        parse_table(good_strings().iloc[:0], SCHEMA, "t.csv")


def test_check_table_rejects_wrong_dtype() -> None:
    frame = parse_table(good_strings(), SCHEMA, "t.csv").assign(n=["a", "b"])
    with pytest.raises(SchemaError, match=r"file\.parquet: column 'n' must be int, got str"):
        check_table(frame, SCHEMA, "file.parquet")


def test_check_table_long_error_lists_first_rows_and_count() -> None:
    frame = pd.DataFrame({"n": [0.5] * 8})
    with pytest.raises(SchemaError, match=r"8 values are not whole numbers.*and 3 more"):
        check_table(frame, {"n": Column("int")}, "f")


def test_stored_dtype_of_nullable_int_is_float() -> None:
    assert stored_dtype(Column("int", nullable=True)) == "float64"
    assert stored_dtype(Column("int")) == "int64"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2.5", None, "-3e2"], [1.0, 2.5, np.nan, -300.0]),
        ([" 12", "7"], [12.0, 7.0]),  # the slow path accepts what pandas accepts
    ],
)
def test_numbers_parse_on_both_paths(values: list, expected: list) -> None:
    table = parse_table(
        strings(n=["1"] * len(values), x=values, name=["a"] * len(values),
                when=["2013-01-01T10:00:00Z"] * len(values)),
        SCHEMA, "t.csv",
    )  # fmt: skip
    np.testing.assert_array_equal(table["x"].to_numpy(), np.array(expected))


@pytest.mark.parametrize(
    ("found", "hint"),
    [
        (["year;month;day"], " (the header looks semicolon-separated: write it comma-separated)"),
        (["year\tmonth\tday"], " (the header looks tab-separated: write it comma-separated)"),
        (
            ["YEAR", "Month", "day"],
            " (names differ only in case; rename YEAR -> year, Month -> month)",
        ),
        (["a", "b"], ""),
    ],
)
def test_missing_columns_are_all_named_with_a_hint_when_the_header_says_why(
    found: list[str], hint: str
) -> None:
    missing = [name for name in ("year", "month", "day") if name not in found]
    assert missing_columns_message("in.csv", missing, found) == (
        f"in.csv: missing columns {missing}; found {found}{hint}"
    )
