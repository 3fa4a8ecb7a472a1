"""k-means account segments: k comes from the silhouette, not a constant, and
segments are numbered by value."""

import numpy as np
import pandas as pd

from bizintel_dagster.defs.analytics.customers import profiles, rfm_features, segment_accounts


def _scorecard(rows):
    return pd.DataFrame(rows, columns=["account_id", "segment", "days_since_last_order", "orders_to_date",
                                       "revenue_to_date_minor"])


def test_three_well_separated_groups_give_k_3_numbered_by_revenue():
    rng = np.random.default_rng(0)
    rows = []
    # (recency days, orders, revenue): loyal big spenders, occasional, lapsed small
    for name, (recency, orders, revenue) in {"big": (2, 40, 50_000_000), "mid": (20, 8, 2_000_000),
                                             "lapsed": (200, 1, 30_000)}.items():
        for i in range(8):
            rows.append((f"{name}{i}", "SMB", recency * rng.uniform(0.9, 1.1), round(orders * rng.uniform(0.9, 1.1)),
                         revenue * rng.uniform(0.9, 1.1)))
    segments, silhouettes = segment_accounts(rfm_features(_scorecard(rows)), max_k=6)
    assert set(silhouettes) == {2, 3, 4, 5, 6}
    assert max(silhouettes, key=silhouettes.get) == 3 == segments["k"].iloc[0]
    by_group = segments.assign(group=segments.account_id.str.rstrip("0123456789")).groupby("group")["kmeans_segment"]
    assert by_group.nunique().eq(1).all()                       # each group is one segment
    assert by_group.first().to_dict() == {"big": 1, "mid": 2, "lapsed": 3}
    assert profiles(segments)["accounts"].tolist() == [8, 8, 8]


def test_accounts_that_never_ordered_are_the_least_recent():
    features = rfm_features(_scorecard([("a", "SMB", 5, 3, 100.0), ("b", "SMB", None, 0, 0.0),
                                        ("c", "SMB", 40, 1, 50.0)]))
    assert features.set_index("account_id")["recency_days"].to_dict() == {"a": 5.0, "b": 41.0, "c": 40.0}


def test_too_few_distinct_accounts_make_one_segment():
    segments, silhouettes = segment_accounts(
        rfm_features(_scorecard([("a", "SMB", 5, 3, 100.0), ("b", "SMB", 5, 3, 100.0)])))
    assert silhouettes == {} and segments["kmeans_segment"].tolist() == [1, 1] and segments["k"].iloc[0] == 1
