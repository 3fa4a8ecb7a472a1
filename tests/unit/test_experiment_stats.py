"""The experiment statistics pinned on hand-computed numbers (closed forms with
math only, independent of the statsmodels / scipy calls under test)."""

import math
from datetime import date

import pandas as pd
import pytest

from bizintel_dagster.defs.analytics.experiments import (
    ExperimentStatsConfig,
    experiment_statistics,
    required_sample_size,
)

Z_975, Z_80 = 1.959963984540054, 0.8416212335729143


def _counts(rows):
    return pd.DataFrame(
        [{"experiment_id": e, "variant": v, "is_control": v == "control", "exposed_users": n,
          "converted_users": c, "first_exposure_date": date(2026, 6, 1), "last_exposure_date": date(2026, 6, 30)}
         for e, v, n, c in rows]
    )


def _row(frame, experiment, variant):
    return frame[(frame.experiment_id == experiment) & (frame.variant == variant)].iloc[0]


def test_lift_z_test_and_confidence_interval_against_control():
    # control 100 / 1000 = 10 %, treatment 130 / 1000 = 13 %
    results = experiment_statistics(_counts([("e", "control", 1000, 100), ("e", "treatment", 1000, 130)]),
                                    ExperimentStatsConfig())
    t = _row(results, "e", "treatment")
    pooled = 230 / 2000
    z = (0.13 - 0.10) / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000))
    se = math.sqrt(0.10 * 0.90 / 1000 + 0.13 * 0.87 / 1000)
    assert t.conversion_rate == pytest.approx(0.13)
    assert t.control_conversion_rate == pytest.approx(0.10)
    assert t.absolute_lift == pytest.approx(0.03)
    assert t.relative_lift == pytest.approx(0.30)
    assert t.z_score == pytest.approx(z, rel=1e-9)                       # 2.1027
    assert t.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-6)  # 0.0355
    assert t.lift_ci_low == pytest.approx(0.03 - Z_975 * se, rel=1e-6)
    assert t.lift_ci_high == pytest.approx(0.03 + Z_975 * se, rel=1e-6)
    assert bool(t.is_significant)
    c = _row(results, "e", "control")
    assert pd.isna(c.p_value) and pd.isna(c.relative_lift)
    # Wilson interval of the control rate contains it and is not symmetric
    assert c.conversion_rate_ci_low < 0.10 < c.conversion_rate_ci_high


def test_sample_ratio_mismatch_is_a_chi_square_on_exposures():
    balanced = experiment_statistics(_counts([("e", "control", 1000, 10), ("e", "treatment", 1000, 10)]),
                                     ExperimentStatsConfig())
    assert _row(balanced, "e", "control").srm_chi_square == pytest.approx(0.0)
    assert not balanced.srm_detected.any()
    skewed = experiment_statistics(_counts([("e", "control", 1000, 10), ("e", "treatment", 1200, 10)]),
                                   ExperimentStatsConfig())
    chi2 = 2 * 100 ** 2 / 1100  # (1000 - 1100)^2 / 1100 + (1200 - 1100)^2 / 1100
    row = _row(skewed, "e", "treatment")
    assert row.srm_chi_square == pytest.approx(chi2)
    assert row.srm_p_value == pytest.approx(math.erfc(math.sqrt(chi2 / 2)), rel=1e-6)  # 1 dof
    assert skewed.srm_detected.all()
    assert row.observed_share == pytest.approx(1200 / 2200)


def test_required_sample_size_for_a_relative_mde():
    # 10 % -> 11 % at alpha 0.05 (two-sided), power 0.8, Cohen's h = 2 asin(sqrt p1) - 2 asin(sqrt p0):
    # n per variant = 2 ((z_a/2 + z_b) / h)^2 (each arcsine-transformed rate has variance 1 / n)
    h = 2 * math.asin(math.sqrt(0.11)) - 2 * math.asin(math.sqrt(0.10))
    expected = 2 * ((Z_975 + Z_80) / h) ** 2  # ~14,745 per variant
    # the textbook normal approximation agrees within a few users
    approx = (Z_975 + Z_80) ** 2 * (0.10 * 0.90 + 0.11 * 0.89) / 0.01 ** 2
    assert abs(expected - approx) < 10
    assert abs(required_sample_size(0.10, 0.10, 0.05, 0.8) - math.ceil(expected)) <= 1
    assert required_sample_size(0.0, 0.10, 0.05, 0.8) is None
    assert required_sample_size(0.95, 0.10, 0.05, 0.8) is None  # target rate above 100 %
    enough = experiment_statistics(_counts([("e", "control", 15000, 1500), ("e", "treatment", 14990, 1650)]),
                                   ExperimentStatsConfig())
    assert enough.has_required_sample_size.all()
    assert (enough.required_sample_size_per_variant == required_sample_size(0.10, 0.10, 0.05, 0.8)).all()
    too_few = experiment_statistics(_counts([("e", "control", 15000, 1500), ("e", "treatment", 9000, 990)]),
                                    ExperimentStatsConfig())
    assert not too_few.has_required_sample_size.any()


def test_degenerate_and_uncontrolled_experiments_do_not_crash():
    results = experiment_statistics(
        _counts([("none", "control", 50, 0), ("none", "treatment", 50, 0),
                 ("nocontrol", "a", 10, 1), ("nocontrol", "b", 10, 2), ("empty", "control", 0, 0)]),
        ExperimentStatsConfig(),
    )
    assert set(results.experiment_id) == {"none", "nocontrol"}  # a variant without exposures is dropped
    none = _row(results, "none", "treatment")
    assert none.absolute_lift == 0 and pd.isna(none.p_value) and pd.isna(none.relative_lift)
    assert results[results.experiment_id == "nocontrol"].absolute_lift.isna().all()
