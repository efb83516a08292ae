"""Stage ``daily-evaluate``: the model's forecasts against the naive ones on every split; write
metrics and plot data.

Writes ``metrics/daily/metrics.json``: per split, the number of airport-days (``airport_days``:
named so that it does not collide with project ``late``'s ``n`` in ``dvc metrics show``), the MAE
and RMSE of
the model and of each naive forecast (persistence: D-1's share so far; mean_7d: the mean of
D-8..D-2), and the model's skill, ``1 - MAE_model / MAE_baseline``, against each and against the
best of them on that split (negative when the model is worse: it is reported as it is). The
train split's figures are in-sample. Under ``metrics/daily/plots/``: the forecast and the actual
share of each airport over the test period (``test/<airport>.json``), and the test residuals
against the forecast (``test/residuals.json``).
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.errors import run_stage
from stages.core.io import read_table, write_json
from stages.core.metrics import regression_metrics, round_value, skill
from stages.core.splits import SPLITS
from stages.daily.contract import AIRPORTS, BASELINES, DAY_SCHEMA, TARGET
from stages.daily.paths import METRICS_FILE, MODEL_FILE, PLOTS_DIR, days_path
from stages.daily.scoring import load_daily_model, predict_share

log = logging.getLogger("stages.daily.evaluate")

# The split whose forecasts are drawn.
PLOTTED_SPLIT = "test"


def split_metrics(days: pd.DataFrame, forecast: pd.Series) -> dict:
    """The errors of the model's ``forecast`` and of each naive forecast on ``days``, and the
    model's skill against each baseline and against the best of them."""
    actual = days[TARGET].to_numpy()
    errors = {"model": regression_metrics(actual, forecast.to_numpy())}
    for name, column in BASELINES.items():
        errors[name] = regression_metrics(actual, days[column].to_numpy())
    best = min(errors[name]["mae"] for name in BASELINES)
    return {
        "airport_days": len(days),
        **{name: {"mae": value["mae"], "rmse": value["rmse"]} for name, value in errors.items()},
        "skill": skill(errors["model"]["mae"], best),
        **{
            f"skill_vs_{name}": skill(errors["model"]["mae"], errors[name]["mae"])
            for name in BASELINES
        },
    }


def series_rows(days: pd.DataFrame, forecast: pd.Series, airport: str) -> list[dict]:
    """One airport's actual and forecast share by day, with the best-known naive forecasts:
    rows for ``dvc plots`` (``day_of_year`` is the x axis; ``date`` is there to read)."""
    dates = pd.to_datetime(days[["year", "month", "day"]])
    mine = (days["origin"] == airport).to_numpy()
    return [
        {
            "date": date.strftime("%Y-%m-%d"),
            "day_of_year": int(date.day_of_year),
            "actual": round_value(actual),
            "forecast": round_value(predicted),
            "mean_7d": round_value(mean_7d),
        }
        for date, actual, predicted, mean_7d in zip(
            dates[mine], days[TARGET][mine], forecast[mine], days[BASELINES["mean_7d"]][mine],
            strict=True,
        )
    ]  # fmt: skip


def residual_rows(days: pd.DataFrame, forecast: pd.Series) -> list[dict]:
    """Each airport-day's forecast and residual (actual - forecast): rows for ``dvc plots``."""
    return [
        {
            "origin": origin,
            "forecast": round_value(predicted),
            "residual": round_value(actual - predicted),
        }
        for origin, actual, predicted in zip(days["origin"], days[TARGET], forecast, strict=True)
    ]


def run(model: Pipeline, splits: dict[str, pd.DataFrame]) -> tuple[dict, dict[str, list]]:
    """Metrics of every split, and every plot's rows by their name under the plots directory."""
    forecasts = {
        name: pd.Series(predict_share(model, days), index=days.index)
        for name, days in splits.items()
    }
    metrics = {name: split_metrics(days, forecasts[name]) for name, days in splits.items()}
    plotted, forecast = splits[PLOTTED_SPLIT], forecasts[PLOTTED_SPLIT]
    plots = {
        f"{PLOTTED_SPLIT}/{airport}": series_rows(plotted, forecast, airport)
        for airport in AIRPORTS
    }
    plots[f"{PLOTTED_SPLIT}/residuals"] = residual_rows(plotted, forecast)
    return metrics, plots


def main() -> None:
    """Forecast every split with the model; write the metrics and the plot data."""
    model = load_daily_model(MODEL_FILE)
    splits = {name: read_table(days_path(name), DAY_SCHEMA) for name in SPLITS}
    metrics, plots = run(model, splits)
    for name, values in metrics.items():
        log.info(
            "%s: MAE model %.4f, persistence %.4f, mean_7d %.4f; skill %.3f", name,
            values["model"]["mae"], values["persistence"]["mae"], values["mean_7d"]["mae"],
            values["skill"],
        )  # fmt: skip
    # Everything is computed before anything is written: a failure leaves the old outputs.
    write_json(METRICS_FILE, metrics)
    for name, rows in plots.items():
        write_json(PLOTS_DIR / f"{name}.json", rows)


if __name__ == "__main__":
    run_stage(main)
