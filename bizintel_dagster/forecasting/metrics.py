"""Forecast accuracy measures (plain numpy, no Dagster).

- MAE: mean absolute error, in the metric's unit.
- sMAPE: mean of 2|a - f| / (|a| + |f|), in percent (0 when both are 0).
- MASE: MAE divided by the in-sample MAE of the one-step seasonal-naive forecast
  (season 7: y_t vs y_{t-7}) on the training data (Hyndman & Koehler, 2006). A
  perfect forecast scores 0; 1 means as good as the in-sample seasonal naive.
- coverage: share of actuals inside [lower, upper] (points without an interval
  are not counted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEASON = 7


def _arrays(*values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def mae(actual, forecast) -> float:
    a, f = _arrays(actual, forecast)
    return float(np.mean(np.abs(a - f))) if a.size else float("nan")


def smape(actual, forecast) -> float:
    a, f = _arrays(actual, forecast)
    if not a.size:
        return float("nan")
    denominator = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(a - f), denominator, out=np.zeros_like(a), where=denominator != 0)
    return float(100 * np.mean(ratio))


def seasonal_naive_scale(series: pd.Series, season: int = SEASON) -> float:
    """In-sample MAE of the seasonal-naive forecast: mean |y(d) - y(d - season days)|
    over the dates d where both are observed (a gap in the history removes the pairs
    that span it instead of comparing the wrong days). NaN if no pair exists."""
    if series.empty:
        return float("nan")
    lagged = series.copy()
    lagged.index = lagged.index + pd.Timedelta(days=season)
    paired = pd.concat([series.rename("y"), lagged.rename("lag")], axis=1, join="inner")
    if paired.empty:
        return float("nan")
    return float(np.mean(np.abs(paired["y"].to_numpy(float) - paired["lag"].to_numpy(float))))


def mase(actual, forecast, scale) -> float:
    """Mean of |a - f| / scale. ``scale`` is one number or one per point (each
    backtest origin has its own training data, hence its own scale). NaN when a
    scale is 0 or missing: MASE is undefined for a series the seasonal naive
    reproduces exactly."""
    a, f = _arrays(actual, forecast)
    s = np.broadcast_to(np.asarray(scale, dtype=float), a.shape)
    if not a.size or np.any(~np.isfinite(s)) or np.any(s <= 0):
        return float("nan")
    return float(np.mean(np.abs(a - f) / s))


def coverage(actual, lower, upper) -> float:
    """Share of points with an interval whose actual lies inside it (bounds
    included). NaN when no point has an interval."""
    a, lo, hi = _arrays(actual, lower, upper)
    has_interval = np.isfinite(lo) & np.isfinite(hi)
    if not has_interval.any():
        return float("nan")
    inside = (a >= lo) & (a <= hi)
    return float(np.mean(inside[has_interval]))
