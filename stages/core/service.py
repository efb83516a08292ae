"""The scoring service: one project's model behind an HTTP API, FastAPI on uvicorn.

    make serve P=<project> [STAGE=prod | VERSION=v1.0.0] [HOST=127.0.0.1] [PORT=8000]
    python -m stages.core.service <project> [--stage S | --version V] [--host H] [--port N]
                                  [--max-rows N] [--max-body-bytes N]

Every project is served the same way, from its ``stages.<project>.score`` module: ``scoring``
loads the model with what its scores read, and scores checked rows with the function its batch
command runs, so the same rows give the same bits through either door
(``stages.core.scoring``). With ``--stage`` or ``--version`` the model is the registry's (GTO's
tags, read through DVC as ``dvc artifacts get`` reads them) and it is fetched with the files
its scoring reads from that version's commit into ``.dvc/tmp/serve/<commit>``; without either,
the workspace's model. ``/ready`` says which.

- ``POST /v1/<project>/predict``: JSON records (a list of objects) or a CSV body (``Content-Type:
  text/csv``) with the batch command's columns, exactly; one prediction per row, the model's
  version and hash, the batch command's warnings. A missing, extra or wrongly typed field is a
  422 naming the row and the field (the contract's own messages); more rows or bytes than the
  limits a 413 saying the limit; never a traceback.
- ``GET /health`` (alive), ``GET /ready`` (what is served), ``GET /metrics`` (Prometheus),
  ``GET /docs`` (the interactive page, its scripts served from the fastapi-offline package: no
  CDN). One JSON line per request on stdout, with its request id (``X-Request-ID``, kept when
  the client sends a plain one).
- SIGHUP: look the stage up again and load its version beside the one serving; requests go on
  being answered by the old model until the new one is swapped in. SIGTERM: requests in flight
  finish, new connections are refused, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from ruamel.yaml import YAML
from starlette.concurrency import run_in_threadpool

from stages.core.dvc_yaml import read_pipeline
from stages.core.errors import StageError
from stages.core.hashing import md5_of_file
from stages.core.io import project_root
from stages.core.registry import fetch_version, resolve_version
from stages.core.scoring import Scoring, rows_from_csv, rows_from_records
from stages.core.tables import TableSchema

log = logging.getLogger("stages.core.service")

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
# A request's limits: a row limit well above what one application asks at a time, and a body
# limit that 10,000 late flights as JSON (about 2 MB) stay below.
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# A refused body is read on up to this many times the limit, then the connection is dropped.
DRAIN_FACTOR = 16
# Where registered versions are fetched to (DVC ignores .dvc/tmp; one folder per commit).
SERVE_CACHE = Path(".dvc") / "tmp" / "serve"
# How long a SIGTERM waits for requests in flight before closing them.
GRACEFUL_STOP_S = 30
# Latency buckets of the histogram, in seconds: one-row requests take milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A client's request id is kept when it is this plain; otherwise one is made.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
JSON_SCHEMA_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean",
                     "datetime": "string"}  # fmt: skip


class RequestProblem(Exception):
    """A request the service refuses: its HTTP status and the one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ModelChoice:
    """Which model to serve: the registry's ``stage`` or ``version``, or (neither) the
    workspace's."""

    project: str
    stage: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Served:
    """One loaded model and what it is: its registry version (or ``workspace``), the commit it
    was registered on, the model file's MD5 (DVC's hash of it) and the source data it was
    trained on (each source's DVC hash)."""

    scoring: Scoring = field(repr=False)
    project: str
    version: str
    stage: str | None
    commit: str | None
    model_hash: str
    data_version: dict[str, str]
    load_seconds: float

    def identity(self) -> dict[str, Any]:
        """What ``/ready`` and the log say of it."""
        document = asdict(self)
        del document["scoring"]
        return document


def model_path_of(root: Path, project: str) -> str:
    """The path of the project's model, as ``artifacts:`` in dvc.yaml declares it."""
    artifact = f"{project}-model"
    artifacts = read_pipeline(root).get("artifacts") or {}
    if artifact not in artifacts:
        raise StageError(f"{root / 'dvc.yaml'}: no artifact {artifact} under artifacts:")
    return str(artifacts[artifact]["path"])


def source_data(lock: dict, out: str) -> dict[str, str]:
    """The data ``out`` was made from, followed back through the stages of ``lock`` (dvc.lock):
    each dep under ``data/`` that no stage writes, with its DVC hash."""
    writer = {
        o["path"]: stage for stage, body in lock.get("stages", {}).items()
        for o in body.get("outs", [])
    }  # fmt: skip

    def stage_of(path: str) -> str | None:
        for written, stage in writer.items():
            if path == written or path.startswith(f"{written}/"):
                return stage
        return None

    found: dict[str, str] = {}
    seen: set[str] = set()
    pending = [stage_of(out)]
    while pending:
        stage = pending.pop()
        if stage is None or stage in seen:
            continue
        seen.add(stage)
        for dep in lock["stages"][stage].get("deps", []):
            upstream = stage_of(dep["path"])
            if upstream is not None:
                pending.append(upstream)
            elif dep["path"].startswith("data/"):
                found[dep["path"]] = dep.get("md5", "")
    return dict(sorted(found.items()))


def score_module(project: str) -> Any:
    """The project's ``stages.<project>.score`` module; StageError when it has none."""
    try:
        return importlib.import_module(f"stages.{project}.score")
    except ModuleNotFoundError as error:
        if error.name not in (f"stages.{project}", f"stages.{project}.score"):
            raise
        raise StageError(
            f"stages/{project}/score.py: not found; the service serves a project through its "
            "score module's scoring() (make project writes one)"
        ) from None


def load_served(choice: ModelChoice, root: Path, cache: Path) -> Served:
    """The model ``choice`` names, loaded with what its scoring reads: fetched from the
    registry version's commit, or the workspace's."""
    started = time.perf_counter()
    module = score_module(choice.project)
    if choice.stage or choice.version:
        found = resolve_version(f"{choice.project}-model", str(root), choice.version, choice.stage)
        files = [Path(found.path), Path("dvc.lock"), *module.SERVED_FILES]
        folder = fetch_version(str(root), found.rev, files, cache)
        model_file, version, commit = folder / found.path, found.version, found.rev
    else:
        folder = root
        model_file = root / model_path_of(root, choice.project)
        version, commit = "workspace", None
        if not model_file.is_file():
            raise StageError(f"{model_file}: not found (make repro P={choice.project} builds it)")
    lock_file = folder / "dvc.lock"
    lock = YAML(typ="safe").load(lock_file.read_text()) if lock_file.is_file() else {}
    model_in_repo = model_file.relative_to(folder).as_posix()
    scoring = module.scoring(folder, model_file)
    return Served(
        scoring=scoring,
        project=choice.project,
        version=version,
        stage=choice.stage,
        commit=commit,
        model_hash=md5_of_file(model_file),
        data_version=source_data(lock, model_in_repo),
        load_seconds=round(time.perf_counter() - started, 3),
    )


def records_of(predictions: pd.DataFrame) -> list[dict[str, Any]]:
    """Predictions as JSON records: Python numbers (a float's JSON text reads back to its exact
    bits), a missing value as null."""
    frame = predictions.astype(object).where(predictions.notna(), None)
    return frame.to_dict(orient="records")


def request_schema(schema: TableSchema) -> dict[str, Any]:
    """The JSON schema of a request's body, for the API page: a list of objects of exactly the
    contract's fields."""
    properties = {}
    for name, column in schema.items():
        kind: dict[str, Any] = {"type": JSON_SCHEMA_TYPES[column.kind]}
        if column.kind == "datetime":
            kind["format"] = "date-time"
        properties[name] = {"anyOf": [kind, {"type": "null"}]} if column.nullable else kind
    row = {"type": "object", "properties": properties, "required": list(schema),
           "additionalProperties": False}  # fmt: skip
    return {"type": "array", "items": row}


def parse_rows(body: bytes, content_type: str, schema: TableSchema, max_rows: int) -> pd.DataFrame:
    """The checked rows of a request body: JSON records, or CSV when ``content_type`` says so;
    RequestProblem 422 naming the row and field at fault, 413 past ``max_rows``."""
    try:
        if content_type.split(";")[0].strip().lower() == "text/csv":
            rows = rows_from_csv(body, schema, "the request")
        else:
            try:
                records = json.loads(body)
            except (ValueError, UnicodeDecodeError) as error:
                raise RequestProblem(422, f"the request: not JSON ({error})") from None
            if isinstance(records, list) and len(records) > max_rows:
                raise RequestProblem(413, too_many_rows(len(records), max_rows))
            rows = rows_from_records(records, schema, "the request")
    except StageError as error:
        raise RequestProblem(422, str(error)) from None
    if len(rows) > max_rows:
        raise RequestProblem(413, too_many_rows(len(rows), max_rows))
    return rows


def too_many_rows(rows: int, limit: int) -> str:
    """The 413's reason for a request of ``rows`` rows."""
    return (
        f"the request has {rows} rows; the limit is {limit} rows per request: split it, or "
        "score a file with the batch command"
    )


class Metrics:
    """The service's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "scoring_requests", "Requests answered, by endpoint and outcome "
            "(ok, invalid, too_large, not_found, error)", ["endpoint", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "scoring_request_duration_seconds", "Time from a request's arrival to its answer",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.rows = Counter("scoring_rows", "Rows scored", registry=self.registry)
        self.in_flight = Gauge(
            "scoring_requests_in_flight", "Requests being answered", registry=self.registry
        )
        self.reloads = Counter(
            "scoring_reloads", "Model reloads (SIGHUP), by outcome", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.model = Info("scoring_model", "The model being served", registry=self.registry)

    def serving(self, served: Served) -> None:
        """Record which model answers."""
        identity = served.identity()
        self.model.info(
            {key: str(identity[key] or "") for key in
             ("project", "version", "stage", "commit", "model_hash")}
        )  # fmt: skip

    def text(self) -> tuple[bytes, str]:
        """The exposition and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def log_line(**fields: Any) -> None:
    """One JSON line on stdout."""
    print(json.dumps({"time": round(time.time(), 3), **fields}, default=str), flush=True)


class ServiceState:
    """What the app serves: one ``Served`` at a time, swapped whole by a reload."""

    def __init__(self, served: Served, choice: ModelChoice, root: Path, cache: Path) -> None:
        self.served = served
        self.choice, self.root, self.cache = choice, root, cache
        self.metrics = Metrics()
        self.metrics.serving(served)
        self.reloading = threading.Lock()

    def reload(self) -> None:
        """Look the model up again and swap it in once loaded; the old one answers meanwhile
        and stays when the new one fails to load. One reload at a time."""
        if not self.reloading.acquire(blocking=False):
            log_line(event="reload", outcome="busy", detail="a reload is already running")
            return
        try:
            new = load_served(self.choice, self.root, self.cache)
        except Exception as error:  # the old model keeps serving whatever went wrong
            self.metrics.reloads.labels("failed").inc()
            log_line(event="reload", outcome="failed", detail=str(error).splitlines()[0])
            return
        finally:
            self.reloading.release()
        old, self.served = self.served, new
        self.metrics.serving(new)
        self.metrics.reloads.labels("ok").inc()
        log_line(event="reload", outcome="ok", previous=old.version, **new.identity())


def build_app(state: ServiceState, max_rows: int, max_body_bytes: int) -> FastAPI:
    """The FastAPI app serving ``state``."""
    project = state.served.project
    predict_path = f"/v1/{project}/predict"
    known_paths = {"/health", "/ready", "/metrics", predict_path}

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        # Signals reach the main thread only: a server run in a thread (the tests) has no reload.
        signals = threading.current_thread() is threading.main_thread()
        loop = asyncio.get_running_loop()
        if signals:
            loop.add_signal_handler(
                signal.SIGHUP, lambda: threading.Thread(target=state.reload, daemon=True).start()
            )
        yield
        if signals:
            loop.remove_signal_handler(signal.SIGHUP)

    app = FastAPIOffline(
        title=f"{project} scoring",
        description=f"The {project} model of the research monorepo (docs/serving.md).",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        given = request.headers.get("x-request-id", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request.state.request_id = request_id
        request.state.rows = 0
        endpoint = request.url.path if request.url.path in known_paths else "other"
        started = time.perf_counter()
        state.metrics.in_flight.inc()
        try:
            response = await call_next(request)
        finally:
            state.metrics.in_flight.dec()
        elapsed = time.perf_counter() - started
        outcome = OUTCOMES.get(response.status_code, "error")
        state.metrics.requests.labels(endpoint, outcome).inc()
        state.metrics.latency.labels(endpoint).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        log_line(
            request_id=request_id, method=request.method, path=request.url.path,
            status=response.status_code, rows=request.state.rows,
            ms=round(elapsed * 1000, 2), version=state.served.version,
        )  # fmt: skip
        return response

    def problem(request: Request, status: int, message: str) -> JSONResponse:
        return JSONResponse(
            {"error": message, "request_id": request.state.request_id}, status_code=status
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # The reason goes to the log, never a traceback to the client.
        log_line(event="error", request_id=request.state.request_id, type=type(error).__name__,
                 detail=str(error).splitlines()[0] if str(error) else "")  # fmt: skip
        return problem(request, 500, "internal error: the service log names it by request id")

    @app.get("/health", summary="Alive")
    async def health_endpoint() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/ready", summary="The model being served")
    async def ready_endpoint() -> dict[str, Any]:
        return {"status": "ready", "reloading": state.reloading.locked(),
                **state.served.identity()}  # fmt: skip

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics_endpoint() -> Response:
        body, content_type = state.metrics.text()
        return Response(body, media_type=content_type)

    @app.post(
        predict_path,
        summary=f"Score {project} rows",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": request_schema(state.served.scoring.schema)},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def predict_endpoint(request: Request) -> JSONResponse:
        served = state.served  # one model answers the whole request, whatever a reload does
        try:
            body = await read_body(request, max_body_bytes)
            rows = await run_in_threadpool(
                parse_rows, body, request.headers.get("content-type", ""),
                served.scoring.schema, max_rows,
            )  # fmt: skip
            scored = await run_in_threadpool(served.scoring.score, rows)
        except RequestProblem as refused:
            return problem(request, refused.status, str(refused))
        except StageError as error:  # a value the batch command refuses too
            return problem(request, 422, str(error))
        request.state.rows = len(rows)
        state.metrics.rows.inc(len(rows))
        return JSONResponse(
            {
                "project": served.project, "version": served.version,
                "model_hash": served.model_hash, "rows": len(rows),
                "predictions": records_of(scored.predictions), "warnings": scored.warnings,
            }
        )  # fmt: skip

    return app


# The outcome a status counts as in the metrics.
OUTCOMES = {200: "ok", 404: "not_found", 405: "not_found", 413: "too_large", 422: "invalid"}


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) once it is past ``limit`` bytes, by its Content-Length
    or as it streams in. The rest of a refused body is read and dropped (up to ``DRAIN_FACTOR``
    times the limit), so the client, still sending, reads the 413 instead of a reset."""
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if max(size, received) > limit:
            if received > DRAIN_FACTOR * limit:
                break
            continue
        chunks.append(chunk)
    if max(size, received) > limit:
        raise RequestProblem(413, too_large(max(size, received), limit))
    return b"".join(chunks)


def too_large(size: int, limit: int) -> str:
    """The 413's reason for a body of (at least) ``size`` bytes."""
    return (
        f"the request body is {size} bytes or more; the limit is {limit} bytes: send fewer rows "
        "per request (make serve MAX_BODY_BYTES=... raises it)"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m stages.core.service", description="Serve a project's model over HTTP."
    )
    parser.add_argument("project", help="the project whose model to serve (a stages/ package)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stage", help="serve the registry's version at this stage, e.g. prod")
    which.add_argument("--version", help="serve this registered version, e.g. v1.0.0")
    parser.add_argument("--host", default=DEFAULT_HOST, help="default: %(default)s (this machine)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default: %(default)s")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    if args.max_rows < 1 or args.max_body_bytes < 1:
        parser.error("--max-rows and --max-body-bytes must be at least 1")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", args.project) or args.project == "core":
        parser.error(f"{args.project!r} is not a project name")
    return args


def serve(args: argparse.Namespace) -> None:
    """Load the model, then answer until SIGTERM or SIGINT."""
    import uvicorn

    root = project_root(Path.cwd())
    choice = ModelChoice(args.project, args.stage, args.version)
    served = load_served(choice, root, root / SERVE_CACHE)
    state = ServiceState(served, choice, root, root / SERVE_CACHE)
    app = build_app(state, args.max_rows, args.max_body_bytes)
    log_line(event="loaded", host=args.host, port=args.port, **served.identity())
    # uvicorn stops gracefully on SIGTERM, then raises the signal again for the handler it
    # found: this one ignores it, so a graceful stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", access_log=False,
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
    )  # fmt: skip
    uvicorn.Server(config).run()
    log_line(event="stopped", project=args.project)


def main(argv: list[str] | None = None) -> int:
    """Serve; one line and exit 1 when the model cannot be loaded."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        serve(args)
    except (StageError, FileNotFoundError) as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
