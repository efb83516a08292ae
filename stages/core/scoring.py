"""A project's scoring as the service holds it, and the rows of a request checked against the
project's contract with the core's own messages.

Each project's ``stages.<project>.score`` module gives ``scoring(root, model_path) ->
Scoring``: its model loaded with everything its scores read (for ``late``: the published
schedule and the side tables of ``root``), and the one function that scores checked rows, the
one its batch command runs too. The service (``stages.core.service``) holds one ``Scoring`` at a
time and swaps it whole when a new version is promoted.

Rows arrive as JSON records (a list of objects) or as a CSV body. Both end in
``stages.core.tables.parse_table``, the path a CSV file of the batch command takes, so the same
rows give the same typed frame, hence the same scores to the last bit. A missing, extra or
wrongly typed field is refused naming the row and the field.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stages.core.errors import StageError
from stages.core.io import read_csv_as_strings
from stages.core.tables import DATE_COLUMNS, SchemaError, TableSchema, check_dates, parse_table


@dataclass(frozen=True)
class ScoredRows:
    """One output row per input row, in input order, and what was scored anyway (one line per
    kind, as the batch command warns)."""

    predictions: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scoring:
    """A loaded model ready to score: the columns each row must hold, and the function from
    checked rows to their predictions."""

    project: str
    schema: TableSchema
    score: Callable[[pd.DataFrame], ScoredRows]


# What a JSON value of each contract kind may be (None, JSON's null, is checked by the
# contract's nullability). A bool is refused where a number is due: JSON says true, not 1.
JSON_KINDS: dict[str, tuple[type, ...]] = {
    "int": (int, float),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "datetime": (str,),
}
JSON_TYPE_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
                   list: "a list", dict: "an object"}  # fmt: skip


def _json_type(value: Any) -> str:
    """How JSON names the type of ``value``."""
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _fits(value: Any, kind: str) -> bool:
    """Whether a JSON value can stand in a column of ``kind``."""
    if value is None:
        return True
    if isinstance(value, bool):
        return kind == "bool"
    return isinstance(value, JSON_KINDS[kind])


def _as_text(value: Any) -> str | None:
    """A JSON value as a CSV would write it: ``repr`` of a float is the shortest text that reads
    back to the same bits."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def check_record_fields(records: Any, schema: TableSchema, source: str) -> None:
    """SchemaError naming the first row that is not an object of exactly the ``schema`` fields,
    each of a JSON type its column can hold."""
    if not isinstance(records, list):
        raise SchemaError(
            f"{source}: expected a JSON list of rows (objects of {list(schema)}), got "
            f"{_json_type(records)}"
        )
    if not records:
        raise SchemaError(f"{source}: the table has no rows")
    expected = set(schema)
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            raise SchemaError(f"{source}: row {row} is {_json_type(record)}, not an object")
        missing = [name for name in schema if name not in record]
        if missing:
            raise SchemaError(f"{source}: row {row} lacks fields {missing}")
        extra = sorted(set(record) - expected)
        if extra:
            raise SchemaError(
                f"{source}: row {row} has fields the contract does not know: {extra}; send "
                f"only {list(schema)}"
            )
        for name, column in schema.items():
            value = record[name]
            if not _fits(value, column.kind):
                shown = repr(value)[:40]
                raise SchemaError(
                    f"{source}: row {row}, field '{name}' must be {column.kind}, got "
                    f"{_json_type(value)} ({shown})"
                )


def _checked(raw: pd.DataFrame, schema: TableSchema, source: str, row_label: str) -> pd.DataFrame:
    """Rows of text parsed and checked as a batch file's are: types, rules, then dates."""
    frame = parse_table(raw, schema, source, row_label=row_label)
    if set(DATE_COLUMNS) <= set(frame.columns):
        check_dates(frame, source, row_label)
    return frame.reset_index(drop=True)


def rows_from_records(records: Any, schema: TableSchema, source: str) -> pd.DataFrame:
    """The rows of a JSON list of records, typed and checked against ``schema`` exactly as the
    batch command checks a CSV file's rows; SchemaError naming the row (from 0) and field."""
    check_record_fields(records, schema, source)
    raw = pd.DataFrame(
        {name: [_as_text(record[name]) for record in records] for name in schema}, dtype=object
    )
    raw.index = pd.RangeIndex(len(records), name="row")
    return _checked(raw, schema, source, "row")


def rows_from_csv(body: bytes, schema: TableSchema, source: str) -> pd.DataFrame:
    """The rows of a CSV body, read and checked as the batch command reads a CSV file (line
    numbers in messages, line 1 the header); a column the contract does not know is refused."""
    if not body.strip():
        raise StageError(f"{source}: the body is empty")
    raw = next(read_csv_as_strings(io.BytesIO(body), source, compression=None))
    extra = [name for name in raw.columns if name not in schema]
    if extra:
        raise SchemaError(
            f"{source}: columns the contract does not know: {extra}; send only {list(schema)}"
        )
    return _checked(raw, schema, source, "lines")
