"""Load sections of ``params.yaml`` into frozen, typed dataclasses.

The loader knows no project: a stage names the key path of the section it reads
(``load_params("late.train", TrainParams)``) and the dataclass that section must match. Nothing is
defaulted: a missing key, an unknown key (a typo typed by hand or appended with
``dvc exp run -S +late.train.key=...``) or a value of the wrong type stops the stage at once with
the full key path and, for a typo, the nearest valid key. A dataclass states its own value rules
in ``__post_init__`` with :func:`require`, naming its fields only; the loader puts the section's
path in front.

The key path is a string literal in every call: ``tools.checks.dvc_lint`` reads it from the code to
prove that each stage declares exactly the params it reads.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from stages.core.errors import StageError
from stages.core.io import project_root

PARAMS_FILE = Path("params.yaml")

Section = TypeVar("Section")


class ParamsError(StageError):
    """params.yaml is malformed or does not match the typed section a stage reads."""


class ConstraintError(ParamsError):
    """A value breaks its dataclass's rule; ``key`` is the field, relative to the section."""

    def __init__(self, key: str, rule: str, value: Any) -> None:
        super().__init__(f"'{key}' must be {rule}, got {value!r}")
        self.key, self.rule, self.value = key, rule, value


def require(condition: bool, key: str, rule: str, value: Any) -> None:
    """Raise ConstraintError for the field ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConstraintError(key, rule, value)


def did_you_mean(key: str, valid: list[str]) -> str:
    """A ' (did you mean ...?)' hint naming the valid key closest to ``key``."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.0)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(data: Mapping[str, Any], valid: list[str], where: str) -> None:
    """Raise on the first unknown key, then on the first missing one, naming its full path."""
    prefix = f"{where}." if where else ""
    for key in data:
        if key not in valid:
            hint = did_you_mean(str(key), valid)
            raise ParamsError(f"unknown key '{prefix}{key}'{hint}; valid keys: {', '.join(valid)}")
    for key in valid:
        if key not in data:
            raise ParamsError(f"missing key '{prefix}{key}'")


def _type_name(value: Any) -> str:
    """How a YAML value's type is named in messages."""
    return "null" if value is None else type(value).__name__


def _convert(value: Any, expected: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``expected`` and return it in that type."""
    if dataclasses.is_dataclass(expected):
        return build_section(value, expected, where)
    if get_origin(expected) is Literal:
        choices = get_args(expected)
        if value not in choices:
            hint = did_you_mean(str(value), [str(c) for c in choices])
            raise ParamsError(
                f"'{where}' must be one of {', '.join(map(repr, choices))}, got {value!r}{hint}"
            )
        return value
    # bool is a subclass of int in Python, but `true` for a count is a mistake.
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ParamsError(f"'{where}' must be a finite number, got {value!r}")
        return float(value)
    if expected in (int, str, bool) and type(value) is expected:
        return value
    if get_origin(expected) is tuple:  # tuple[X, ...]: a YAML list of X
        if not isinstance(value, list):
            raise ParamsError(f"'{where}' must be a list, got {_type_name(value)} {value!r}")
        item = get_args(expected)[0]
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    raise ParamsError(f"'{where}' must be {expected.__name__}, got {_type_name(value)} {value!r}")


def build_section(data: Any, cls: type[Section], where: str) -> Section:
    """Build the frozen dataclass ``cls`` from the mapping ``data`` found at key path ``where``."""
    if not isinstance(data, Mapping):
        raise ParamsError(f"'{where}' must be a mapping of keys, got {_type_name(data)}")
    hints = get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    _check_keys(data, names, where)
    values = {name: _convert(data[name], hints[name], f"{where}.{name}") for name in names}
    try:
        return cls(**values)
    except ConstraintError as error:
        raise ParamsError(
            f"'{where}.{error.key}' must be {error.rule}, got {error.value!r}"
        ) from None


def find_section(document: Any, key: str) -> Any:
    """The value at the dotted ``key`` of a parsed params document; ParamsError naming the first
    missing part, with the nearest key that is there."""
    node, path = document, []
    for part in key.split("."):
        if not isinstance(node, Mapping):
            where = ".".join(path) or "the params file"
            raise ParamsError(f"'{where}' must be a mapping of sections, got {_type_name(node)}")
        if part not in node:
            where = ".".join([*path, part])
            hint = did_you_mean(part, [str(name) for name in node])
            raise ParamsError(f"missing section '{where}'{hint}")
        node = node[part]
        path.append(part)
    return node


def parse_params(document: Any, key: str, cls: type[Section]) -> Section:
    """Build the section at ``key`` of a parsed params document as ``cls``."""
    return build_section(find_section(document, key), cls, key)


def _yaml_location(error: YAMLError) -> str:
    """' at line L, column C: problem' for a YAML error that carries a position, else its text."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _where_to_run(path: Path) -> str:
    """Advice for a params file that is not there: stages run from the repository root."""
    if path.is_absolute():
        return "check the path"
    try:
        root = project_root(Path.cwd())
    except FileNotFoundError:
        return "run stages from the repository root, the directory that holds dvc.yaml"
    if root == Path.cwd():
        return f"the repository root has no {path.name}: restore it (git checkout {path.name})"
    return f"run stages from the repository root, the directory that holds dvc.yaml: cd {root}"


# At most this many values once every YAML alias is expanded: a real params file holds a few
# hundred, while anchors nested ten deep ("billion laughs") expand past any memory, and DVC's own
# loader expands them (make repro hung inside it).
MAX_EXPANDED_VALUES = 100_000


def expanded_size(document: Any, limit: int = MAX_EXPANDED_VALUES) -> int:
    """How many values ``document`` holds with every alias written out, counting up to just past
    ``limit``. A value an alias shares is counted at each of its places, but computed once (by
    identity), so a bomb is measured in time linear in its text."""
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if id(node) not in sizes:
            children = node.values() if isinstance(node, dict) else node
            total = 1
            for child in children:
                total += size(child)
                if total > limit:
                    break
            sizes[id(node)] = total
        return sizes[id(node)]

    return size(document)


def check_expansion(document: Any, path: Path, limit: int = MAX_EXPANDED_VALUES) -> None:
    """ParamsError naming the first top-level section of ``document`` whose aliases expand past
    ``limit`` values."""
    if expanded_size(document, limit) <= limit:
        return
    sections = document.items() if isinstance(document, dict) else [("(document)", document)]
    name = next((key for key, value in sections if expanded_size(value, limit) > limit), "")
    raise ParamsError(
        f"{path}: section '{name}' expands to more than {limit:,} values through YAML aliases "
        "(*name of an &name anchor): an alias bomb? Write the values out; nothing was run"
    )


def read_params_file(path: Path = PARAMS_FILE) -> Any:
    """Parse the YAML file at ``path``; a syntax error or duplicate key names the file and line,
    and aliases expanding past ``MAX_EXPANDED_VALUES`` are refused before anything (DVC
    included) expands them."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ParamsError(f"{path}: file not found; {_where_to_run(path)}") from error
    except OSError as error:
        raise ParamsError(f"{path}: cannot read ({error.strerror or error})") from error
    try:
        document = YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        raise ParamsError(f"{path}: invalid YAML{_yaml_location(error)}") from error
    check_expansion(document, path)
    return document


def load_params(key: str, cls: type[Section], path: Path = PARAMS_FILE) -> Section:
    """Load and validate the section at the dotted ``key`` of the params file as ``cls``;
    errors are prefixed with the file's path."""
    try:
        return parse_params(read_params_file(path), key, cls)
    except ParamsError as error:
        message = str(error)
        raise ParamsError(
            message if message.startswith(f"{path}:") else f"{path}: {message}"
        ) from None


def kept_features(
    drop: tuple[str, ...], categorical: list[str], numeric: list[str], key: str
) -> tuple[list[str], list[str]]:
    """The categorical and numeric features a model uses: all but ``drop``, which the params
    key ``key`` lists. Raises StageError naming an unknown feature (with the nearest one), or a
    ``drop`` that leaves none."""
    features = categorical + numeric
    for name in drop:
        if name not in features:
            raise StageError(f"{key}: unknown feature '{name}'{did_you_mean(name, features)}")
    kept = [name for name in categorical if name not in drop]
    kept_numeric = [name for name in numeric if name not in drop]
    if not kept and not kept_numeric:
        raise StageError(f"{key} leaves out every feature: keep at least one to fit on")
    return kept, kept_numeric
