"""Rolling-origin backtest and prediction intervals calibrated on its errors.

Backtest: for every origin date o (each observed day, newest first, with at
least ``min_train`` observed days up to o) the model is fitted on the history up
to o and forecasts every observed day in (o, o + horizon]. Each point keeps its
origin's MASE scale (in-sample seasonal-naive MAE of that training history).

Intervals (``HorizonIntervals``): the errors e = actual - forecast of earlier
origins are standardised by a horizon-dependent scale s(h) = a + b*h (a, b >= 0,
non-negative least squares on |e|), and the interval at horizon h is
forecast + s(h) * [q_lo, q_hi], with q the empirical quantiles of e / s(h)
(10 %/90 % for the 80 % interval, 2.5 %/97.5 % for the 95 % interval), widened
where needed to contain the point itself (``contain``). Empirical
quantiles keep the skew of lumpy series (invoices land on a few days); the
linear scale lets intervals widen with the horizon and extrapolate to horizons
the backtest has few points for.

Coverage is measured out of sample: the interval of a backtest point at origin
o is calibrated only on errors whose target day is <= o (what was known then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bizintel_dagster.forecasting.metrics import seasonal_naive_scale
from bizintel_dagster.forecasting.models import NotEnoughHistory

LEVELS = {80: (0.10, 0.90), 95: (0.025, 0.975)}
MIN_CALIBRATION_POINTS = 20

BACKTEST_COLUMNS = ["origin_date", "target_date", "horizon_days", "actual", "point", "mase_scale"]


@dataclass(frozen=True)
class HorizonIntervals:
    a: float
    b: float
    quantiles: dict[int, tuple[float, float]]
    n_points: int

    @classmethod
    def fit(cls, errors, horizons, min_points: int = MIN_CALIBRATION_POINTS) -> "HorizonIntervals | None":
        e = np.asarray(errors, dtype=float)
        h = np.asarray(horizons, dtype=float)
        keep = np.isfinite(e) & np.isfinite(h)
        e, h = e[keep], h[keep]
        if e.size < min_points:
            return None
        from scipy.optimize import nnls  # here: the definitions load without scipy

        (a, b), _ = nnls(np.column_stack([np.ones_like(h), h]), np.abs(e))
        if a + b * h.min() <= 0:  # every error 0 (or b alone and h = 0): degenerate but valid
            a = max(a, 1e-9)
        u = e / (a + b * h)
        quantiles = {level: (float(np.quantile(u, lo)), float(np.quantile(u, hi))) for level, (lo, hi) in LEVELS.items()}
        return cls(a=float(a), b=float(b), quantiles=quantiles, n_points=int(e.size))

    def scale(self, horizons) -> np.ndarray:
        return self.a + self.b * np.asarray(horizons, dtype=float)

    def bounds(self, point, horizons, level: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.scale(horizons)
        q_lo, q_hi = self.quantiles[level]
        p = np.asarray(point, dtype=float)
        return contain(p, p + q_lo * s, p + q_hi * s)

    def describe(self) -> str:
        return (
            f"s(h) = {self.a:.4g} + {self.b:.4g}*h from {self.n_points} backtest errors; "
            + ", ".join(f"{lvl} %: [{lo:+.2f}, {hi:+.2f}]*s(h)" for lvl, (lo, hi) in self.quantiles.items())
        )


def contain(point, lower, upper) -> tuple[np.ndarray, np.ndarray]:
    """Widen an interval to hold its own point forecast. Intervals built from a
    biased model's errors can lie wholly above (or below) its point; a
    published point outside its own interval reads as a contradiction, so the
    bound on the point's side moves to the point. NaN bounds (no interval) stay NaN."""
    p = np.asarray(point, dtype=float)
    return np.minimum(np.asarray(lower, dtype=float), p), np.maximum(np.asarray(upper, dtype=float), p)


def origins(y: pd.Series, min_train: int, max_origins: int | None = None) -> list[pd.Timestamp]:
    """Observed days with at least min_train observed days up to them, leaving at
    least one later day to forecast; the newest max_origins of them, oldest first."""
    candidates = list(y.index[min_train - 1 : -1])
    if max_origins is not None:
        candidates = candidates[-max_origins:]
    return candidates


def rolling_origin(
    y: pd.Series,
    make_model: Callable[[], object],
    *,
    min_train: int = 28,
    horizon: int = 90,
    max_origins: int | None = 120,
) -> pd.DataFrame:
    """Backtest points (``BACKTEST_COLUMNS``), oldest origin first. An origin the
    model cannot be fitted at (e.g. a weekday missing from its history) is skipped."""
    frames = []
    for origin in origins(y, min_train, max_origins):
        train = y[y.index <= origin]
        future = y[(y.index > origin) & (y.index <= origin + pd.Timedelta(days=horizon))]
        if future.empty:
            continue
        try:
            model = make_model().fit(train)
        except NotEnoughHistory:
            continue
        frames.append(pd.DataFrame({
            "origin_date": origin,
            "target_date": future.index,
            "horizon_days": (future.index - origin).days,
            "actual": future.to_numpy(float),
            "point": model.predict(future.index),
            "mase_scale": seasonal_naive_scale(train),
        }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in BACKTEST_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def add_out_of_sample_intervals(points: pd.DataFrame, min_points: int = MIN_CALIBRATION_POINTS) -> pd.DataFrame:
    """Add lower/upper 80 and 95 columns to backtest points: each origin's
    intervals calibrated on the errors of days up to that origin only (NaN while
    fewer than min_points such errors exist)."""
    out = points.copy()
    for level in LEVELS:
        out[f"lower_{level}"] = np.nan
        out[f"upper_{level}"] = np.nan
    if out.empty:
        return out
    errors = (out["actual"] - out["point"]).to_numpy(float)
    target = out["target_date"].to_numpy()
    horizon = out["horizon_days"].to_numpy(float)
    for origin, rows in out.groupby("origin_date").groups.items():
        known = target <= np.datetime64(origin)
        calibration = HorizonIntervals.fit(errors[known], horizon[known], min_points)
        if calibration is None:
            continue
        # judged only where the calibration has seen errors at that horizon
        rows = [r for r in rows if out.at[r, "horizon_days"] <= horizon[known].max()]
        for level in LEVELS:
            lo, hi = calibration.bounds(out.loc[rows, "point"], out.loc[rows, "horizon_days"], level)
            out.loc[rows, f"lower_{level}"] = lo
            out.loc[rows, f"upper_{level}"] = hi
    return out
