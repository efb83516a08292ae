"""Calendar and clock helpers every project can use: clock times as minutes of the day, US
federal holidays and the days to the next and since the last of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar


def minutes_of_day(hhmm: pd.Series) -> pd.Series:
    """Minutes after midnight of clock times written as HHMM integers (545 -> 345)."""
    return (hhmm // 100) * 60 + hhmm % 100


def us_federal_holidays(dates: pd.Series) -> pd.DatetimeIndex:
    """US federal holidays from a year before the first date to a year after the last."""
    start = dates.min() - pd.DateOffset(years=1)
    end = dates.max() + pd.DateOffset(years=1)
    return USFederalHolidayCalendar().holidays(start=start, end=end)


def holiday_features(
    dates: pd.Series, holidays: pd.DatetimeIndex, horizon_days: int
) -> pd.DataFrame:
    """Days to the next and since the last holiday (0 on the day itself), capped at the horizon."""
    day = dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
    holiday_days = np.sort(holidays.to_numpy(dtype="datetime64[D]").astype(np.int64))
    if len(holiday_days) == 0:
        capped = np.full(len(day), horizon_days)
        return pd.DataFrame(
            {"days_to_holiday": capped, "days_since_holiday": capped}, index=dates.index
        )
    # Pad with far-away sentinels so every date has a holiday on each side.
    padded = np.concatenate(([np.iinfo(np.int32).min], holiday_days, [np.iinfo(np.int32).max]))
    next_index = np.searchsorted(padded, day, side="left")
    last_index = np.searchsorted(padded, day, side="right") - 1
    to_next = np.minimum(padded[next_index] - day, horizon_days)
    since_last = np.minimum(day - padded[last_index], horizon_days)
    return pd.DataFrame(
        {"days_to_holiday": to_next, "days_since_holiday": since_last}, index=dates.index
    )
