"""The shared raw data: the nycflights13 tables every project reads, their schemas, where the
``ingest`` stage reads them (``data/source/nycflights13``, tracked by DVC) and writes them
(``data/raw/<table>.parquet``, with their statistics in ``metrics/ingest.json``), and the params
of that stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.core.params import require
from stages.core.tables import Column, TableSchema

RAW_DIR = Path("data/raw")
# The statistics of the data version ingest read: in Git, so `dvc metrics diff` shows them.
INGEST_METRICS_FILE = Path("metrics/ingest.json")

_I, _F, _S = Column("int"), Column("float", nullable=True), Column("str")
_T = Column("datetime")
# What a date and a time of day can be; a date's parts are checked together by check_dates.
_MONTH, _DAY = Column("int", low=1, high=12), Column("int", low=1, high=31)
_HOUR, _MINUTE = Column("int", low=0, high=23), Column("int", low=0, high=59)
_HHMM = Column("int", clock=True, hint="HHMM as an integer, 545 for 05:45")
# Actual times: a departure at midnight is written 2400 in nycflights13.
_ACTUAL_HHMM = Column("float", nullable=True, low=0, high=2400)
# The longest scheduled flights in the world are under 10,000 miles.
_DISTANCE = Column("float", low=1, high=10_000)

RAW_TABLES: dict[str, TableSchema] = {
    "flights": {
        "year": _I, "month": _MONTH, "day": _DAY,
        "dep_time": _ACTUAL_HHMM, "sched_dep_time": _HHMM, "dep_delay": _F,
        "arr_time": _ACTUAL_HHMM, "sched_arr_time": _HHMM, "arr_delay": _F,
        "carrier": _S, "flight": _I, "tailnum": Column("str", nullable=True),
        "origin": _S, "dest": _S, "air_time": _F, "distance": _DISTANCE,
        "hour": _HOUR, "minute": _MINUTE, "time_hour": _T,
    },
    "weather": {
        "origin": _S, "year": _I, "month": _MONTH, "day": _DAY, "hour": _HOUR,
        "temp": _F, "dewp": _F, "humid": _F, "wind_dir": _F, "wind_speed": _F,
        "wind_gust": _F, "precip": _F, "pressure": _F, "visib": _F, "time_hour": _T,
    },
    "planes": {
        "tailnum": _S, "year": _F, "type": _S, "manufacturer": _S, "model": _S,
        "engines": _I, "seats": _I, "speed": _F, "engine": _S,
    },
    "airports": {
        "faa": _S, "name": _S, "lat": Column("float"), "lon": Column("float"),
        "alt": Column("float"), "tz": Column("float"), "dst": _S,
        "tzone": Column("str", nullable=True),
    },
    "airlines": {"carrier": _S, "name": _S},
}  # fmt: skip


def raw_path(table: str) -> Path:
    """Where ``ingest`` writes the raw table ``table``."""
    return RAW_DIR / f"{table}.parquet"


@dataclass(frozen=True)
class IngestParams:
    """Section ``ingest``: the DVC-tracked directory the source tables come from (a path inside
    the repository, declared as the stage's dependency) and how much of the flights to keep."""

    source: str
    sample_frac: float
    seed: int

    def __post_init__(self) -> None:
        require(0 < self.sample_frac <= 1, "sample_frac", "in (0, 1]", self.sample_frac)
