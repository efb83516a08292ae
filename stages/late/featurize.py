"""Stage ``late-featurize``: build the features of each split from what is known before departure.

Joins the origin's weather for the scheduled hour, the aircraft, and the destination airport; adds
calendar, US federal holiday and schedule-congestion features. Reads only the flight columns known
before departure (``SCHEDULED_FLIGHT_SCHEMA``); ``predict`` builds the features of new flights with
the same ``build_features``. Congestion is counted on the whole
published schedule (``data/raw/flights.parquet``, cancelled flights included, since they were
scheduled), never on outcomes. Writes ``data/late/processed/{train,valid,test}.parquet`` holding
the identifying columns, the features of ``stages.late.contract`` and the label.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from stages.core.calendar import holiday_features, minutes_of_day, us_federal_holidays
from stages.core.errors import StageError, run_stage
from stages.core.io import read_table, write_parquet_dir
from stages.core.params import load_params
from stages.core.splits import SPLITS
from stages.core.tables import check_known_columns, check_table
from stages.late.contract import (
    CONTRACT_FILE,
    FEATURE_SCHEMA,
    FEATURES,
    ID_COLUMNS,
    LABEL,
    LABELLED_FLIGHT_SCHEMA,
    PROCESSED_SCHEMA,
)
from stages.late.params import FeaturizeParams
from stages.late.paths import PROCESSED_DIR, RAW_TABLES_READ, interim_path
from stages.raw import RAW_TABLES, raw_path

log = logging.getLogger("stages.late.featurize")

# The raw tables the features join to each flight: all the project reads but the flights.
SIDE_TABLES = tuple(table for table in RAW_TABLES_READ if table != "flights")
DAY_KEY = ["year", "month", "day"]
HOUR_KEY = ["origin", *DAY_KEY, "hour"]
MINUTES_PER_DAY = 24 * 60


def flight_dates(flights: pd.DataFrame) -> pd.Series:
    """The local calendar date of each flight, from its year, month and day columns."""
    return pd.to_datetime(flights[DAY_KEY])


def calendar_features(flights: pd.DataFrame) -> pd.DataFrame:
    """Month, weekday, day of year and the scheduled clock times of departure and arrival."""
    dates = flight_dates(flights)
    return pd.DataFrame(
        {
            "month": flights["month"],
            "day_of_week": dates.dt.day_of_week,
            "day_of_year": dates.dt.day_of_year,
            "sched_dep_hour": flights["hour"],
            "sched_dep_minute": minutes_of_day(flights["sched_dep_time"]),
            "sched_arr_minute": minutes_of_day(flights["sched_arr_time"]),
        },
        index=flights.index,
    )


def _left_join(flights: pd.DataFrame, table: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Left-join ``table`` (unique on ``on``) to ``flights``, keeping their index and order."""
    joined = flights[on].merge(table, on=on, how="left", validate="many_to_one")
    joined.index = flights.index
    return joined.drop(columns=on)


def weather_features(flights: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """Weather observed at the origin in the hour of the scheduled departure (missing if none).

    Where the weather table has two observations for one local hour (the hour repeated when
    daylight saving time ends), the earlier one is used.
    """
    observed = weather.sort_values([*HOUR_KEY, "time_hour"]).drop_duplicates(HOUR_KEY)
    columns = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
               "pressure", "visib"]  # fmt: skip
    return _left_join(flights, observed[[*HOUR_KEY, *columns]], HOUR_KEY)


def plane_features(flights: pd.DataFrame, planes: pd.DataFrame) -> pd.DataFrame:
    """The scheduled aircraft's age, size and make (missing when its tail number is unknown)."""
    aircraft = planes.rename(columns={"year": "built"}).drop_duplicates("tailnum")
    joined = _left_join(
        flights, aircraft[["tailnum", "built", "manufacturer", "engine", "seats", "engines"]],
        ["tailnum"],
    )  # fmt: skip
    return pd.DataFrame(
        {
            "plane_manufacturer": joined["manufacturer"],
            "plane_engine": joined["engine"],
            "plane_age": flights["year"] - joined["built"],
            "plane_seats": joined["seats"],
            "plane_engines": joined["engines"],
        },
        index=flights.index,
    )


def airport_features(flights: pd.DataFrame, airports: pd.DataFrame) -> pd.DataFrame:
    """The destination's position and time zone, and the scheduled block time in minutes.

    The block time converts both scheduled clock times to UTC with each airport's standard
    offset; it is missing where either airport is not in the airports table.
    """
    places = airports.drop_duplicates("faa").set_index("faa")
    dest = places.reindex(flights["dest"])
    origin_tz = places["tz"].reindex(flights["origin"]).to_numpy()
    dep_utc = minutes_of_day(flights["sched_dep_time"]).to_numpy() - origin_tz * 60
    arr_utc = minutes_of_day(flights["sched_arr_time"]).to_numpy() - dest["tz"].to_numpy() * 60
    return pd.DataFrame(
        {
            "dest_lat": dest["lat"].to_numpy(),
            "dest_lon": dest["lon"].to_numpy(),
            "dest_alt": dest["alt"].to_numpy(),
            "dest_tz_offset": dest["tz"].to_numpy(),
            "sched_block_min": np.mod(arr_utc - dep_utc, MINUTES_PER_DAY),
        },
        index=flights.index,
    )


# Schedule congestion: each count's name and the key it counts flights over.
CONGESTION_KEYS = {
    "origin_hour_departures": HOUR_KEY,
    "origin_day_departures": ["origin", *DAY_KEY],
    "carrier_origin_day_departures": ["carrier", "origin", *DAY_KEY],
    "dest_day_arrivals": ["dest", *DAY_KEY],
}
TAIL_DAY_KEY = ["tailnum", *DAY_KEY]
# The columns of a schedule its summary reads.
SCHEDULE_COLUMNS = sorted(
    {column for key in CONGESTION_KEYS.values() for column in key}
    | {*TAIL_DAY_KEY, "sched_dep_time"}
)
TAIL_LEGS = "tail_legs"

ScheduleSummary = dict[str, pd.DataFrame]


def tail_legs(schedule: pd.DataFrame) -> pd.DataFrame:
    """Each aircraft's scheduled New York departures of a day, in order: the leg number, the
    day's number of legs, and the minutes since its previous scheduled departure that day.

    Keyed by tail number, day and scheduled departure time (an aircraft listed twice at one time
    counts once); flights without a tail number are left out.
    """
    key = [*TAIL_DAY_KEY, "sched_dep_time"]
    legs = schedule[key].dropna(subset=["tailnum"]).drop_duplicates().sort_values(key)
    by_day = legs.groupby(TAIL_DAY_KEY, observed=True, sort=False)
    minutes = minutes_of_day(legs["sched_dep_time"])
    return legs.assign(
        tail_day_leg=by_day.cumcount() + 1,
        tail_day_legs=by_day["sched_dep_time"].transform("size"),
        tail_prev_gap_min=minutes - minutes.groupby([legs[c] for c in TAIL_DAY_KEY]).shift(),
    ).reset_index(drop=True)


# The airport's delay state: what its departures of the day that had already left say about it.
DEPARTURES = "departures"
# The columns of a departures table (actual departures so far) that the delay state reads.
DEPARTURE_COLUMNS = ["origin", *DAY_KEY, "sched_dep_time", "dep_delay"]
# A departure counts as delayed in the delay state from this many minutes on.
DELAYED_MIN = 15
# The window of the recent delay: the departures that left in this many minutes before the cut-off.
RECENT_WINDOW_MIN = 60
# A departures table with no departure: the delay state is then missing for every flight.
NO_DEPARTURES = pd.DataFrame(
    {
        "origin": pd.Series(dtype="str"),
        **{name: pd.Series(dtype="int64") for name in [*DAY_KEY, "sched_dep_time"]},
        "dep_delay": pd.Series(dtype="float64"),
    }
)
DELAY_STATE_FEATURES = [
    "origin_delay_mean_so_far", "origin_delayed_share_so_far", "origin_delay_mean_last_hour"
]  # fmt: skip


def _day_number(frame: pd.DataFrame) -> pd.Series:
    """A date as one integer, YYYYMMDD: a cheap key to group and join by."""
    return frame["year"] * 10_000 + frame["month"] * 100 + frame["day"]


def summarise_departures(departures: pd.DataFrame) -> pd.DataFrame:
    """Each airport's departures of each day in the order they left, with running totals: how
    many had left, the sum of their departure delays and how many left ``DELAYED_MIN`` or more
    late. A departure's time is its scheduled minute of the day plus its delay (past 1440 when
    it left after midnight); flights without a departure delay (cancelled, or not left yet) are
    left out."""
    left = departures.dropna(subset=["dep_delay"])
    table = pd.DataFrame(
        {
            # One string dtype on both sides of the join, even for an empty table.
            "origin": pd.array(left["origin"], dtype="str"),
            "day_number": _day_number(left).to_numpy(),
            "left_minute": (minutes_of_day(left["sched_dep_time"]) + left["dep_delay"]).to_numpy(
                dtype=float
            ),
            "delay": left["dep_delay"].to_numpy(dtype=float),
        }
    ).sort_values(["origin", "day_number", "left_minute"], kind="stable")
    by_day = table.groupby(["origin", "day_number"], sort=False)
    return (
        table.assign(
            departed=by_day.cumcount().to_numpy(dtype=float) + 1,
            delay_sum=by_day["delay"].cumsum(),
            delayed=(table["delay"] >= DELAYED_MIN)
            .astype(float)
            .groupby([table["origin"], table["day_number"]], sort=False)
            .cumsum(),
        )
        .drop(columns="delay")
        .reset_index(drop=True)
    )


def _state_at(queries: pd.DataFrame, summary: pd.DataFrame, minute: pd.Series) -> pd.DataFrame:
    """The running totals of each query's airport and day at ``minute`` (departures that left
    at or before it), in the queries' order; zeros where none had left."""
    keyed = queries.assign(at=minute.to_numpy(dtype=float), row=np.arange(len(queries)))
    merged = pd.merge_asof(
        keyed.sort_values("at", kind="stable"),
        summary.sort_values("left_minute", kind="stable"),
        left_on="at", right_on="left_minute", by=["origin", "day_number"],
        direction="backward", allow_exact_matches=True,
    ).sort_values("row")  # fmt: skip
    return merged[["departed", "delay_sum", "delayed"]].fillna(0.0).reset_index(drop=True)


def delay_state_features(
    flights: pd.DataFrame, departures: pd.DataFrame, cutoff_min: int
) -> pd.DataFrame:
    """What the origin's departures of the day say ``cutoff_min`` minutes before each flight's
    scheduled departure, from those that had left by then: their mean departure delay, the share
    that left ``DELAYED_MIN``+ minutes late, and the mean delay of those that left in the
    ``RECENT_WINDOW_MIN`` minutes before the cut-off (missing where none had left). Only
    departures at or before the cut-off are read: a test rebuilds each flight's features from
    those alone and finds the same values."""
    queries = pd.DataFrame(
        {
            "origin": pd.array(flights["origin"], dtype="str"),
            "day_number": _day_number(flights).to_numpy(),
        }
    )
    cutoff = minutes_of_day(flights["sched_dep_time"]).reset_index(drop=True) - cutoff_min
    now = _state_at(queries, departures, cutoff)
    before = _state_at(queries, departures, cutoff - RECENT_WINDOW_MIN)
    recent = now["departed"] - before["departed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        features = pd.DataFrame(
            {
                "origin_delay_mean_so_far": now["delay_sum"] / now["departed"],
                "origin_delayed_share_so_far": now["delayed"] / now["departed"],
                "origin_delay_mean_last_hour": (now["delay_sum"] - before["delay_sum"]) / recent,
            }
        )
    features = features.where(np.isfinite(features))
    features.index = flights.index
    return features


def summarise_schedule(
    schedule: pd.DataFrame, departures: pd.DataFrame | None = None
) -> ScheduleSummary:
    """What the features need of the whole published schedule, computed once so that any batch
    of flights can look it up, however the flights are split into batches: the flights per
    congestion key, each aircraft's legs of the day (``TAIL_LEGS``), and the airports' departures
    with their delays (``DEPARTURES``) from ``departures``, by default the schedule itself when it
    holds ``dep_delay`` (none otherwise: the delay state is then missing)."""
    summary = {
        name: schedule.groupby(key, observed=True).size().rename(name).reset_index()
        for name, key in CONGESTION_KEYS.items()
    }
    summary[TAIL_LEGS] = tail_legs(schedule)
    source = schedule if departures is None else departures
    if "dep_delay" not in source:
        source = NO_DEPARTURES
    summary[DEPARTURES] = summarise_departures(source)
    return summary


def congestion_features(flights: pd.DataFrame, summary: ScheduleSummary) -> pd.DataFrame:
    """How busy the schedule is: departures from the origin that hour and that day, the carrier's
    departures from the origin that day, and flights from New York to the destination that day
    (0 where the schedule has none)."""
    columns = {
        name: _left_join(flights, summary[name], key)[name].fillna(0)
        for name, key in CONGESTION_KEYS.items()
    }
    return pd.DataFrame(columns, index=flights.index)


def aircraft_leg_features(flights: pd.DataFrame, summary: ScheduleSummary) -> pd.DataFrame:
    """Where the flight sits in its aircraft's day, as scheduled: its leg number, the number of
    legs, and the scheduled minutes since the previous leg (missing for the first leg, and all
    missing when the tail number is unknown). A late first leg makes the later ones late."""
    legs = summary[TAIL_LEGS]
    return _left_join(flights, legs, [*TAIL_DAY_KEY, "sched_dep_time"])


def local_hours(frame: pd.DataFrame) -> pd.Series:
    """The local clock hour of each row, from its year, month, day and hour columns."""
    return pd.to_datetime(frame[[*DAY_KEY, "hour"]])


def weather_history_features(
    flights: pd.DataFrame, weather: pd.DataFrame, window_hours: int
) -> pd.DataFrame:
    """The weather at the origin over the ``window_hours`` hours up to the scheduled hour: total
    and since-midnight precipitation, lowest visibility, strongest wind, and the change in
    pressure (a falling barometer means a storm coming). Only hours up to the scheduled one are
    read; a test truncates the weather after each flight's hour and finds the same values."""
    observed = weather.sort_values([*HOUR_KEY, "time_hour"]).drop_duplicates(HOUR_KEY)
    hourly = observed.assign(local=local_hours(observed)).sort_values(["origin", "local"])
    parts = []
    for origin, series in hourly.groupby("origin", sort=True):
        series = series.set_index("local")
        window = series[["precip", "visib", "wind_speed"]].rolling(
            f"{window_hours}h", closed="right"
        )
        earlier = series["pressure"].shift(freq=f"{window_hours}h").reindex(series.index)
        parts.append(
            pd.DataFrame(
                {
                    "origin": origin,
                    "local": series.index,
                    "precip_recent": window["precip"].sum().to_numpy(),
                    "precip_day": series["precip"]
                    .groupby(series.index.normalize())
                    .cumsum()
                    .to_numpy(),
                    "visib_recent_min": window["visib"].min().to_numpy(),
                    "wind_recent_max": window["wind_speed"].max().to_numpy(),
                    "pressure_change": (series["pressure"] - earlier).to_numpy(),
                }
            )
        )
    history = pd.concat(parts, ignore_index=True)
    keyed = pd.DataFrame({"origin": flights["origin"], "local": local_hours(flights)})
    return _left_join(keyed, history, ["origin", "local"])


def build_features(
    flights: pd.DataFrame,
    summary: ScheduleSummary,
    weather: pd.DataFrame,
    planes: pd.DataFrame,
    airports: pd.DataFrame,
    params: FeaturizeParams,
) -> pd.DataFrame:
    """The identifying columns and features of ``flights``, in their row order (index reset).

    Reads only the columns of ``SCHEDULED_FLIGHT_SCHEMA``, which are known before departure, the
    summary of the published schedule, and of the airports' departures only those that had left
    ``params.realtime_cutoff_min`` minutes before each flight's scheduled departure; the
    ``predict`` stage calls this very function on new flights.
    """
    dates = flight_dates(flights)
    parts = [
        flights[[*ID_COLUMNS, "distance"]],
        calendar_features(flights).drop(columns=["month"]),
        holiday_features(dates, us_federal_holidays(dates), params.holiday_horizon_days),
        plane_features(flights, planes),
        airport_features(flights, airports),
        weather_features(flights, weather),
        weather_history_features(flights, weather, params.weather_window_hours),
        congestion_features(flights, summary),
        aircraft_leg_features(flights, summary),
        delay_state_features(flights, summary[DEPARTURES], params.realtime_cutoff_min),
    ]
    table = pd.concat(parts, axis=1)
    produced = set(table.columns)
    missing = [name for name in FEATURES if name not in produced]
    if missing:
        raise StageError(f"featurize built no column for features {missing}")
    check_known_columns(table, FEATURE_SCHEMA, "features", CONTRACT_FILE)
    return table[list(FEATURE_SCHEMA)].reset_index(drop=True)


def with_label(features: pd.DataFrame, flights: pd.DataFrame) -> pd.DataFrame:
    """The processed table of a split: the ``build_features`` of ``flights`` and their label."""
    return features.assign(**{LABEL: flights[LABEL].to_numpy()})[list(PROCESSED_SCHEMA)]


def run(
    splits: dict[str, pd.DataFrame],
    schedule: pd.DataFrame,
    side: dict[str, pd.DataFrame],
    params: FeaturizeParams,
) -> dict[str, pd.DataFrame]:
    """The processed table of each labelled split: its features, built against the published
    ``schedule`` and the ``side`` tables (weather, planes, airports), and its label; checked."""
    summary = summarise_schedule(schedule)
    return {
        name: check_table(
            with_label(build_features(flights, summary, **side, params=params), flights),
            PROCESSED_SCHEMA,
            f"processed {name}",
        )
        for name, flights in splits.items()
    }


def main() -> None:
    """Build data/late/processed/<split>.parquet from data/late/interim and the raw tables."""
    params = load_params("late.featurize", FeaturizeParams)
    # The schedule with the outcomes of its departures: the delay state reads those that had
    # left before each flight's cut-off, and nothing later.
    schedule_schema = {
        name: RAW_TABLES["flights"][name] for name in [*SCHEDULE_COLUMNS, "dep_delay"]
    }
    schedule = read_table(raw_path("flights"), schedule_schema)
    side = {name: read_table(raw_path(name), RAW_TABLES[name]) for name in SIDE_TABLES}
    # Only the columns known before departure (and the label) are read: nothing else can leak.
    splits = {name: read_table(interim_path(name), LABELLED_FLIGHT_SCHEMA) for name in SPLITS}
    processed = run(splits, schedule, side, params)
    for name, table in processed.items():
        log.info(
            "%s: %d flights, %d features, weather missing for %.1f%%", name, len(table),
            len(FEATURES), 100 * table["temp"].isna().mean(),
        )  # fmt: skip
    write_parquet_dir(PROCESSED_DIR, processed)


if __name__ == "__main__":
    run_stage(main)
