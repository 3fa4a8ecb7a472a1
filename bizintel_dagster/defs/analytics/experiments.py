"""Experiment statistics per experiment and variant (seeds 001 / 002).

The counts come from SQL (dbt model ``experiments.experiment_variant_counts``:
exposed users, converted users); only the per-variant statistics are computed
here, with statsmodels and scipy rather than hand-rolled distributions:

- conversion_rate = converted_users / exposed_users, with a Wilson interval;
- absolute_lift = rate - control rate, relative_lift = absolute_lift / control rate;
- z_score / p_value: two-sided two-proportion z-test with pooled variance
  (``statsmodels.stats.proportion.proportions_ztest``);
- lift_ci_low / lift_ci_high: Wald interval of the difference of proportions
  (``confint_proportions_2indep``, compare="diff", method="wald");
- srm_chi_square / srm_p_value: chi-square goodness of fit of the exposed users
  per variant against an equal split (``scipy.stats.chisquare``); srm_detected
  when p < srm_alpha (0.001 by default: a ratio that far off means the
  assignment, not chance);
- required_sample_size_per_variant: users per variant to detect a relative lift
  of mde_relative over the control rate at alpha and power (Cohen's h,
  ``proportion_effectsize`` + ``NormalIndPower.solve_power``, two-sided).
"""

import math

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from bizintel_dagster.metadata import column_schema, query_table
from bizintel_dagster.tables import Table, col
from bizintel_dagster.defs.automation.conditions import condition_for_group
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.warehouse import WAREHOUSE_POOL

RESULTS_KEY = dg.AssetKey(["experiments", "experiment_results"])
COUNTS_KEY = dg.AssetKey(["experiments", "experiment_variant_counts"])

_RATE = "share of exposed users who converted, 0-1"
TABLE = Table("experiments", "experiment_results", (
    col("experiment_id", "varchar", "The experiment.", not_null=True),
    col("variant", "varchar", "The variant (users assigned by their first exposure).", not_null=True),
    col("is_control", "boolean", "The control variant the others are compared with (dbt var experiment_control_variant)."),
    col("exposed_users", "bigint", "Users assigned to the variant (users exposed to several variants excluded)."),
    col("converted_users", "bigint", "Assigned users who converted at or after their first exposure."),
    col("conversion_rate", "double", f"converted_users / exposed_users: {_RATE}."),
    col("conversion_rate_ci_low", "double", "Lower bound of the Wilson confidence interval (level 1 - alpha) of conversion_rate."),
    col("conversion_rate_ci_high", "double", "Upper bound of that Wilson interval."),
    col("control_conversion_rate", "double", f"The control's conversion rate ({_RATE})."),
    col("absolute_lift", "double", "conversion_rate - control_conversion_rate (rate points, 0-1 scale); null for the control."),
    col("relative_lift", "double", "absolute_lift / control_conversion_rate; null for the control or a zero control rate."),
    col("z_score", "double", "Two-proportion z statistic vs the control."),
    col("p_value", "double", "Two-sided p-value of that z-test."),
    col("lift_ci_low", "double", "Lower bound of the Wald confidence interval (level 1 - alpha) of absolute_lift."),
    col("lift_ci_high", "double", "Upper bound of that Wald interval."),
    col("is_significant", "boolean", "p_value < alpha."),
    col("expected_share", "double", "Share of exposures the variant should get under an equal split (1 / variants)."),
    col("observed_share", "double", "Share of the experiment's exposed users in the variant."),
    col("srm_chi_square", "double", "Chi-square statistic of observed vs expected exposures (sample-ratio mismatch)."),
    col("srm_p_value", "double", "p-value of that chi-square test."),
    col("srm_detected", "boolean", "srm_p_value < srm_alpha: assignment looks broken, do not trust the lift."),
    col("mde_relative", "double", "Minimum detectable effect the sample size is computed for, relative to the control rate."),
    col("required_sample_size_per_variant", "bigint", "Users per variant needed to detect mde_relative at alpha and power."),
    col("has_required_sample_size", "boolean", "Every variant of the experiment has at least that many users."),
    col("alpha", "double", "Significance level (two-sided) used."),
    col("power", "double", "Statistical power used for the sample size."),
    col("first_exposure_date", "date", "First business-local day a user of the variant was exposed."),
    col("last_exposure_date", "date", "Last business-local day a user of the variant was exposed."),
))
COLUMNS = TABLE.column_names


class ExperimentStatsConfig(dg.Config):
    alpha: float = 0.05          # significance level (two-sided)
    power: float = 0.8           # power for the required sample size
    mde_relative: float = 0.10   # minimum detectable effect, relative to the control rate
    srm_alpha: float = 0.001     # sample-ratio-mismatch threshold


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def required_sample_size(baseline: float, mde_relative: float, alpha: float, power: float) -> int | None:
    """Users per variant (equal split) to detect baseline -> baseline x (1 + mde)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    target = baseline * (1 + mde_relative)
    if not 0 < baseline < 1 or not 0 < target < 1 or target == baseline:
        return None
    effect = abs(proportion_effectsize(target, baseline))
    n = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided")
    return int(math.ceil(n))


def _versus_control(row, control, alpha: float) -> dict:
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    n, c = int(row.exposed_users), int(row.converted_users)
    n0, c0 = int(control.exposed_users), int(control.converted_users)
    p, p0 = c / n, c0 / n0
    out = {"control_conversion_rate": p0, "absolute_lift": p - p0,
           "relative_lift": (p - p0) / p0 if p0 > 0 else None}
    pooled = (c + c0) / (n + n0)
    if 0 < pooled < 1:  # otherwise both variants are all-or-nothing: no variance to test
        z, p_value = proportions_ztest([c, c0], [n, n0], alternative="two-sided")
        out.update(z_score=_finite(z), p_value=_finite(p_value))
        low, high = confint_proportions_2indep(c, n, c0, n0, compare="diff", method="wald", alpha=alpha)
        out.update(lift_ci_low=_finite(low), lift_ci_high=_finite(high))
        out["is_significant"] = out["p_value"] is not None and out["p_value"] < alpha
    return out


def experiment_statistics(counts: pd.DataFrame, config: ExperimentStatsConfig) -> pd.DataFrame:
    """One row per experiment and variant from the SQL counts (columns experiment_id,
    variant, is_control, exposed_users, converted_users, first/last_exposure_date)."""
    # scipy and statsmodels are imported where they are used (here and above): every
    # Dagster process imports this module to build the definitions, and only the run
    # that computes the statistics needs them (about a second per process).
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    rows = []
    for experiment_id, group in counts.groupby("experiment_id", sort=True):
        group = group[group["exposed_users"] > 0].sort_values("variant")
        if group.empty:
            continue
        controls = group[group["is_control"]]
        control = controls.iloc[0] if len(controls) else None
        observed = group["exposed_users"].to_numpy(dtype=float)
        expected_share = 1 / len(group)
        srm_chi_square = srm_p_value = None
        if len(group) > 1:
            chi2, srm_p = stats.chisquare(observed, observed.sum() * expected_share)
            srm_chi_square, srm_p_value = _finite(chi2), _finite(srm_p)
        baseline = (control.converted_users / control.exposed_users) if control is not None else None
        required = (required_sample_size(baseline, config.mde_relative, config.alpha, config.power)
                    if baseline is not None else None)
        for row in group.itertuples(index=False):
            n, c = int(row.exposed_users), int(row.converted_users)
            low, high = proportion_confint(c, n, alpha=config.alpha, method="wilson")
            record = {
                "experiment_id": experiment_id, "variant": row.variant, "is_control": bool(row.is_control),
                "exposed_users": n, "converted_users": c, "conversion_rate": c / n,
                "conversion_rate_ci_low": _finite(low), "conversion_rate_ci_high": _finite(high),
                "expected_share": expected_share, "observed_share": n / observed.sum(),
                "srm_chi_square": srm_chi_square, "srm_p_value": srm_p_value,
                "srm_detected": srm_p_value is not None and srm_p_value < config.srm_alpha,
                "mde_relative": config.mde_relative, "required_sample_size_per_variant": required,
                "has_required_sample_size": (required is not None and int(group["exposed_users"].min()) >= required),
                "alpha": config.alpha, "power": config.power,
                "first_exposure_date": row.first_exposure_date, "last_exposure_date": row.last_exposure_date,
            }
            if control is not None and not row.is_control:
                record.update(_versus_control(row, control, config.alpha))
            elif control is not None:
                record["control_conversion_rate"] = c / n
            rows.append(record)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("is_control", "is_significant", "srm_detected", "has_required_sample_size"):
        frame[column] = frame[column].astype("boolean")
    for column in ("required_sample_size_per_variant",):
        frame[column] = frame[column].astype("Int64")
    return frame


def _headline(results: pd.DataFrame) -> str:
    """The strongest significant lift, or that there is none yet."""
    winners = results[(~results["is_control"]) & results["is_significant"].fillna(False)]
    if winners.empty:
        return "no significant lift yet"
    best = winners.sort_values("relative_lift", ascending=False).iloc[0]
    return (f"{best.experiment_id} {best.variant}: {best.relative_lift:+.1%} conversion vs control "
            f"(p = {best.p_value:.2g})")


@dg.asset(
    key=RESULTS_KEY,
    group_name="experiments",
    freshness_policy=freshness_policy_for_group("experiments"),
    automation_condition=condition_for_group("experiments"),
    deps=[COUNTS_KEY],
    owners=OWNERS,
    kinds={"python", "pandas", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata=TABLE.metadata(),
    check_specs=[dg.AssetCheckSpec("no_sample_ratio_mismatch", asset=RESULTS_KEY,
                                   description="Exposures per variant match the expected equal split "
                                   "(chi-square p >= srm_alpha); a mismatch means broken assignment.")],
    description="Per experiment and variant: exposures, conversions, conversion rate (Wilson CI), "
    "absolute and relative lift vs control, two-proportion z-test p-value, Wald CI of the lift, "
    "sample-ratio-mismatch chi-square flag and the sample size per variant needed for the configured "
    "minimum detectable effect. Counts from experiments.experiment_variant_counts (SQL); statistics "
    "with statsmodels / scipy.",
)
def experiment_results(context: dg.AssetExecutionContext, config: ExperimentStatsConfig,
                       warehouse: DuckDBResource):
    def read_counts() -> pd.DataFrame:
        with warehouse.get_connection() as con:
            return con.execute(
                "select * from experiments.experiment_variant_counts order by experiment_id, variant"
            ).fetchdf()

    counts = retry_transient(context, read_counts)
    results = experiment_statistics(counts, config)

    def write(frame: pd.DataFrame) -> tuple[dg.MetadataValue, dict]:
        with warehouse.get_connection() as con:
            con.execute(TABLE.ddl(replace=True))
            con.register("experiment_results_frame", frame)
            # by name: a frame column the declaration lacks is an error, not a silent extra column
            con.execute(f"insert into {TABLE.relation} by name select * from experiment_results_frame")
            con.unregister("experiment_results_frame")
            return query_table(con, """
                select experiment_id, variant, exposed_users as users, converted_users as conversions,
                       round(conversion_rate, 4) as rate, round(relative_lift, 4) as relative_lift,
                       round(p_value, 4) as p_value, round(lift_ci_low, 4) as ci_low,
                       round(lift_ci_high, 4) as ci_high, srm_detected as srm,
                       required_sample_size_per_variant as n_needed
                from experiments.experiment_results order by experiment_id, variant"""), \
                column_schema(con, ("experiments", "experiment_results"), TABLE.descriptions)

    preview, schema = retry_transient(context, lambda: write(results))
    srm = sorted(results.loc[results["srm_detected"].fillna(False), "experiment_id"].unique())
    yield dg.MaterializeResult(
        metadata={
            **schema,
            "dagster/row_count": dg.MetadataValue.int(len(results)),
            "experiments": dg.MetadataValue.int(int(results["experiment_id"].nunique())),
            "headline": dg.MetadataValue.text(_headline(results)),
            "significant_variants": dg.MetadataValue.int(
                int(((~results["is_control"]) & results["is_significant"].fillna(False)).sum())),
            "srm_flags": dg.MetadataValue.int(len(srm)),
            "preview": preview,
        },
        check_results=[dg.AssetCheckResult(
            check_name="no_sample_ratio_mismatch",
            passed=not srm,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"experiments_with_srm": dg.MetadataValue.text(", ".join(srm) or "-"),
                      "srm_alpha": config.srm_alpha},
        )],
    )
