"""Atomic writes: a failed write leaves the previous output and no temporary files."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.core.io import (
    read_csv_as_strings,
    read_dataset,
    read_table,
    table_files,
    to_json_bytes,
    write_json,
    write_parquet_dir,
)
from stages.core.tables import Column, SchemaError


def test_write_json_is_stable_and_sorted(tmp_path: Path) -> None:
    path = tmp_path / "m" / "metrics.json"
    write_json(path, {"b": 1, "a": {"d": 2.5, "c": 1}})
    assert path.read_text() == '{\n  "a": {\n    "c": 1,\n    "d": 2.5\n  },\n  "b": 1\n}\n'
    assert json.loads(path.read_text()) == {"a": {"c": 1, "d": 2.5}, "b": 1}


def test_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        to_json_bytes({"x": float("nan")})


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"old": 1})
    with pytest.raises(ValueError):
        write_json(path, {"new": float("nan")})
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_parquet_round_trip_is_byte_stable(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    write_parquet_dir(tmp_path / "out", {"one": frame, "two": frame})
    assert (tmp_path / "out" / "one.parquet").read_bytes() == (
        tmp_path / "out" / "two.parquet"
    ).read_bytes()


def test_parquet_dir_replaced_whole_and_kept_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    write_parquet_dir(out, {"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"x": [2]})})
    write_parquet_dir(out, {"a": pd.DataFrame({"x": [3]})})
    assert sorted(p.name for p in out.iterdir()) == ["a.parquet"]

    class Unwritable:
        def to_parquet(self, *args: object, **kwargs: object) -> None:
            raise OSError("disk full")

    with pytest.raises(StageError, match=r"raw: cannot write \(disk full\)"):
        write_parquet_dir(out, {"a": pd.DataFrame({"x": [4]}), "b": Unwritable()})  # type: ignore[dict-item]
    assert pd.read_parquet(out / "a.parquet")["x"].tolist() == [3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_read_table_names_missing_file_and_column(tmp_path: Path) -> None:
    schema = {"x": Column("int"), "y": Column("str")}
    with pytest.raises(SchemaError, match=r"t\.parquet: file not found"):
        read_table(tmp_path / "t.parquet", schema)
    write_parquet_dir(tmp_path, {"t": pd.DataFrame({"x": [1]})})
    with pytest.raises(SchemaError, match=r"t\.parquet: missing columns \['y'\]"):
        read_table(tmp_path / "t.parquet", schema)


def test_an_overwritten_output_keeps_its_permission_bits(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_json(path, {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    write_json(path, {"a": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"a": 2}


def test_an_output_that_cannot_be_written_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StageError, match=r"file/out\.json: cannot write: .*file is a file, not a"):
        write_json(tmp_path / "file" / "out.json", {"a": 1})
    with pytest.raises(StageError, match=r"file/raw: cannot write: .*file is a file, not a"):
        write_parquet_dir(tmp_path / "file" / "raw", {"a": pd.DataFrame({"x": [1]})})
    (tmp_path / "out.json").mkdir()
    with pytest.raises(StageError, match=r"out\.json: is a directory"):
        write_json(tmp_path / "out.json", {"a": 1})


def test_a_csv_header_naming_a_column_twice_is_refused_for_paths_and_handles(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,a,b,c\n1,2,3,4,5\n")
    message = (
        "t.csv: the header names a column more than once: 'a' (2 times), 'b' (2 times); keep "
        "one of each (rename or drop the others)"
    )
    with pytest.raises(StageError, match=re.escape(message)):
        list(read_csv_as_strings(path, "t.csv"))
    with path.open("rb") as handle, pytest.raises(StageError, match=re.escape(message)):
        list(read_csv_as_strings(handle, "t.csv", compression=None))


def test_a_handle_is_read_whole_after_its_header_is_checked(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with path.open("rb") as handle:
        (frame,) = read_csv_as_strings(handle, "t.csv", compression=None)
    assert frame.to_dict("list") == {"a": ["1", "3"], "b": ["2", "4"]}


SCHEMA = {"size": Column("float", nullable=True), "kind": Column("str")}


def test_a_dataset_is_a_file_or_a_folder_of_csv_and_parquet_files_in_name_order(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "measurements"
    folder.mkdir()
    (folder / "a.csv").write_text("size,kind,extra\n1.5,x,1\nNA,y,2\n")
    pd.DataFrame({"kind": ["z"], "size": [3.0]}).to_parquet(folder / "b.parquet")
    frame = read_dataset(folder, SCHEMA)
    assert frame["kind"].tolist() == ["x", "y", "z"]
    assert frame["size"].isna().tolist() == [False, True, False]
    assert list(frame.columns) == ["size", "kind"]
    assert read_dataset(folder / "a.csv", SCHEMA)["kind"].tolist() == ["x", "y"]


def test_a_dataset_names_a_stray_file_an_empty_folder_and_a_missing_path(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(StageError, match="holds no table file"):
        table_files(tmp_path / "data")
    (tmp_path / "data" / "notes.txt").write_text("hello")
    with pytest.raises(StageError, match=r"notes\.txt: cannot tell the format from the name"):
        table_files(tmp_path / "data")
    with pytest.raises(StageError, match="gone: not found"):
        table_files(tmp_path / "gone")


def test_a_dataset_file_names_the_line_of_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("size,kind\n1.5,x\nbig,y\n")
    with pytest.raises(SchemaError, match=r"column 'size' expects float; .* first at lines 3"):
        read_dataset(path, SCHEMA)
