"""Stage ``daily-evaluate``: the model's forecasts against the naive ones on every split; write
metrics and plot data.

Writes ``metrics/daily/metrics.json``: per split, the number of airport-days (``airport_days``:
named so that it does not collide with project ``late``'s ``n`` in ``dvc metrics show``), the MAE
and RMSE of
the model and of each naive forecast (persistence: D-1's share so far; mean_7d: the mean of
D-8..D-2), and the model's skill, ``1 - MAE_model / MAE_baseline``, against each and against the
best of them on that split (negative when the model is worse: it is reported as it is). On valid
and test, each MAE and the skill have their 95% interval beside them (``mae_low`` .. ``mae_high``)
from a bootstrap over whole days, the three airports of a day together (they share its weather);
those splits' scored rows (each airport-day's actual share, forecast and naive forecasts) go to
``data/daily/evaluation/``, so that two revisions can be compared day by day. The train split's
figures are in-sample. Under ``metrics/daily/plots/``: the forecast and the actual
share of each airport over the test period (``test/<airport>.json``), and the test residuals
against the forecast (``test/residuals.json``).
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.errors import run_stage
from stages.core.intervals import MetricSpec, RowsSpec, dates_of, evaluated, scored_rows
from stages.core.io import read_table, round_value, write_json, write_parquet_dir
from stages.core.metrics import regression_metrics, skill
from stages.core.splits import SPLITS
from stages.daily.contract import AIRPORTS, BASELINES, DAY_SCHEMA, KEY, TARGET
from stages.daily.paths import EVALUATION_DIR, METRICS_FILE, MODEL_FILE, PLOTS_DIR, days_path
from stages.daily.scoring import load_daily_model, predict_share

log = logging.getLogger("stages.daily.evaluate")

# The split whose forecasts are drawn.
PLOTTED_SPLIT = "test"
# The splits whose metrics get intervals and whose rows are kept (train's are in-sample).
INTERVAL_SPLITS = ("valid", "test")
# The scored rows' columns beside the key, the truth and the naive forecasts.
DAY, FORECAST = "date", "forecast"
# The headline metrics, with their intervals: recomputed from the scored rows by `make report`.
ROWS_SPEC = RowsSpec(
    key=tuple(KEY),
    unit=DAY,
    metrics=(
        MetricSpec("model.mae", "mae", TARGET, FORECAST),
        *(MetricSpec(f"{name}.mae", "mae", TARGET, column) for name, column in BASELINES.items()),
        MetricSpec("skill", "skill", TARGET, FORECAST, tuple(BASELINES.values())),
    ),
)


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


def rows_of(days: pd.DataFrame, forecast: pd.Series) -> pd.DataFrame:
    """The scored rows of a split: each airport-day's key, date, truth, forecast and baselines."""
    return scored_rows(days.assign(**{DAY: dates_of(days), FORECAST: forecast}), ROWS_SPEC)


def run(
    model: Pipeline, splits: dict[str, pd.DataFrame]
) -> tuple[dict, dict[str, list], dict[str, pd.DataFrame]]:
    """Metrics of every split (with intervals on ``INTERVAL_SPLITS``), every plot's rows by their
    name under the plots directory, and the scored rows of ``INTERVAL_SPLITS``."""
    forecasts = {
        name: pd.Series(predict_share(model, days), index=days.index)
        for name, days in splits.items()
    }
    metrics = {name: split_metrics(days, forecasts[name]) for name, days in splits.items()}
    scored = {
        name: rows_of(splits[name], forecasts[name]) for name in INTERVAL_SPLITS if name in splits
    }
    for name, rows in scored.items():
        metrics[name] = evaluated(metrics[name], rows, ROWS_SPEC)
    plotted, forecast = splits[PLOTTED_SPLIT], forecasts[PLOTTED_SPLIT]
    plots = {
        f"{PLOTTED_SPLIT}/{airport}": series_rows(plotted, forecast, airport)
        for airport in AIRPORTS
    }
    plots[f"{PLOTTED_SPLIT}/residuals"] = residual_rows(plotted, forecast)
    return metrics, plots, scored


def main() -> None:
    """Forecast every split with the model; write the metrics and the plot data."""
    model = load_daily_model(MODEL_FILE)
    splits = {name: read_table(days_path(name), DAY_SCHEMA) for name in SPLITS}
    metrics, plots, scored = run(model, splits)
    for name, values in metrics.items():
        log.info(
            "%s: MAE model %.4f, persistence %.4f, mean_7d %.4f; skill %.3f", name,
            values["model"]["mae"], values["persistence"]["mae"], values["mean_7d"]["mae"],
            values["skill"],
        )  # fmt: skip
    # Everything is computed before anything is written: a failure leaves the old outputs.
    write_parquet_dir(EVALUATION_DIR, scored)
    write_json(METRICS_FILE, metrics)
    for name, rows in plots.items():
        write_json(PLOTS_DIR / f"{name}.json", rows)


if __name__ == "__main__":
    run_stage(main)
