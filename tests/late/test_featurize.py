"""featurize: each feature builder on hand-made rows, and the whole table on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.core.calendar import minutes_of_day
from stages.core.errors import StageError
from stages.core.tables import check_table
from stages.late.contract import FEATURES, LABEL, POST_DEPARTURE_COLUMNS, PROCESSED_SCHEMA
from stages.late.featurize import (
    aircraft_leg_features,
    airport_features,
    build_features,
    calendar_features,
    congestion_features,
    delay_state_features,
    plane_features,
    summarise_departures,
    summarise_schedule,
    weather_features,
    weather_history_features,
    with_label,
)
from stages.late.params import FeaturizeParams
from stages.late.split import label_flights
from tests.conftest import make_raw_tables


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
         "hour": [8, 8, 9, 8], "sched_dep_time": [800, 830, 900, 815],
         "tailnum": ["N1", "N2", "N1", None]}
    )  # fmt: skip
    features = congestion_features(schedule.iloc[[0]], summarise_schedule(schedule))
    assert features.iloc[0].to_dict() == {
        "origin_hour_departures": 2,
        "origin_day_departures": 3,
        "carrier_origin_day_departures": 2,
        "dest_day_arrivals": 3,
    }


def test_aircraft_legs_order_a_tails_day() -> None:
    schedule = pd.DataFrame(
        {"tailnum": ["N1", "N1", "N2", "N1", None, "N1"], "year": 2013, "month": 1,
         "day": [1, 1, 1, 1, 1, 2], "sched_dep_time": [1400, 600, 700, 1000, 900, 600]}
    )  # fmt: skip
    full = schedule.assign(
        origin="JFK", dest="ATL", carrier="AA", hour=schedule["sched_dep_time"] // 100
    )
    legs = aircraft_leg_features(schedule, summarise_schedule(full))
    assert legs.index.tolist() == schedule.index.tolist()
    assert legs["tail_day_leg"].tolist()[:4] == [3, 1, 1, 2]
    assert legs["tail_day_legs"].tolist()[:4] == [3, 3, 1, 3]
    # 14:00 comes 240 minutes after the 10:00 leg; the first leg of a day has no previous one
    gaps = legs["tail_prev_gap_min"]
    assert gaps.iloc[0] == 240 and gaps.iloc[3] == 240
    assert gaps.iloc[[1, 2]].isna().all()
    assert legs.iloc[4].isna().all()  # no tail number
    assert legs.iloc[5][["tail_day_leg", "tail_day_legs"]].tolist() == [1, 1]  # a new day


def test_weather_history_sums_and_extremes_over_the_window() -> None:
    hours = pd.date_range("2013-01-01 00:00", periods=8, freq="h")
    weather = pd.DataFrame(
        {"origin": "JFK", "year": 2013, "month": 1, "day": 1, "hour": hours.hour,
         "precip": [0.0, 0.1, 0.2, 0.0, 0.0, 0.0, 0.3, 0.0],
         "visib": [10.0, 2.0, 5.0, 10.0, 10.0, 10.0, 1.0, 10.0],
         "wind_speed": [5.0, 20.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
         "pressure": [1020.0, 1019.0, 1018.0, 1015.0, 1014.0, 1013.0, 1012.0, 1010.0],
         "time_hour": hours.tz_localize("UTC")}
    )  # fmt: skip
    flights = pd.DataFrame({"origin": ["JFK", "JFK", "LGA"], "year": 2013, "month": 1, "day": 1,
                            "hour": [3, 5, 3]}, index=[4, 5, 6])  # fmt: skip
    history = weather_history_features(flights, weather, window_hours=3)
    assert history.index.tolist() == [4, 5, 6]
    first = history.loc[4]  # hours 1, 2 and 3
    assert first["precip_recent"] == pytest.approx(0.3)
    assert first["precip_day"] == pytest.approx(0.3)
    assert first["visib_recent_min"] == 2.0
    assert first["wind_recent_max"] == 20.0
    assert first["pressure_change"] == 1015.0 - 1020.0
    second = history.loc[5]  # hours 3, 4 and 5: the later rain at hour 6 is not seen
    assert second["precip_recent"] == 0.0 and second["visib_recent_min"] == 10.0
    assert history.loc[6].isna().all()  # no weather at LGA


def hourly_weather(year: int, seed: int) -> pd.DataFrame:
    """A weather table with an observation every hour of ``year`` at each origin, every value
    random: any read of a later hour would change some feature."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:00", freq="h")
    frames = []
    for origin in ("EWR", "JFK", "LGA"):
        values = {name: rng.random(len(hours)) * 10 for name in
                  ("temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
                   "pressure", "visib")}  # fmt: skip
        frames.append(pd.DataFrame({
            "origin": origin, "year": hours.year, "month": hours.month, "day": hours.day,
            "hour": hours.hour, **values, "time_hour": hours.tz_localize("UTC"),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_no_feature_reads_weather_from_after_the_scheduled_hour(
    raw_tables: dict[str, pd.DataFrame],
) -> None:
    """Each flight's features, built from the weather observed up to its scheduled hour only,
    equal those built from the whole table: nothing later can have leaked in."""
    flights = raw_tables["flights"]
    weather = hourly_weather(2013, seed=5)
    params = FeaturizeParams(
        holiday_horizon_days=14, weather_window_hours=3, realtime_cutoff_min=60
    )
    summary = summarise_schedule(flights)
    side = {"planes": raw_tables["planes"], "airports": raw_tables["airports"]}
    everything = build_features(flights, summary, weather, **side, params=params)
    weather_hour = pd.to_datetime(weather[["year", "month", "day", "hour"]])
    flight_hour = pd.to_datetime(flights[["year", "month", "day", "hour"]])
    for row in range(0, len(flights), 8):
        known = weather[weather_hour <= flight_hour.iloc[row]]
        alone = build_features(flights.iloc[[row]], summary, known, **side, params=params)
        pd.testing.assert_frame_equal(
            alone[FEATURES],
            everything[FEATURES].iloc[[row]].reset_index(drop=True),
            check_dtype=False,  # a single row may hold ints where the whole table has NaN
        )


def test_build_features_matches_the_processed_schema(processed: pd.DataFrame) -> None:
    check_table(processed, PROCESSED_SCHEMA, "processed")
    assert list(processed.columns) == list(PROCESSED_SCHEMA)
    assert processed.index.equals(pd.RangeIndex(len(processed)))


def test_no_feature_uses_the_flights_own_outcome(raw_tables: dict[str, pd.DataFrame]) -> None:
    """Scrambling every post-departure column of the flights scored changes no feature (the
    label aside): the airports' delay state reads other departures, and only those that had left
    before the cut-off (tested below)."""
    labelled, _ = label_flights(raw_tables["flights"], 30)
    rng = np.random.default_rng(1)
    scrambled = labelled.copy()
    for column in POST_DEPARTURE_COLUMNS:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    params = FeaturizeParams(
        holiday_horizon_days=14, weather_window_hours=3, realtime_cutoff_min=60
    )
    side = {k: raw_tables[k] for k in ("weather", "planes", "airports")}
    summary = summarise_schedule(raw_tables["flights"])
    original = with_label(build_features(labelled, summary, **side, params=params), labelled)
    changed = build_features(scrambled, summary, **side, params=params)
    pd.testing.assert_frame_equal(original[FEATURES], changed[FEATURES])
    assert not set(POST_DEPARTURE_COLUMNS) & set(FEATURES)
    assert LABEL in original


def departures_of(rows: list[tuple]) -> pd.DataFrame:
    """Departures from (origin, day of January 2013, sched_dep_time, dep_delay) rows."""
    frame = pd.DataFrame(rows, columns=["origin", "day", "sched_dep_time", "dep_delay"])
    return frame.assign(year=2013, month=1)


def test_the_delay_state_reads_the_departures_that_left_by_the_cutoff() -> None:
    departures = departures_of(
        [("EWR", 1, 600, 0.0), ("EWR", 1, 700, 30.0), ("EWR", 1, 800, 90.0),
         ("EWR", 1, 900, np.nan), ("JFK", 1, 600, 60.0), ("EWR", 2, 600, 5.0)]
    )  # fmt: skip
    flights = departures_of([("EWR", 1, 1000, 0.0), ("EWR", 1, 731, 0.0), ("EWR", 3, 900, 0.0)])
    state = delay_state_features(flights, summarise_departures(departures), cutoff_min=60)
    # 10:00, cut-off 09:00: left by then 06:00 (0), 07:30 (30); 09:30 (800 + 90) not yet, and
    # none in the hour 08:00-09:00
    assert state.iloc[0].tolist()[:2] == [15.0, 0.5]
    assert np.isnan(state.iloc[0, 2])
    # 07:31, cut-off 06:31: only 06:00 had left; nothing in the hour 05:31-06:31 but it
    assert state.iloc[1].tolist() == [0.0, 0.0, 0.0]
    # a day with no departures known: missing, not zero
    assert state.iloc[2].isna().all()


def test_the_delay_state_equals_its_rebuild_from_departures_known_at_the_cutoff() -> None:
    """The leakage test: for sampled flights, rebuild the features from only the departures
    whose actual departure is at least the cut-off before the flight's scheduled time; every
    feature equals the pipeline's. (Synthetic flights dense enough for an airport's day to have
    departures before most flights.)"""
    raw_tables = make_raw_tables(flights_per_month=900, seed=2)
    flights = raw_tables["flights"]
    params = FeaturizeParams(
        holiday_horizon_days=14, weather_window_hours=3, realtime_cutoff_min=60
    )
    side = {k: raw_tables[k] for k in ("weather", "planes", "airports")}
    summary = summarise_schedule(flights)
    everything = build_features(flights, summary, **side, params=params)
    dates = pd.to_datetime(flights[["year", "month", "day"]])
    left = dates + pd.to_timedelta(
        minutes_of_day(flights["sched_dep_time"]) + flights["dep_delay"], unit="min"
    )
    checked = 0
    for row in np.random.default_rng(5).choice(len(flights), size=40, replace=False):
        flight = flights.iloc[[row]]
        cutoff = dates.iloc[row] + pd.Timedelta(
            minutes=int(minutes_of_day(flight["sched_dep_time"]).iloc[0])
            - params.realtime_cutoff_min
        )
        known = flights.assign(dep_delay=flights["dep_delay"].where(left <= cutoff))
        alone = build_features(flight, summarise_schedule(flights, known), **side, params=params)
        pd.testing.assert_frame_equal(
            alone[FEATURES].reset_index(drop=True),
            everything.iloc[[row]][FEATURES].reset_index(drop=True),
            check_dtype=False,  # one flight's join has no missing plane to make a column float
        )
        checked += alone["origin_delay_mean_so_far"].notna().sum()
    assert checked > 10  # most sampled flights had departures before them to read


def test_a_feature_built_but_not_in_the_contract_stops_naming_it_and_the_file(
    raw_tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new feature column must be declared in the contract, or it would be dropped silently."""
    from stages.late import featurize

    def with_a_new_feature(flights: pd.DataFrame) -> pd.DataFrame:
        return calendar_features(flights).assign(is_weekend=0.0)

    monkeypatch.setattr(featurize, "calendar_features", with_a_new_feature)
    labelled, _ = label_flights(raw_tables["flights"], 30)
    with pytest.raises(
        StageError,
        match=r"features: built columns \['is_weekend'\] that the contract does not know; "
        r"declare them in stages/late/contract\.py",
    ):
        build_features(
            labelled, summarise_schedule(raw_tables["flights"]), raw_tables["weather"],
            raw_tables["planes"], raw_tables["airports"],
            FeaturizeParams(holiday_horizon_days=14, weather_window_hours=3, realtime_cutoff_min=60),
        )  # fmt: skip
