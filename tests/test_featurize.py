"""featurize: each feature builder on hand-made rows, and the whole table on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stages.featurize import (
    airport_features,
    build_features,
    calendar_features,
    congestion_features,
    holiday_features,
    minutes_of_day,
    plane_features,
    schedule_counts,
    us_federal_holidays,
    weather_features,
    with_label,
)
from stages.params import FeaturizeParams
from stages.schema import FEATURES, LABEL, POST_DEPARTURE_COLUMNS, PROCESSED_SCHEMA, check_table
from stages.split import label_flights


def test_minutes_of_day() -> None:
    assert minutes_of_day(pd.Series([0, 545, 1230, 2359])).tolist() == [0, 345, 750, 1439]


def test_calendar_features() -> None:
    flights = pd.DataFrame(
        {"year": [2013], "month": [7], "day": [4], "hour": [17], "sched_dep_time": [1715],
         "sched_arr_time": [2005]}
    )  # fmt: skip
    row = calendar_features(flights).iloc[0]
    assert row["day_of_week"] == 3  # Thursday
    assert row["day_of_year"] == 185
    assert row["sched_dep_minute"] == 17 * 60 + 15
    assert row["sched_arr_minute"] == 20 * 60 + 5


def test_holiday_distances_are_signed_and_capped() -> None:
    dates = pd.Series(pd.to_datetime(["2013-07-04", "2013-07-02", "2013-07-06", "2013-08-15"]))
    holidays = us_federal_holidays(dates)
    assert pd.Timestamp("2013-07-04") in holidays
    features = holiday_features(dates, holidays, horizon_days=14)
    assert features["days_to_holiday"].tolist() == [0, 2, 14, 14]
    assert features["days_since_holiday"].tolist() == [0, 14, 2, 14]


def test_holiday_features_without_holidays_are_at_horizon() -> None:
    dates = pd.Series(pd.to_datetime(["2013-03-01"]))
    features = holiday_features(dates, pd.DatetimeIndex([]), horizon_days=5)
    assert features.iloc[0].tolist() == [5, 5]


def test_weather_joins_the_scheduled_hour_and_first_of_repeated_hours() -> None:
    key = {"origin": ["JFK"], "year": [2013], "month": [11], "day": [3], "hour": [1]}
    flights = pd.DataFrame({**key, "carrier": ["AA"]}, index=[7])
    base = {c: [0.0, 0.0] for c in ("dewp", "humid", "wind_dir", "wind_speed", "wind_gust",
                                      "precip", "pressure", "visib")}  # fmt: skip
    weather = pd.DataFrame(
        {**{k: v * 2 for k, v in key.items()}, **base, "temp": [41.0, 40.0],
         "time_hour": pd.to_datetime(["2013-11-03T06:00Z", "2013-11-03T05:00Z"])}
    )  # fmt: skip
    joined = weather_features(flights, weather)
    assert joined.index.tolist() == [7]
    assert joined["temp"].tolist() == [40.0]  # the earlier observation of the repeated hour
    missing = weather_features(flights.assign(hour=2), weather)
    assert missing["temp"].isna().all()


def test_plane_features_missing_for_unknown_tail(raw_tables: dict[str, pd.DataFrame]) -> None:
    flights = pd.DataFrame({"year": [2013, 2013, 2013], "tailnum": ["N1", "N404", None]})
    features = plane_features(flights, raw_tables["planes"])
    assert features["plane_age"].iloc[0] == 13
    assert features["plane_seats"].iloc[0] == 150
    assert features.iloc[1:][["plane_age", "plane_seats"]].isna().all().all()
    assert features["plane_manufacturer"].iloc[1:].isna().all()


def test_airport_features_and_block_time_across_time_zones(
    raw_tables: dict[str, pd.DataFrame],
) -> None:
    flights = pd.DataFrame(
        {"origin": ["JFK", "JFK"], "dest": ["LAX", "XXX"], "sched_dep_time": [2300, 900],
         "sched_arr_time": [200, 1100]}
    )  # fmt: skip
    features = airport_features(flights, raw_tables["airports"])
    # 23:00 EST is 04:00 UTC; 02:00 PST is 10:00 UTC: six hours in the air, past midnight.
    assert features["sched_block_min"].iloc[0] == 360
    assert features["dest_tz_offset"].iloc[0] == -8
    assert features.iloc[1].isna().all()  # unknown destination


def test_congestion_counts_the_whole_schedule() -> None:
    schedule = pd.DataFrame(
        {"origin": ["JFK", "JFK", "JFK", "LGA"], "dest": ["ATL", "ATL", "ORD", "ATL"],
         "carrier": ["AA", "DL", "AA", "AA"], "year": 2013, "month": 1, "day": 1,
         "hour": [8, 8, 9, 8]}
    )  # fmt: skip
    features = congestion_features(schedule.iloc[[0]], schedule_counts(schedule))
    assert features.iloc[0].to_dict() == {
        "origin_hour_departures": 2,
        "origin_day_departures": 3,
        "carrier_origin_day_departures": 2,
        "dest_day_arrivals": 3,
    }


def test_build_features_matches_the_processed_schema(processed: pd.DataFrame) -> None:
    check_table(processed, PROCESSED_SCHEMA, "processed")
    assert list(processed.columns) == list(PROCESSED_SCHEMA)
    assert processed.index.equals(pd.RangeIndex(len(processed)))


def test_no_feature_uses_information_from_after_departure(
    raw_tables: dict[str, pd.DataFrame],
) -> None:
    """Scrambling every post-departure column changes no feature (the label aside)."""
    labelled, _ = label_flights(raw_tables["flights"], 30)
    rng = np.random.default_rng(1)
    scrambled = labelled.copy()
    schedule = raw_tables["flights"].copy()
    for column in POST_DEPARTURE_COLUMNS:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
        schedule[column] = np.nan
    params = FeaturizeParams(holiday_horizon_days=14)
    side = {k: raw_tables[k] for k in ("weather", "planes", "airports")}
    original = with_label(
        build_features(labelled, schedule_counts(raw_tables["flights"]), **side, params=params),
        labelled,
    )
    changed = build_features(scrambled, schedule_counts(schedule), **side, params=params)
    pd.testing.assert_frame_equal(original[FEATURES], changed[FEATURES])
    assert not set(POST_DEPARTURE_COLUMNS) & set(FEATURES)
    assert LABEL in original
