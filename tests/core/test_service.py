"""The scoring service: rows of a request checked as the batch command checks a file's, and a
real uvicorn server on 127.0.0.1 answering over HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from stages.core.batch import score_file
from stages.core.errors import StageError
from stages.core.scoring import ScoredRows, Scoring, rows_from_csv, rows_from_records
from stages.core.service import (
    ModelChoice,
    Served,
    ServiceState,
    build_app,
    source_data,
)
from stages.core.tables import Column

SCHEMA = {"x": Column("float"), "n": Column("int", nullable=True), "kind": Column("str")}
RECORDS = [{"x": 0.1, "n": 1, "kind": "a"}, {"x": 2.5e-300, "n": None, "kind": "b"}]


def doubled(rows: pd.DataFrame) -> pd.DataFrame:
    """The test scorer: each row's ``x`` doubled."""
    return pd.DataFrame({"predicted": rows["x"] * 2}).reset_index(drop=True)


def test_records_and_csv_give_the_frame_a_batch_file_gives(tmp_path: Path) -> None:
    from_records = rows_from_records(RECORDS, SCHEMA, "req")
    csv = b"x,n,kind\n0.1,1,a\n2.5e-300,,b\n"
    pd.testing.assert_frame_equal(from_records, rows_from_csv(csv, SCHEMA, "req"))
    (tmp_path / "rows.csv").write_bytes(csv)
    out = tmp_path / "out.parquet"
    score_file(lambda: None, lambda _, rows: doubled(rows), tmp_path / "rows.csv", out, SCHEMA)
    pd.testing.assert_frame_equal(pd.read_parquet(out), doubled(from_records))


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([{"x": 1.0, "kind": "a"}], r"row 0 lacks fields \['n'\]"),
        (
            [RECORDS[0], {**RECORDS[0], "y": 1}],
            r"row 1 has fields the contract does not know: \['y'\]",
        ),
        ([{**RECORDS[0], "x": "1.0"}], r"row 0, field 'x' must be float, got a string"),
        ([{**RECORDS[0], "x": True}], r"row 0, field 'x' must be float, got a boolean"),
        ([{**RECORDS[0], "kind": 3}], r"row 0, field 'kind' must be str, got a number"),
        (
            [{**RECORDS[0], "n": 1.5}],
            r"column 'n' expects int; 1 values are not whole numbers, first at row 0",
        ),
        ([{**RECORDS[0], "x": None}], r"column 'x' has 1 missing values, first at row 0"),
        ([{**RECORDS[0], "x": float("inf")}], r"column 'x' must be a finite number"),
        ([], r"the table has no rows"),
        ({"x": 1}, r"expected a JSON list of rows"),
        (["a"], r"row 0 is a string, not an object"),
    ],
)
def test_a_bad_record_is_named_by_row_and_field(records: object, message: str) -> None:
    with pytest.raises(StageError, match=message):
        rows_from_records(records, SCHEMA, "req")


def test_a_csv_body_with_an_unknown_column_or_none_is_refused() -> None:
    with pytest.raises(StageError, match=r"columns the contract does not know: \['y'\]"):
        rows_from_csv(b"x,n,kind,y\n1,1,a,2\n", SCHEMA, "req")
    with pytest.raises(StageError, match="the body is empty"):
        rows_from_csv(b"  \n", SCHEMA, "req")


def test_source_data_follows_the_stages_back_to_their_data() -> None:
    lock = {
        "stages": {
            "ingest": {"deps": [{"path": "data/source/x", "md5": "s.dir"},
                                {"path": "stages/ingest.py", "md5": "c"}],
                       "outs": [{"path": "data/raw"}]},
            "p-train": {"deps": [{"path": "data/raw/t.parquet", "md5": "r"},
                                 {"path": "data/other.csv", "md5": "o"}],
                        "outs": [{"path": "models/p/model.skops"}]},
        }
    }  # fmt: skip
    assert source_data(lock, "models/p/model.skops") == {
        "data/other.csv": "o", "data/source/x": "s.dir"
    }  # fmt: skip
    assert source_data(lock, "models/q/model.skops") == {}


def served(version: str) -> Served:
    """A served model of the test scorer, as ``version``."""
    scoring = Scoring("toy", SCHEMA, lambda rows: ScoredRows(doubled(rows), ["a warning"]))
    return Served(scoring, "toy", version, None, None, "h" + version, {}, 0.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[str, ServiceState]]:
    import uvicorn

    state = ServiceState(served("v1"), ModelChoice("toy"), Path("."), Path("."))
    port = free_port()
    config = uvicorn.Config(
        build_app(state, max_rows=100, max_body_bytes=10_000), host="127.0.0.1", port=port,
        log_level="warning", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # a thread cannot take signals
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield url, state
    server.should_exit = True
    thread.join(timeout=30)


def call(
    url: str, body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw.startswith(b"{") else {"text": raw}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_service_scores_what_the_scorer_gives_and_says_which_model(service) -> None:
    url, _ = service
    status, answer = call(f"{url}/v1/toy/predict", json.dumps(RECORDS).encode())
    assert status == 200
    assert answer["predictions"] == [{"predicted": 0.2}, {"predicted": 5e-300}]
    assert (answer["version"], answer["model_hash"], answer["rows"]) == ("v1", "hv1", 2)
    assert answer["warnings"] == ["a warning"]
    status, from_csv = call(
        f"{url}/v1/toy/predict", b"x,n,kind\n0.1,1,a\n2.5e-300,,b\n", "text/csv"
    )
    assert (status, from_csv["predictions"]) == (200, answer["predictions"])
    assert call(f"{url}/health")[1] == {"status": "alive"}
    assert call(f"{url}/ready")[1]["version"] == "v1"


def test_bad_requests_get_their_status_and_reason_and_the_service_goes_on(service) -> None:
    url, _ = service
    predict = f"{url}/v1/toy/predict"
    status, answer = call(predict, json.dumps([{"x": 1.0, "kind": "a"}]).encode())
    assert (status, answer["error"]) == (422, "the request: row 0 lacks fields ['n']")
    status, answer = call(predict, json.dumps([RECORDS[0]] * 101).encode())
    assert status == 413 and "the limit is 100 rows" in answer["error"]
    status, answer = call(predict, b"[" + b" " * 20_000 + b"]")
    assert status == 413 and "the limit is 10000 bytes" in answer["error"]
    status, answer = call(predict, b"[1,")
    assert status == 422 and "not JSON" in answer["error"]
    for _ in range(200):
        assert call(predict, b"{}")[0] == 422
    assert call(predict, json.dumps(RECORDS).encode())[0] == 200


def test_metrics_count_requests_rows_and_name_the_served_model(service) -> None:
    url, state = service
    call(f"{url}/v1/toy/predict", json.dumps(RECORDS).encode())
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    assert 'scoring_requests_total{endpoint="/v1/toy/predict",outcome="ok"}' in text
    assert "scoring_rows_total" in text
    assert "scoring_model_info{" in text and f'version="{state.served.version}"' in text
    assert "scoring_request_duration_seconds_bucket" in text


def test_the_api_page_loads_its_scripts_from_the_service(service) -> None:
    url, _ = service
    with urllib.request.urlopen(f"{url}/docs", timeout=30) as response:
        page = response.read().decode()
    assert "/static-offline-docs/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    with urllib.request.urlopen(
        f"{url}/static-offline-docs/swagger-ui-bundle.js", timeout=30
    ) as js:
        assert len(js.read()) > 100_000
