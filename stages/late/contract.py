"""The flight-delay project's contract: what a flight is known by, its label, its features, and
the schemas of the tables its stages hand each other.

Every table that crosses a stage boundary is checked against one of these schemas
(``stages.core.tables.check_table``), so a stage fails on the file and column at fault.
"""

from __future__ import annotations

from pathlib import Path

from stages.core.params import kept_features
from stages.core.tables import Column, TableSchema
from stages.raw import RAW_TABLES

# This file: where a new column of a table the stages hand each other is declared.
CONTRACT_FILE = Path(__file__).relative_to(Path(__file__).parents[2]).as_posix()

# Columns that name a flight: kept beside the features so every prediction can be traced back.
ID_COLUMNS = ["year", "month", "day", "sched_dep_time", "carrier", "flight", "origin", "dest"]
LABEL = "late"

# The features `featurize` builds and `train` fits on. Everything here is known
# `late.featurize.realtime_cutoff_min` minutes before the scheduled departure: nothing derives
# from the flight's own dep_time, dep_delay, arr_time, arr_delay or air_time, and the airport's
# delay state (origin_delay_*) reads only the departures that had left by that cut-off.
CATEGORICAL_FEATURES = ["carrier", "origin", "dest", "plane_manufacturer", "plane_engine"]
NUMERIC_FEATURES = [
    "month", "day_of_week", "day_of_year", "sched_dep_hour", "sched_dep_minute",
    "sched_arr_minute", "sched_block_min", "distance",
    "days_to_holiday", "days_since_holiday",
    "plane_age", "plane_seats", "plane_engines",
    "dest_lat", "dest_lon", "dest_alt", "dest_tz_offset",
    "temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib",
    "precip_recent", "precip_day", "visib_recent_min", "wind_recent_max", "pressure_change",
    "origin_hour_departures", "origin_day_departures", "carrier_origin_day_departures",
    "dest_day_arrivals",
    "tail_day_leg", "tail_day_legs", "tail_prev_gap_min",
    "origin_delay_mean_so_far", "origin_delayed_share_so_far", "origin_delay_mean_last_hour",
]  # fmt: skip
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

# Leak guard: columns observed at or after departure, never to be used as features.
POST_DEPARTURE_COLUMNS = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]

SPLIT_SCHEMA: TableSchema = {**RAW_TABLES["flights"], LABEL: Column("bool")}

# What a flight is known by before it leaves: the columns features are built from, and all that
# `predict` needs of a new flight.
SCHEDULED_FLIGHT_SCHEMA: TableSchema = {
    name: RAW_TABLES["flights"][name]
    for name in ["year", "month", "day", "hour", "sched_dep_time", "sched_arr_time", "carrier",
                 "flight", "tailnum", "origin", "dest", "distance"]
}  # fmt: skip
LABELLED_FLIGHT_SCHEMA: TableSchema = {**SCHEDULED_FLIGHT_SCHEMA, LABEL: SPLIT_SCHEMA[LABEL]}

# The features of flights beside their identifying columns, as `build_features` returns them.
FEATURE_SCHEMA: TableSchema = {
    **{name: Column("str", nullable=True) for name in CATEGORICAL_FEATURES},
    **{name: Column("float", nullable=True) for name in NUMERIC_FEATURES},
    # Identifying columns keep their raw types where they double as features (carrier, month).
    **{name: RAW_TABLES["flights"][name] for name in ID_COLUMNS},
}
PROCESSED_SCHEMA: TableSchema = {**FEATURE_SCHEMA, LABEL: Column("bool")}


def model_features(drop: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The categorical and numeric features the model uses: all but ``drop``
    (``late.train.drop_features``); StageError naming an unknown one (with the nearest feature),
    or a ``drop`` that leaves none."""
    return kept_features(drop, CATEGORICAL_FEATURES, NUMERIC_FEATURES, "late.train.drop_features")
