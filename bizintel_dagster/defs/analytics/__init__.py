"""Unpartitioned business analytics: the dbt marts of the ``dbt_analytics`` step
(KPI roll-ups, subscriptions, cohorts, customers, experiment counts) plus the
Python assets that need statistics / machine-learning libraries (experiment
statistics, k-means account segments); ``analytics_job`` (``defs/jobs.py``) builds them."""
