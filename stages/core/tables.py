"""Table contracts: a schema is each column's kind and nullability, checked by one function.

Every table that crosses a stage boundary is checked against its schema, so a stage fails on the
file and column at fault instead of deep inside pandas or scikit-learn. The schemas themselves
belong to whoever owns the table: the shared raw data (``stages.raw``) or a project's contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stages.core.errors import StageError

# How many offending rows an error message quotes.
SHOWN_ROWS = 5
# The columns that together name a calendar date, in the tables that have one.
DATE_COLUMNS = ("year", "month", "day")


class SchemaError(StageError):
    """A table does not match its schema."""


@dataclass(frozen=True)
class Column:
    """A column's kind (``int``, ``float``, ``str``, ``bool``, ``datetime``), nullability, and for
    numbers the values it can hold: the range ``low`` to ``high``, and ``clock`` for a time of day
    written HHMM as an integer (0 to 2359, the last two digits below 60). ``hint`` says how a
    value is written, for messages. Numbers are finite."""

    kind: str
    nullable: bool = False
    low: float | None = None
    high: float | None = None
    clock: bool = False
    hint: str = ""

    def rule(self) -> str:
        """The values the column can hold, in words."""
        if self.clock:
            return "a time of day written HHMM as an integer (0 to 2359, minutes below 60)"
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        if self.high is not None:
            return f"at most {self.high:g}"
        return "a finite number"

    def breaks_rule(self, values: pd.Series) -> pd.Series:
        """Which of the (present, numeric) ``values`` the column cannot hold."""
        present = values.notna()
        numbers = values.astype("float64")
        bad = present & ~np.isfinite(numbers.fillna(0.0))
        if self.low is not None:
            bad |= present & (numbers < self.low)
        if self.high is not None:
            bad |= present & (numbers > self.high)
        if self.clock:
            bad |= present & ((numbers < 0) | (numbers > 2359) | (numbers % 100 >= 60))
        return bad


TableSchema = dict[str, Column]


def _quote_rows(rows: pd.Series) -> str:
    """Render the first offending rows as ``N ('value')``, N being the frame's index label."""
    shown = ", ".join(f"{index} ({value!r})" for index, value in rows.head(SHOWN_ROWS).items())
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return shown + more


def _parse_column(raw: pd.Series, column: Column) -> pd.Series:
    """Parse a column of strings into ``column.kind``; unparseable values become missing."""
    if column.kind == "str":
        return raw.astype("str")
    if column.kind == "datetime":
        return pd.to_datetime(raw, utc=True, format="ISO8601", errors="coerce")
    if column.kind == "bool":
        return raw.str.lower().map({"true": True, "false": False})
    return _parse_numbers(raw)


def _parse_numbers(raw: pd.Series) -> pd.Series:
    """Strings to float64, unparseable ones missing. Arrow's cast is some 20 times faster than
    pd.to_numeric on string columns; it refuses a whole column at the first odd value, so the
    slow path then runs to find every bad value (and to accept what pandas accepts, like ' 12')."""
    try:
        values = pc.cast(pa.array(raw, from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pd.to_numeric(raw, errors="coerce").astype("float64")
    return pd.Series(values.to_numpy(zero_copy_only=False), index=raw.index, name=raw.name)


def parse_table(
    raw: pd.DataFrame, schema: TableSchema, source: str, row_label: str = "lines"
) -> pd.DataFrame:
    """Turn a frame of strings read from a text file into typed columns, checked against ``schema``.

    The index of ``raw`` names the rows in messages (``row_label`` says what it counts): the
    caller sets it to file line numbers.
    Columns not in the schema are dropped. Raises SchemaError naming ``source``, the column and
    the first offending lines with their values.
    """
    _check_present(raw, schema, source)
    parsed = {}
    for name, column in schema.items():
        values = _parse_column(raw[name], column)
        unparseable = raw[name].notna() & values.isna()
        if unparseable.any():
            first = _quote_rows(raw[name][unparseable])
            written = f" (written {column.hint})" if column.hint else ""
            raise SchemaError(
                f"{source}: column '{name}' expects {column.kind}{written}; cannot parse "
                f"{int(unparseable.sum())} values, first at {row_label} {first}"
            )
        parsed[name] = values
    return check_table(pd.DataFrame(parsed, index=raw.index), schema, source, row_label=row_label)


# Delimiters a header split on commas may still hold: the file was written with another one.
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def missing_columns_message(source: str, missing: list[str], found: list[str]) -> str:
    """Every column ``source`` lacks, what it has, and a hint when its header looks written with
    another delimiter or the names differ from the expected ones only in case."""
    message = f"{source}: missing columns {missing}; found {found}"
    if len(found) == 1:
        for delimiter, name in OTHER_DELIMITERS.items():
            if delimiter in found[0]:
                return f"{message} (the header looks {name}-separated: write it comma-separated)"
    by_case = {name.lower(): name for name in found}
    renamed = [f"{by_case[name.lower()]} -> {name}" for name in missing if name.lower() in by_case]
    if renamed:
        return f"{message} (names differ only in case; rename {', '.join(renamed)})"
    return message


def _check_present(frame: pd.DataFrame, schema: TableSchema, source: str) -> None:
    """Raise when ``frame`` lacks a schema column or has no rows."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise SchemaError(missing_columns_message(source, missing, list(frame.columns)))
    if frame.empty:
        raise SchemaError(f"{source}: the table has no rows")


def _kind_matches(series: pd.Series, kind: str) -> bool:
    """Whether the dtype of ``series`` can hold values of ``kind``."""
    dtype = series.dtype
    if kind in ("int", "float"):
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if kind == "str":
        return pd.api.types.is_string_dtype(dtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype)
    return isinstance(dtype, pd.DatetimeTZDtype)


def stored_dtype(column: Column) -> str:
    """The dtype a column is stored as: a nullable int as float64, since int64 has no missing."""
    if column.kind == "int":
        return "float64" if column.nullable else "int64"
    return {"float": "float64", "str": "str", "bool": "bool", "datetime": "datetime64[ns, UTC]"}[
        column.kind
    ]


def check_dates(
    frame: pd.DataFrame,
    source: str,
    row_label: str = "rows",
    columns: tuple[str, ...] = DATE_COLUMNS,
) -> None:
    """Raise SchemaError naming ``source`` and the first rows whose year, month and day columns
    do not form a calendar date (30 February)."""
    parts = frame[list(columns)]
    dates = pd.to_datetime(parts.set_axis(["year", "month", "day"], axis=1), errors="coerce")
    invalid = parts.notna().all(axis=1) & dates.isna()
    if invalid.any():
        shown = ", ".join(
            f"{index} ({'-'.join(str(int(v)) for v in row)})"
            for index, row in parts[invalid].head(SHOWN_ROWS).iterrows()
        )
        raise SchemaError(
            f"{source}: columns {list(columns)} do not form a date in {int(invalid.sum())} rows, "
            f"first at {row_label} {shown}"
        )


def check_known_columns(frame: pd.DataFrame, schema: TableSchema, source: str, owner: str) -> None:
    """Raise SchemaError when code built columns that ``schema`` does not know (they would be
    dropped without a word), naming them and ``owner``, the file that declares the schema."""
    unknown = [name for name in frame.columns if name not in schema]
    if unknown:
        raise SchemaError(
            f"{source}: built columns {unknown} that the contract does not know; declare them in "
            f"{owner}, or stop building them"
        )


def check_table(
    frame: pd.DataFrame, schema: TableSchema, source: str, row_label: str = "rows"
) -> pd.DataFrame:
    """Check a typed frame against ``schema``; return its schema columns in their stored dtypes.

    Raises SchemaError naming ``source`` and the column on a missing column, an empty table, a
    wrong type, a missing value in a non-nullable column or an ``int`` that is not whole.
    """
    _check_present(frame, schema, source)
    checked = {}
    for name, column in schema.items():
        values = frame[name]
        if not _kind_matches(values, column.kind):
            raise SchemaError(
                f"{source}: column '{name}' must be {column.kind}, got {values.dtype}"
            )
        missing = values.isna()
        if missing.any() and not column.nullable:
            raise SchemaError(
                f"{source}: column '{name}' has {int(missing.sum())} missing values, first at "
                f"{row_label} {', '.join(map(str, values.index[missing][:SHOWN_ROWS]))}"
            )
        if column.kind in ("int", "float"):
            impossible = column.breaks_rule(values)
            if impossible.any():
                shown = values[impossible]
                if column.kind == "int":  # as written: 25, not the 25.0 a CSV is parsed to
                    shown = shown.map(lambda v: int(v) if float(v).is_integer() else v)
                raise SchemaError(
                    f"{source}: column '{name}' must be {column.rule()}; "
                    f"{int(impossible.sum())} values are not, first at {row_label} "
                    f"{_quote_rows(shown)}"
                )
        if column.kind == "int":
            fractional = values.notna() & (values != np.floor(values))
            if fractional.any():
                raise SchemaError(
                    f"{source}: column '{name}' expects int; {int(fractional.sum())} values are "
                    f"not whole numbers, first at {row_label} {_quote_rows(values[fractional])}"
                )
        checked[name] = values.astype(stored_dtype(column))
    return pd.DataFrame(checked, index=frame.index)
