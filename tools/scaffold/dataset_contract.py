"""A first contract for a team's own dataset, told from the data: what ``make project DATA=...``
writes into the new project's ``contract.py`` for the user to edit.

Each column gets a kind (``int``, ``float``, ``bool``, ``datetime`` or ``str``) and whether any
value is missing; the target decides the task (classification for text, true/false or a few
whole numbers; regression otherwise); every other column becomes a feature unless it cannot be
one as it stands (a date, an identifier-like text column, a column with no values), and those
are listed with the reason, so the user sees what was left out and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stages.core.errors import StageError
from stages.core.io import file_format, read_csv_as_strings, table_files

TASKS = ("classification", "regression")
# A whole-number target with at most this many distinct values is read as classes.
MAX_CLASSES = 20
# A text column with more distinct values than this (and than half the rows) names rows rather
# than grouping them: an identifier, not a category.
MAX_CATEGORIES = 50
# Fewer rows than this cannot fill a train, a valid and a test split worth the name.
MIN_ROWS = 30


class DatasetError(Exception):
    """The dataset cannot start a project as asked; the message says why, in one line."""


@dataclass(frozen=True)
class ColumnPlan:
    """One column of the dataset as found: its kind, whether a value is missing, its number of
    distinct values, and why it is not a feature (empty when it is one)."""

    name: str
    kind: str
    nullable: bool
    distinct: int
    left_out: str = ""


@dataclass(frozen=True)
class ContractPlan:
    """The contract of a dataset: its columns, the target, the task, the features and the split
    columns (``date_column`` and ``key_column``, empty when not named)."""

    columns: tuple[ColumnPlan, ...]
    target: str
    task: str
    rows: int
    date_column: str = ""
    key_column: str = ""
    classes: tuple[str, ...] = field(default=())
    # The share of the labelled rows in the most common class (classification): the accuracy of
    # always guessing it, the floor of the project's gate.
    majority_share: float = 0.0
    # A column whose rows the intervals resample together (``make project GROUP=``), or ''.
    group_column: str = ""
    # Where a time split first cuts (valid from, test from): the dates 60% and 80% of the way
    # through the rows, as ISO dates.
    date_cuts: tuple[str, str] = ("", "")

    def column(self, name: str) -> ColumnPlan:
        """The column called ``name``."""
        return next(column for column in self.columns if column.name == name)

    @property
    def categorical(self) -> list[str]:
        """The text features, in the data's column order."""
        return [c.name for c in self._features() if c.kind == "str"]

    @property
    def numeric(self) -> list[str]:
        """The number and true/false features, in the data's column order."""
        return [c.name for c in self._features() if c.kind != "str"]

    @property
    def left_out(self) -> list[ColumnPlan]:
        """The columns that are not features, and not the target, with why."""
        return [c for c in self.columns if c.left_out and c.name != self.target]

    def _features(self) -> list[ColumnPlan]:
        return [c for c in self.columns if not c.left_out and c.name != self.target]


def text_kind(values: pd.Series) -> str:
    """The kind of a column read as text: ``bool`` (true/false in any case, none missing),
    ``int``, ``float``, ``datetime`` (ISO 8601 dates) or ``str``."""
    present = values.dropna()
    if present.empty:
        return "str"
    lowered = present.str.strip().str.lower()
    if lowered.isin(["true", "false"]).all():
        return "bool" if len(present) == len(values) else "str"
    numbers = pd.to_numeric(present.str.strip(), errors="coerce")
    if numbers.notna().all():
        whole = (numbers == numbers.round()).all() and not present.str.contains(r"[.eE]").any()
        return "int" if whole else "float"
    if present.str.contains(r"^\d{4}-\d{2}-\d{2}").all():
        dates = pd.to_datetime(present, utc=True, format="ISO8601", errors="coerce")
        if dates.notna().all():
            return "datetime"
    return "str"


def arrow_kind(arrow_type: pa.DataType) -> str:
    """The contract kind of a Parquet column's type; ``str`` for text and anything else."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    return "str"


def read_columns(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every row of the dataset at ``path`` (a file or a folder of files), and each column's
    kind: CSV is read as text and its kinds told from the values, Parquet's from its types.
    DatasetError naming the file when it cannot be read or the files disagree on columns."""
    frames, kinds = [], {}
    try:
        for item in table_files(path):
            if file_format(item) == "csv":
                frame = next(read_csv_as_strings(item, str(item)))
                found = {name: text_kind(frame[name]) for name in frame.columns}
            else:
                with item.open("rb") as handle:
                    table = pq.read_table(handle)
                frame = table.to_pandas()
                # Text columns are told from their values, as a CSV's: the readers parse them.
                found = {
                    f.name: arrow_kind(f.type) if arrow_kind(f.type) != "str" or
                    not _is_text(f.type) else text_kind(frame[f.name].astype("str"))
                    for f in table.schema
                }  # fmt: skip
            if kinds and list(found) != list(kinds):
                raise DatasetError(
                    f"{item}: columns {list(found)} differ from those of the first file "
                    f"({list(kinds)}); a dataset's files share one header"
                )
            # A column read as whole numbers in one file and decimals in another is decimals.
            kinds = {n: _wider(kinds.get(n, kind), kind) for n, kind in found.items()}
            frames.append(frame)
    except StageError as error:
        raise DatasetError(str(error)) from None
    except (OSError, pa.ArrowException) as error:
        raise DatasetError(f"{path}: cannot read: {error}") from None
    return pd.concat(frames, ignore_index=True), kinds


def _is_text(arrow_type: pa.DataType) -> bool:
    """Whether a Parquet column holds text."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _wider(first: str, second: str) -> str:
    """The kind that holds the values of both."""
    if first == second:
        return first
    if {first, second} == {"int", "float"}:
        return "float"
    return "str"


def distinct_values(values: pd.Series) -> int:
    """The number of distinct present values."""
    return int(values.dropna().astype("str").nunique())


def task_of(kind: str, distinct: int) -> str:
    """Classification for text and true/false targets and for whole numbers with at most
    ``MAX_CLASSES`` values; regression for other numbers."""
    if kind in ("str", "bool") or (kind == "int" and distinct <= MAX_CLASSES):
        return "classification"
    return "regression"


def why_not_a_feature(column: ColumnPlan, rows: int, date: str, key: str) -> str:
    """Why a column cannot be a feature as it stands, or ''."""
    if column.name == date:
        return "the date the time split reads"
    if column.name == key:
        return "the key the stable split hashes"
    if column.distinct == 0:
        return "no value in any row"
    if column.kind == "datetime":
        return "a date or time: derive features from it in prepare.py (the day of week, say)"
    if column.kind == "str" and column.distinct > max(MAX_CATEGORIES, rows // 2):
        return (
            f"{column.distinct:,} distinct values in {rows:,} rows: an identifier, not a category"
        )
    if column.distinct == 1:
        return "one value in every row: nothing to learn from"
    return ""


def plan_contract(
    path: Path, target: str, task: str = "", date: str = "", key: str = "", group: str = ""
) -> ContractPlan:
    """The contract of the dataset at ``path`` for predicting ``target``: DatasetError, naming
    the column or the value at fault, when it cannot be one."""
    frame, kinds = read_columns(path)
    for role, name in (("TARGET", target), ("DATE", date), ("KEY", key), ("GROUP", group)):
        if name and name not in kinds:
            raise DatasetError(
                f"{role}={name}: no such column in {path}; its columns are: {', '.join(kinds)}"
            )
    if not target:
        raise DatasetError(
            f"TARGET=<column> is needed: the columns of {path} are {', '.join(kinds)}"
        )
    if date and kinds[date] != "datetime":
        raise DatasetError(
            f"DATE={date}: column '{date}' of {path} does not hold ISO 8601 dates (2024-03-31) "
            "in every row; name a date column, or leave DATE out for a random split"
        )
    if len({target, date, key} - {""}) < len([n for n in (target, date, key) if n]):
        raise DatasetError("TARGET, DATE and KEY must name different columns")
    if group and group in (target, key):
        role = "target" if group == target else "key"
        raise DatasetError(
            f"GROUP={group}: the intervals cannot resample by the {role}; name a column that "
            "several rows share (a store, a patient, a region)"
        )
    rows = len(frame)
    labelled = int(frame[target].notna().sum())
    if labelled < MIN_ROWS:
        raise DatasetError(
            f"{path}: {labelled} rows have a value of '{target}'; at least {MIN_ROWS} are needed "
            "to train, validate and test"
        )
    distinct = {name: distinct_values(frame[name]) for name in kinds}
    found_task = task_of(kinds[target], distinct[target])
    if task and task not in TASKS:
        raise DatasetError(f"TASK={task}: use one of {', '.join(TASKS)}")
    if task == "regression" and kinds[target] not in ("int", "float"):
        raise DatasetError(
            f"TASK=regression: '{target}' holds {kinds[target]} values, not numbers; use "
            "TASK=classification or another target"
        )
    task = task or found_task
    classes: tuple[str, ...] = ()
    majority = 0.0
    if task == "classification":
        labels = frame[target].dropna().astype("str")
        classes = tuple(sorted(labels.unique()))
        majority = float(labels.value_counts().iloc[0] / len(labels))
        if len(classes) < 2:
            raise DatasetError(f"TARGET={target}: every row holds '{classes[0]}'; nothing to learn")
    columns = []
    for name, kind in kinds.items():
        plan = ColumnPlan(name, kind, bool(frame[name].isna().any()), distinct[name])
        columns.append(
            ColumnPlan(plan.name, plan.kind, plan.nullable, plan.distinct,
                       why_not_a_feature(plan, rows, date, key))
        )  # fmt: skip
    cuts = ("", "")
    if date:
        dates = pd.to_datetime(frame[date], utc=True, format="ISO8601", errors="coerce").dropna()
        valid_from, test_from = (dates.quantile(q).strftime("%Y-%m-%d") for q in (0.6, 0.8))
        if not valid_from < test_from:
            raise DatasetError(f"DATE={date}: too few distinct dates to split by time")
        cuts = (valid_from, test_from)
    plan = ContractPlan(
        tuple(columns), target, task, rows, date, key, classes, majority, group, cuts
    )
    if not plan.categorical and not plan.numeric:
        raise DatasetError(f"{path}: no column but '{target}' can be a feature")
    return plan
