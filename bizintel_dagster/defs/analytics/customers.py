"""k-means segmentation of B2B accounts on RFM features (seed 003).

Features per account from ``customers.account_scorecard`` (SQL): recency = days
since the last sponsorship order (accounts that never ordered get the longest
recency seen + 1), frequency = orders to date, monetary = revenue to date (all
non-void billing, reporting minor units). Each is log1p-transformed and
standardised (scikit-learn ``StandardScaler``); k-means (``KMeans``, fixed seed,
10 starts) is fitted for every k in 2..max_k and the k with the highest mean
silhouette wins (never hard-coded). Clusters are numbered by descending mean
revenue (segment 1 = most valuable) and their profiles are recorded as metadata.
"""

import math

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from bizintel_dagster.metadata import column_schema, markdown_table
from bizintel_dagster.tables import Table, col
from bizintel_dagster.defs.automation.conditions import condition_for_group
from bizintel_dagster.defs.freshness import freshness_policy_for_group
from bizintel_dagster.policies import OWNERS, retry_transient
from bizintel_dagster.warehouse import WAREHOUSE_POOL

SEGMENTS_KEY = dg.AssetKey(["customers", "account_kmeans_segments"])
SCORECARD_KEY = dg.AssetKey(["customers", "account_scorecard"])
FEATURES = ["recency_days", "frequency_orders", "monetary_minor"]
TABLE = Table("customers", "account_kmeans_segments", (
    col("account_id", "varchar", "The B2B account (company or brand level, as in customers.account_scorecard).",
        not_null=True),
    col("segment", "varchar", "Commercial segment from the accounts seed (SMB, Mid-Market, Enterprise)."),
    col("recency_days", "double", "Days since the last sponsorship order (never ordered: longest recency seen + 1)."),
    col("frequency_orders", "double", "Sponsorship orders to date."),
    col("monetary_minor", "double", "Billing revenue to date, reporting-currency minor units (e.g. ZAR cents), "
        "negative clipped to 0."),
    col("kmeans_segment", "bigint", "k-means cluster, numbered by descending mean monetary_minor (1 = most valuable)."),
    col("k", "bigint", "Number of clusters chosen (highest mean silhouette among 2..max_k; 1: too few accounts)."),
    col("silhouette", "double", "Mean silhouette of the chosen k (-1..1; null when k = 1)."),
))


class KMeansConfig(dg.Config):
    max_k: int = 6           # k is chosen by silhouette among 2..max_k
    random_state: int = 42


def rfm_features(scorecard: pd.DataFrame) -> pd.DataFrame:
    frame = scorecard[["account_id", "segment", "days_since_last_order", "orders_to_date",
                       "revenue_to_date_minor"]].copy()
    never = frame["days_since_last_order"].isna()
    longest = frame["days_since_last_order"].max()
    longest = 0 if pd.isna(longest) else longest
    frame["recency_days"] = frame["days_since_last_order"].fillna(longest + 1).astype(float)
    frame.loc[never, "recency_days"] = float(longest + 1)
    frame["frequency_orders"] = frame["orders_to_date"].fillna(0).astype(float)
    frame["monetary_minor"] = frame["revenue_to_date_minor"].fillna(0).clip(lower=0).astype(float)
    return frame[["account_id", "segment", *FEATURES]]


def segment_accounts(features: pd.DataFrame, max_k: int = 6, random_state: int = 42) -> tuple[pd.DataFrame, dict[int, float]]:
    """Cluster the accounts; returns (one row per account with kmeans_segment,
    silhouette per k tried). Fewer than 3 distinct points: one segment, no k-means."""
    # scikit-learn is imported here: every Dagster process imports this module to build
    # the definitions, and only the run that clusters needs it (~1 s per process).
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    if features.empty:
        return features.assign(kmeans_segment=pd.Series(dtype="int64"), k=pd.Series(dtype="int64"),
                               silhouette=pd.Series(dtype="float64")), {}
    X = StandardScaler().fit_transform(np.log1p(features[FEATURES].to_numpy()))
    distinct = len(np.unique(X.round(9), axis=0))
    silhouettes: dict[int, float] = {}
    labels = np.zeros(len(features), dtype=int)
    best_k = 1
    for k in range(2, min(max_k, distinct - 1) + 1):
        model = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(X)
        silhouettes[k] = float(silhouette_score(X, model.labels_))
        if best_k == 1 or silhouettes[k] > silhouettes[best_k]:
            best_k, labels = k, model.labels_
    out = features.copy()
    out["cluster"] = labels
    # number segments by descending mean revenue: 1 = the most valuable accounts
    order = out.groupby("cluster")["monetary_minor"].mean().sort_values(ascending=False).index
    out["kmeans_segment"] = out["cluster"].map({c: i + 1 for i, c in enumerate(order)})
    out["k"] = best_k
    out["silhouette"] = silhouettes.get(best_k)
    return out.drop(columns="cluster"), silhouettes


def profiles(segments: pd.DataFrame) -> pd.DataFrame:
    return (segments.groupby("kmeans_segment")
            .agg(accounts=("account_id", "count"), mean_recency_days=("recency_days", "mean"),
                 mean_orders=("frequency_orders", "mean"), mean_revenue_minor=("monetary_minor", "mean"))
            .round(1).reset_index())


@dg.asset(
    key=SEGMENTS_KEY,
    group_name="customers",
    freshness_policy=freshness_policy_for_group("customers"),
    automation_condition=condition_for_group("customers"),
    deps=[SCORECARD_KEY],
    owners=OWNERS,
    kinds={"python", "scikitlearn", "duckdb"},
    pool=WAREHOUSE_POOL,
    metadata=TABLE.metadata(),
    description="k-means segments of B2B accounts on log1p-transformed, standardised RFM features "
    "(recency days, orders, revenue to date) from customers.account_scorecard; k chosen by silhouette "
    "among 2..max_k; segment 1 = highest mean revenue. Profiles and silhouettes in the metadata.",
)
def account_kmeans_segments(context: dg.AssetExecutionContext, config: KMeansConfig, warehouse: DuckDBResource):
    def read() -> pd.DataFrame:
        with warehouse.get_connection() as con:
            return con.execute("select * from customers.account_scorecard order by account_id").fetchdf()

    features = rfm_features(retry_transient(context, read))
    segments, silhouettes = segment_accounts(features, config.max_k, config.random_state)

    def write() -> dict:
        with warehouse.get_connection() as con:
            con.execute(TABLE.ddl(replace=True))
            con.register("segments_frame", segments)
            con.execute(f"insert into {TABLE.relation} by name select * from segments_frame")
            con.unregister("segments_frame")
            return column_schema(con, ("customers", "account_kmeans_segments"), TABLE.descriptions)

    schema = retry_transient(context, write)
    table = profiles(segments)
    best_k = int(segments["k"].iloc[0]) if len(segments) else 0
    return dg.MaterializeResult(metadata={
        **schema,
        "dagster/row_count": dg.MetadataValue.int(len(segments)),
        "k": dg.MetadataValue.int(best_k),
        "silhouette": dg.MetadataValue.float(silhouettes.get(best_k, math.nan)) if best_k > 1
        else dg.MetadataValue.text("n/a (too few distinct accounts)"),
        "silhouette_by_k": dg.MetadataValue.json({str(k): round(v, 4) for k, v in silhouettes.items()}),
        "segment_profiles": markdown_table(list(table.columns), table.itertuples(index=False)),
    })
