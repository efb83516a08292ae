"""The batch command's guarantees, whatever the project: columns checked before any work, bad
rows refused in one line, the output atomic and the same whatever the chunk size, never written
over an input, a stage's input or output, or DVC-tracked data."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from stages.core.batch import score_command, score_file
from stages.core.errors import StageError
from stages.core.tables import Column

SCHEMA = {"x": Column("float"), "kind": Column("str", nullable=True)}


class Doubler:
    """A model of the simplest kind: twice ``x``."""

    def twice(self, rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"predicted": rows["x"] * 2})


def scorer(model: object, rows: pd.DataFrame) -> pd.DataFrame:
    return model.twice(rows)


@pytest.fixture
def rows(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    pd.DataFrame(
        {"x": [1.0, 2.5, 4.0, 8.0, 16.0], "kind": ["a", "b", "", "a", "c"], "y": 1}
    ).to_csv(path, index=False)
    return path


def test_every_row_is_scored_in_order_whatever_the_chunk_size(rows: Path, tmp_path: Path) -> None:
    outputs = []
    for chunk in (1, 2, 100):
        out = tmp_path / f"out{chunk}.parquet"
        assert score_file(Doubler, scorer, rows, out, SCHEMA, chunk).rows == 5
        outputs.append(out.read_bytes())
    assert pd.read_parquet(tmp_path / "out1.parquet")["predicted"].tolist() == [2, 5, 8, 16, 32]
    csv = tmp_path / "out.csv"
    score_file(Doubler, scorer, rows, csv, SCHEMA, 2)
    assert csv.read_text() == "predicted\n2.0\n5.0\n8.0\n16.0\n32.0\n"


def test_a_missing_column_is_named_before_any_work_and_nothing_is_written(
    rows: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(StageError, match=r"missing columns \['z'\]"):
        score_file(Doubler, scorer, rows, out, {**SCHEMA, "z": Column("int")})
    assert not out.exists()


def test_a_bad_value_names_the_file_column_and_row_and_keeps_the_old_output(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x,kind\n1.0,a\nlots,b\n")
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    with pytest.raises(StageError, match=r"bad.csv.*'x'"):
        score_file(Doubler, scorer, bad, out, SCHEMA)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_the_command_refuses_an_output_that_is_its_input_or_the_pipelines(
    rows: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  p-prepare:\n    cmd: python -m x\n    deps: [data/source/p]\n"
        "    outs: [data/p/prepared]\n"
    )
    (tmp_path / "data/source").mkdir(parents=True)
    (tmp_path / "data/source/t.dvc").write_text("outs:\n- md5: abc.dir\n  path: t\n")
    (tmp_path / "model.bin").write_text("")
    run = lambda out: score_command(  # noqa: E731
        ["--input", str(rows), "--output", out, "--model", "model.bin"], "score", "", Path("m"),
        lambda path: Doubler(), scorer, SCHEMA,
    )  # fmt: skip
    for output, reason in [
        (str(rows), "is the same file as --input"),
        ("model.bin", "is the same file as --model"),
        ("data/p/prepared/x.csv", "an output of stage 'p-prepare'"),
        ("data/source/p/x.csv", "an input of stage 'p-prepare'"),
        ("data/source/t/x.csv", "data DVC tracks (data/source/t.dvc)"),
    ]:
        with pytest.raises(StageError, match=re.escape(reason)):
            run(output)
    assert run("scored.csv").rows == 5


def test_the_command_names_an_absent_input_or_model(rows: Path, tmp_path: Path) -> None:
    def run(*argv: str) -> None:
        score_command(
            list(argv), "score", "", tmp_path / "none.skops", lambda p: Doubler(), scorer, SCHEMA
        )

    with pytest.raises(StageError, match=r"--input .*: file not found"):
        run("--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv"))
    with pytest.raises(StageError, match=r"--model .*none.skops: file not found"):
        run("--input", str(rows), "--output", str(tmp_path / "o.csv"))
