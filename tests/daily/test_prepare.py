"""daily-prepare: each builder on hand-made rows, the whole airport-day table on synthetic data,
the leakage test (inputs cut at the cutoff of each forecast's previous day move no feature), and
the stage on bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.core.io import write_parquet_dir
from stages.daily.contract import AIRPORTS, BASELINES, DAY_SCHEMA, FEATURES, KEY, TARGET
from stages.daily.params import PrepareParams
from stages.daily.prepare import (
    build_days,
    daily_outcomes,
    departures,
    known_so_far,
    lagged_outcomes,
    run,
    schedule_features,
    weather_before_cutoff,
)
from stages.raw import RAW_TABLES
from tests.conftest import make_raw_tables, run_module, write_params

PARAMS = PrepareParams(
    late_threshold_min=15, cutoff_hour=18, holiday_horizon_days=14, valid_month=10, test_month=11
)
# Columns observed when or after a flight leaves: unknown before it has.
OUTCOME_COLUMNS = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


def flights_of(rows: list[tuple]) -> pd.DataFrame:
    """Flights from (origin, day of January 2013, sched_dep_time, dep_delay, carrier) rows."""
    frame = pd.DataFrame(rows, columns=["origin", "day", "sched_dep_time", "dep_delay", "carrier"])
    return frame.assign(year=2013, month=1, hour=frame["sched_dep_time"] // 100)


def test_a_departure_is_late_from_the_threshold_on_and_when_cancelled() -> None:
    flights = flights_of(
        [("EWR", 1, 600, 14.0, "UA"), ("EWR", 1, 630, 15.0, "UA"), ("EWR", 1, 700, np.nan, "UA"),
         ("EWR", 1, 2350, 30.0, "UA")]
    )  # fmt: skip
    departed = departures(flights, 15)
    assert departed["late"].tolist() == [False, True, True, True]
    assert departed["scheduled_minute"].tolist() == [360, 390, 420, 1430]
    assert departed["left_minute"].iloc[3] == 1460  # after midnight, still that date's flight
    outcomes = daily_outcomes(departed)
    assert outcomes[["departures", TARGET]].to_numpy().tolist() == [[4, 0.75]]


def test_so_far_counts_only_departures_settled_by_the_cutoff() -> None:
    """At 18:00 a departure scheduled at 17:45 or earlier has left or is 15 minutes late: its
    status is known. One scheduled at 17:50 is not."""
    flights = flights_of(
        [("JFK", 1, 1000, 0.0, "B6"), ("JFK", 1, 1745, 30.0, "B6"), ("JFK", 1, 1750, 0.0, "B6"),
         ("JFK", 1, 2100, 90.0, "B6")]
    )  # fmt: skip
    so_far = known_so_far(departures(flights, 15), 18 * 60, 15)
    assert so_far[["departures_so_far", "share_so_far"]].to_numpy().tolist() == [[2.0, 0.5]]


def test_schedule_features_count_the_peak_hour_evening_and_carriers() -> None:
    flights = flights_of(
        [("LGA", 1, 700, 0.0, "UA"), ("LGA", 1, 710, 0.0, "DL"), ("LGA", 1, 1800, 0.0, "DL"),
         ("LGA", 1, 1900, np.nan, "WN")]
    )  # fmt: skip
    row = schedule_features(departures(flights, 15)).iloc[0]
    assert row["peak_hour_departures"] == 2
    assert row["evening_share"] == 0.5
    assert (row["carrier_share_DL"], row["carrier_share_UA"], row["carrier_share_AA"]) == (
        0.5, 0.25, 0.0,
    )  # fmt: skip


def test_weather_before_cutoff_reads_only_earlier_hours() -> None:
    weather = pd.DataFrame(
        {
            "origin": "EWR", "year": 2013, "month": 1, "day": 1, "hour": [6, 12, 17, 18],
            "time_hour": pd.date_range("2013-01-01 11:00", periods=4, freq="6h", tz="UTC"),
            "temp": [30.0, 40.0, 50.0, 99.0], "humid": 50.0, "wind_speed": [5.0, 20.0, 10.0, 99.0],
            "wind_gust": np.nan, "precip": [0.1, 0.0, 0.2, 9.0],
            "pressure": [1010.0, np.nan, 1004.0, 900.0], "visib": [10.0, 2.0, 10.0, 0.0],
        }
    )  # fmt: skip
    row = weather_before_cutoff(weather, 18).iloc[0]
    assert row["precip_sum"] == pytest.approx(0.3)
    assert (row["visib_min"], row["wind_max"], row["temp_mean"]) == (2.0, 20.0, 40.0)
    assert np.isnan(row["gust_max"])
    assert (row["pressure_last"], row["pressure_change"]) == (1004.0, -6.0)


def test_lags_are_taken_by_calendar_day_not_by_row() -> None:
    """A day without departures is a gap, not a shorter lag."""
    dates = pd.to_datetime(["2013-01-01", "2013-01-02", "2013-01-04", "2013-01-09"])
    outcomes = pd.DataFrame({"origin": "EWR", "date": dates, TARGET: [0.1, 0.2, 0.4, 0.9]})
    so_far = pd.DataFrame(
        {
            "origin": "EWR",
            "date": dates,
            "departures_so_far": 5.0,
            "share_so_far": [0.5, 0.6, 0.7, 0.8],
        }
    )
    lags = lagged_outcomes(outcomes, so_far).set_index("date")
    target = lags.loc[pd.Timestamp("2013-01-09")]
    # D-8..D-2 of 9 January are 1 to 7 January: the shares of the 1st, 2nd and 4th
    assert target["share_mean_7d"] == pytest.approx((0.1 + 0.2 + 0.4) / 3)
    assert np.isnan(target["share_prev_full"])  # the 7th had no departures
    assert np.isnan(target["share_so_far"])  # nor the 8th
    assert lags.loc[pd.Timestamp("2013-01-05"), "share_so_far"] == 0.7  # the 4th
    assert lags.loc[pd.Timestamp("2013-01-08"), "share_week_ago"] == 0.1


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """Synthetic raw tables dense enough for every airport to fly most days."""
    return make_raw_tables(flights_per_month=600, seed=3)


@pytest.fixture(scope="module")
def days(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return build_days(raw["flights"], raw["weather"], PARAMS)


def test_the_table_has_one_row_per_airport_and_day_with_its_naive_forecasts(
    days: pd.DataFrame,
) -> None:
    assert list(days.columns) == list(DAY_SCHEMA)
    assert not days.duplicated(KEY).any()
    assert set(days["origin"]) == set(AIRPORTS)
    assert days[TARGET].between(0, 1).all()
    assert days[list(BASELINES.values())].notna().all().all()
    dates = pd.to_datetime(days[["year", "month", "day"]])
    assert dates.is_monotonic_increasing


def test_the_target_is_the_share_of_the_days_departures_late(
    raw: dict[str, pd.DataFrame], days: pd.DataFrame
) -> None:
    row = days.iloc[len(days) // 2]
    flights = raw["flights"]
    same = flights[
        (flights["origin"] == row["origin"])
        & (flights["month"] == row["month"])
        & (flights["day"] == row["day"])
    ]
    late = same["dep_delay"].isna() | (same["dep_delay"] >= 15)
    assert row[TARGET] == pytest.approx(late.mean())
    assert row["departures"] == len(same)


def known_at(
    raw: dict[str, pd.DataFrame], moment: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The flights and weather as they were known at ``moment`` (local time): every flight is
    scheduled, but one that had not left by then has no outcome yet; no later observation."""
    flights = raw["flights"].copy()
    dates = pd.to_datetime(flights[["year", "month", "day"]])
    scheduled = (flights["sched_dep_time"] // 100) * 60 + flights["sched_dep_time"] % 100
    left = dates + pd.to_timedelta(scheduled + flights["dep_delay"], unit="min")
    flights.loc[left.isna() | (left > moment), OUTCOME_COLUMNS] = np.nan
    weather = raw["weather"]
    observed = pd.to_datetime(weather[["year", "month", "day", "hour"]])
    return flights, weather[observed < moment]


@pytest.mark.parametrize("day", ["2013-02-14", "2013-07-05", "2013-10-15", "2013-12-24"])
def test_no_feature_moves_when_the_inputs_stop_at_the_cutoff_the_evening_before(
    raw: dict[str, pd.DataFrame], days: pd.DataFrame, day: str
) -> None:
    """The leakage test: cut every input at 18:00 of the day before and rebuild; each airport's
    features and naive forecasts for that day come out identical."""
    date = pd.Timestamp(day)
    flights, weather = known_at(raw, date - pd.Timedelta(days=1) + pd.Timedelta(hours=18))
    assert flights["dep_delay"].isna().sum() > raw["flights"]["dep_delay"].isna().sum()
    rebuilt = build_days(flights, weather, PARAMS)

    def rows_of(table: pd.DataFrame) -> pd.DataFrame:
        on_day = (table["month"] == date.month) & (table["day"] == date.day)
        return table[on_day].set_index("origin")[FEATURES[1:]]

    expected = rows_of(days)
    assert len(expected) == len(AIRPORTS)
    pd.testing.assert_frame_equal(rows_of(rebuilt), expected)


def test_a_feature_reading_past_the_cutoff_would_be_caught(raw: dict[str, pd.DataFrame]) -> None:
    """The leakage test has teeth: with the cutoff moved to midnight, D-1's whole day counts as
    known, and cutting the inputs at 18:00 changes the share so far on some day of July."""
    late_cutoff = dataclasses.replace(PARAMS, cutoff_hour=24)
    full = build_days(raw["flights"], raw["weather"], late_cutoff).set_index(KEY)
    moved = []
    for day in range(2, 29):
        flights, weather = known_at(raw, pd.Timestamp(2013, 7, day - 1, 18))
        cut = build_days(flights, weather, late_cutoff).set_index(KEY)
        on_day = [key for key in full.index if key[2:] == (7, day)]
        moved.append(not full.loc[on_day, "share_so_far"].equals(cut.loc[on_day, "share_so_far"]))
    assert any(moved)


def test_run_splits_by_the_month_of_the_day_forecast(raw: dict[str, pd.DataFrame]) -> None:
    splits = run(raw["flights"], raw["weather"], PARAMS)
    assert splits["train"]["month"].max() == 9
    assert set(splits["valid"]["month"]) == {10}
    assert splits["test"]["month"].min() == 11


def test_run_names_an_empty_split(raw: dict[str, pd.DataFrame]) -> None:
    first_half = raw["flights"][raw["flights"]["month"] <= 6]
    with pytest.raises(StageError, match=r"split 'valid' is empty .*months \[1, 2, 3, 4, 5, 6\]"):
        run(first_half, raw["weather"], PARAMS)


def test_stage_writes_the_splits(tmp_path: Path, raw: dict[str, pd.DataFrame]) -> None:
    write_params(tmp_path)
    write_parquet_dir(tmp_path / "data" / "raw", raw)
    result = run_module("daily.prepare", tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "data" / "daily" / "days").iterdir())
    assert written == ["test.parquet", "train.parquet", "valid.parquet"]
    assert "naive MAE" in result.stderr


def test_stage_on_a_broken_flights_table_names_the_column_and_writes_nothing(
    tmp_path: Path, raw: dict[str, pd.DataFrame]
) -> None:
    write_params(tmp_path)
    broken = {**raw, "flights": raw["flights"].drop(columns=["dep_delay"])}
    write_parquet_dir(tmp_path / "data" / "raw", broken)
    result = run_module("daily.prepare", tmp_path)
    assert result.returncode == 1
    assert "flights.parquet: missing columns ['dep_delay']" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "daily").exists()


def test_a_typo_in_its_params_stops_the_stage_naming_the_key(tmp_path: Path) -> None:
    params = write_params(tmp_path)
    params.write_text(params.read_text().replace("cutoff_hour:", "cutof_hour:"))
    result = run_module("daily.prepare", tmp_path)
    assert result.returncode == 1
    assert "unknown key 'daily.prepare.cutof_hour' (did you mean 'cutoff_hour'?)" in result.stderr


def test_the_raw_columns_it_reads_exist(raw: dict[str, pd.DataFrame]) -> None:
    from stages.daily.prepare import FLIGHT_COLUMNS, WEATHER_COLUMNS

    assert set(FLIGHT_COLUMNS) <= set(RAW_TABLES["flights"])
    assert set(WEATHER_COLUMNS) <= set(RAW_TABLES["weather"])


def test_a_column_built_but_not_in_the_contract_stops_naming_it(
    raw: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from stages.daily import prepare

    def with_a_new_column(departed: pd.DataFrame) -> pd.DataFrame:
        return schedule_features(departed).assign(first_departure=6.0)

    monkeypatch.setattr(prepare, "schedule_features", with_a_new_column)
    with pytest.raises(
        StageError,
        match=r"airport-days: built columns \['first_departure'\] that the contract does not "
        r"know; declare them in stages/daily/contract\.py",
    ):
        build_days(raw["flights"], raw["weather"], PARAMS)
