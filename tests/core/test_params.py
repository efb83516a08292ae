"""The core's params loader: typed sections at any key path, and a clear stop on every kind of
mistake. The dataclasses here are the tests' own: the loader knows no project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from stages.core.params import (
    ParamsError,
    build_section,
    expanded_size,
    find_section,
    load_params,
    parse_params,
    read_params_file,
    require,
)


@dataclass(frozen=True)
class Boost:
    max_iter: int
    rate: float

    def __post_init__(self) -> None:
        require(self.max_iter >= 1, "max_iter", "at least 1", self.max_iter)


@dataclass(frozen=True)
class Fit:
    model: Literal["boost", "linear"]
    seed: int
    drop: tuple[str, ...]
    boost: Boost


FIT = {"model": "boost", "seed": 1, "drop": ["month"], "boost": {"max_iter": 10, "rate": 0}}
DOCUMENT = {"shared": {"seed": 3}, "alpha": {"fit": FIT}, "beta": {"fit": FIT}}


def test_builds_frozen_typed_section_with_int_accepted_as_float() -> None:
    params = build_section(FIT, Fit, "alpha.fit")
    assert params.drop == ("month",)  # a YAML list becomes a tuple: frozen
    assert params.boost.rate == 0.0
    assert isinstance(params.boost.rate, float)
    with pytest.raises(AttributeError):
        params.seed = 2  # type: ignore[misc]


def test_a_section_is_found_at_any_key_path() -> None:
    assert parse_params(DOCUMENT, "beta.fit", Fit).boost.max_iter == 10
    assert find_section(DOCUMENT, "shared") == {"seed": 3}


def test_unknown_key_names_full_path_and_nearest_valid_key() -> None:
    data = {**FIT, "boost": {**FIT["boost"], "max_iterz": 5}}
    with pytest.raises(
        ParamsError,
        match=r"unknown key 'alpha\.fit\.boost\.max_iterz' \(did you mean 'max_iter'\?\)",
    ):
        parse_params({"alpha": {"fit": data}}, "alpha.fit", Fit)


def test_missing_key_names_full_path() -> None:
    data = {**FIT, "boost": {"rate": 1.0}}
    with pytest.raises(ParamsError, match=r"missing key 'alpha\.fit\.boost\.max_iter'"):
        build_section(data, Fit, "alpha.fit")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("seed", "1", r"'a\.seed' must be int, got str '1'"),
        ("seed", True, r"'a\.seed' must be int, got bool True"),
        ("seed", 1.5, r"'a\.seed' must be int, got float 1.5"),
        ("seed", None, r"'a\.seed' must be int, got null"),
        ("model", "bost", r"'a\.model' must be one of 'boost', 'linear', got 'bost' \(did you mean 'boost'\?\)"),
        ("boost", [1], r"'a\.boost' must be a mapping of keys, got list"),
        ("drop", "month", r"'a\.drop' must be a list, got str 'month'"),
        ("drop", ["x", 2], r"'a\.drop\[1\]' must be str, got int 2"),
    ],
)  # fmt: skip
def test_wrong_type_names_key_and_value(key: str, value: object, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        build_section({**FIT, key: value}, Fit, "a")


def test_a_dataclass_rule_is_reported_at_the_full_key_path() -> None:
    data = {**FIT, "boost": {"max_iter": 0, "rate": 1.0}}
    with pytest.raises(
        ParamsError, match=r"^'alpha\.fit\.boost\.max_iter' must be at least 1, got 0$"
    ):
        build_section(data, Fit, "alpha.fit")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("alpha.fti", r"missing section 'alpha\.fti' \(did you mean 'fit'\?\)"),
        ("gamma.fit", r"missing section 'gamma' \(did you mean"),
        ("shared.seed.x", r"'shared\.seed' must be a mapping of sections, got int"),
    ],
)
def test_missing_section_names_its_path_and_the_nearest_one_there(key: str, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        find_section(DOCUMENT, key)


def test_the_loader_knows_no_project_other_sections_are_left_alone() -> None:
    """A project's stage is not stopped by another project's section, however it looks."""
    document = {**DOCUMENT, "someone_elses": {"anything": [1, 2]}}
    assert parse_params(document, "alpha.fit", Fit).seed == 1


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("fit:\n  model: [boost\n")
    with pytest.raises(ParamsError, match=r"params\.yaml: invalid YAML at line \d+, column \d+: "):
        load_params("fit", Fit, path)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("shared:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(
        ParamsError, match=r"invalid YAML at line 3, column 3: found duplicate key \"seed\""
    ):
        read_params_file(path)


def test_load_params_prefixes_errors_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("alpha:\n  boost:\n    max_iter: 1\n    rate: 0.5\n    raet: 2\n")
    with pytest.raises(
        ParamsError, match=rf"^{path}: unknown key 'alpha\.boost\.raet' \(did you mean 'rate'\?\)"
    ):
        load_params("alpha.boost", Boost, path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="file not found"):
        load_params("alpha.boost", Boost, tmp_path / "params.yaml")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_float_must_be_finite(value: float) -> None:
    data = {**FIT, "boost": {"max_iter": 1, "rate": value}}
    with pytest.raises(ParamsError, match=r"'a\.boost\.rate' must be a finite number"):
        build_section(data, Fit, "a")


def test_yaml_spellings_of_infinity_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("alpha:\n  boost:\n    max_iter: 1\n    rate: .inf\n")
    with pytest.raises(ParamsError, match=r"'alpha\.boost\.rate' must be a finite number, got inf"):
        load_params("alpha.boost", Boost, path)


def test_a_missing_params_file_says_where_to_run_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    with pytest.raises(
        ParamsError, match=rf"run stages from the repository root.*: cd {tmp_path}$"
    ):
        load_params("alpha.boost", Boost)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamsError, match=r"the repository root has no params.yaml: restore it"):
        load_params("alpha.boost", Boost)


def alias_bomb(depth: int, width: int = 10) -> str:
    """A params section whose anchors nest ``depth`` deep, each alias repeated ``width`` times:
    ``width ** depth`` values once expanded, a few hundred bytes of text."""
    lines = [f"  a0: &a0 [{', '.join(['x'] * width)}]"]
    for level in range(1, depth):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "bomb:\n" + "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_one_line_naming_its_section(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("late:\n  train: {C: 1}\n" + alias_bomb(depth=10))
    with pytest.raises(ParamsError) as caught:
        read_params_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: section 'bomb' expands to more than 100,000 values")
    assert "\n" not in message


def test_anchors_that_expand_a_little_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("base: &base {C: 1.0, max_iter: 100}\nlate:\n  train: *base\n" + alias_bomb(3))
    document = read_params_file(path)
    assert document["late"]["train"] == {"C": 1.0, "max_iter": 100}
    # The root, base (3), late with base again (1 + 3), bomb with a0, a1, a2 written out.
    assert expanded_size(document) == 1 + 3 + 4 + (1 + 11 + 111 + 1111)


def test_expanded_size_counts_every_place_of_a_shared_value() -> None:
    shared = [1, 2]
    assert expanded_size({"a": shared, "b": shared}) == 1 + 3 + 3
    assert expanded_size([[0] * 10] * 10, limit=50) > 50
