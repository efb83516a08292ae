"""model_io: the saved model is byte-stable, loads, and untrusted types are refused."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from stages.core.errors import StageError
from stages.core.model_io import (
    FIT_THREADS,
    FIXED_ZIP_TIME,
    fit_reproducibly,
    load_model,
    model_bytes,
    save_model,
    stable_skops_bytes,
)
from tests.conftest import REPO_ROOT

# The types the small model below is made of that skops does not trust by default.
TRUSTED = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]

# Fits and saves the same small model in a fresh interpreter, so object ids and times differ.
SAVE_SCRIPT = """
import sys
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from stages.core.model_io import save_model
X = pd.DataFrame({"c": ["a", "b", "c", "a"] * 25, "x": np.arange(100.0)})
y = np.arange(100) % 3 == 0
model = Pipeline([
    ("encode", ColumnTransformer([("cat", OrdinalEncoder(), ["c"]), ("num", "passthrough", ["x"])])),
    ("model", HistGradientBoostingClassifier(max_iter=5, categorical_features=[True, False],
                                             random_state=0)),
]).fit(X, y)
save_model(model, __import__("pathlib").Path(sys.argv[1]))
"""


def save_in_new_process(path: Path) -> bytes:
    subprocess.run(
        [sys.executable, "-c", SAVE_SCRIPT, str(path)],
        check=True, cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""},
    )  # fmt: skip
    return path.read_bytes()


def test_same_model_saved_by_two_processes_is_byte_identical(tmp_path: Path) -> None:
    first = save_in_new_process(tmp_path / "a.skops")
    second = save_in_new_process(tmp_path / "b.skops")
    assert first == second
    model = load_model(tmp_path / "a.skops", TRUSTED)
    assert model.predict_proba(pd.DataFrame({"c": ["a", "b"], "x": [1.0, 2.0]})).shape == (2, 2)


def boosted_digest(fit: Callable[..., Any], threads: int) -> str:
    """A digest of the bytes of a small boosted model ``fit`` fits while OpenMP offers
    ``threads`` threads (OMP_NUM_THREADS set, so scikit-learn takes them whatever the cores)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=2000) > 0).astype(int)
    model = Pipeline([("model", HistGradientBoostingClassifier(max_iter=10, random_state=0))])
    with threadpool_limits(limits=threads):
        return hashlib.sha256(model_bytes(fit(model, x, y))).hexdigest()


def fit_as_the_machine_offers(model: Pipeline, features: Any, target: Any) -> Pipeline:
    return model.fit(features, target)


def test_a_fit_gives_the_same_model_whatever_threads_the_machine_offers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # Left to the machine, the thread count changes the boosted model: the check below bites.
    assert boosted_digest(fit_as_the_machine_offers, 1) != boosted_digest(
        fit_as_the_machine_offers, 3
    )
    pinned = {boosted_digest(fit_reproducibly, threads) for threads in (1, 3, 4)}
    assert pinned == {boosted_digest(fit_as_the_machine_offers, FIT_THREADS)}


def test_a_fit_leaves_the_callers_thread_settings_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info()]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    fit_reproducibly(LogisticRegression(), np.arange(20.0).reshape(10, 2), np.arange(10) % 2)
    assert os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.delenv("OMP_NUM_THREADS")
    fit_reproducibly(LogisticRegression(), np.arange(20.0).reshape(10, 2), np.arange(10) % 2)
    assert "OMP_NUM_THREADS" not in os.environ
    assert [pool["num_threads"] for pool in threadpool_info()] == before


def test_stable_bytes_renumber_ids_and_fix_times() -> None:
    raw = sio.dumps({"w": np.arange(3.0), "v": np.ones(2)})
    stable = stable_skops_bytes(raw)
    with zipfile.ZipFile(io.BytesIO(stable)) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in archive.infolist()} == {FIXED_ZIP_TIME}
        schema = json.loads(archive.read("schema.json"))
    files = {node["file"] for node in schema["content"].values()}
    assert files <= set(names) and all(len(name) < 10 for name in files)
    loaded = sio.loads(stable)
    np.testing.assert_array_equal(loaded["w"], np.arange(3.0))


def test_load_refuses_untrusted_types(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    save_model(FunctionTransformer(func=print), path)
    found = r"refusing to load\. Untrusted types found in the file: \['builtins\.print'\]"
    with pytest.raises(StageError, match=found):
        load_model(path, TRUSTED)


def test_load_missing_model_names_file(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"model\.skops: model file not found"):
        load_model(tmp_path / "model.skops", TRUSTED)


def test_load_trusts_only_the_types_it_is_given(tmp_path: Path) -> None:
    """The same file loads with its types trusted, and is refused without them."""
    path = tmp_path / "a.skops"
    save_in_new_process(path)
    with pytest.raises(StageError, match=r"refusing to load\..*TreePredictor"):
        load_model(path, [])


def damaged_archives(tmp_path: Path, good: bytes) -> dict[str, Path]:
    """Files that are not sound skops archives, by what is wrong with them."""
    files: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        files[name] = tmp_path / f"{name}.skops"
        files[name].write_bytes(data)

    write("empty", b"")
    write("truncated", good[: len(good) // 2])
    write("not a zip", b"model, but as text\n")

    def rezip(name: str, change: dict[str, bytes | None]) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w") as target:
            for entry in source.namelist():
                data = change.get(entry, source.read(entry))
                if data is not None:
                    target.writestr(entry, data)
        write(name, buffer.getvalue())

    rezip("no schema", {"schema.json": None})
    rezip("bad json", {"schema.json": b"{not json"})
    schema = json.loads(zipfile.ZipFile(io.BytesIO(good)).read("schema.json"))
    array_file = next(iter(_npy_files(schema)))
    objects = io.BytesIO()
    np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    rezip("object array", {array_file: objects.getvalue()})
    (tmp_path / "a directory").mkdir()
    files["directory"] = tmp_path / "a directory"
    return files


def _npy_files(node: object) -> list[str]:
    """The array files a skops schema refers to."""
    if isinstance(node, dict):
        found = [node["file"]] if str(node.get("file", "")).endswith(".npy") else []
        return found + [name for value in node.values() for name in _npy_files(value)]
    if isinstance(node, list):
        return [name for value in node for name in _npy_files(value)]
    return []


def test_every_damaged_archive_stops_with_one_line_naming_the_file(tmp_path: Path) -> None:
    good = save_in_new_process(tmp_path / "good.skops")
    for name, path in damaged_archives(tmp_path, good).items():
        with pytest.raises(StageError) as caught:
            load_model(path, TRUSTED)
        message = str(caught.value)
        assert message.startswith(f"{path}: "), name
        assert "\n" not in message, name
        assert any(word in message for word in ("directory", "skops", "cannot load")), name


def test_an_archive_declaring_more_than_any_model_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.skops"
    save_in_new_process(path)
    with pytest.raises(StageError, match=r"refusing to load: its entries unpack to [\d,]+ bytes"):
        load_model(path, TRUSTED, max_bytes=1000)


def test_a_path_may_be_given_as_a_string(tmp_path: Path) -> None:
    save_in_new_process(tmp_path / "a.skops")
    assert load_model(str(tmp_path / "a.skops"), TRUSTED) is not None
