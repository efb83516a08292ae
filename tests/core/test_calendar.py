"""Calendar and clock helpers: minutes of the day, US federal holidays and the distance to them."""

from __future__ import annotations

import pandas as pd

from stages.core.calendar import holiday_features, minutes_of_day, us_federal_holidays


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


def test_minutes_of_day() -> None:
    assert minutes_of_day(pd.Series([0, 545, 1230, 2359])).tolist() == [0, 345, 750, 1439]
