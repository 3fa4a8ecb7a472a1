"""`bizintel bench` (``make bench``): floor scan, full pipeline, daily
incremental at short and long history, peak memory and analyst query latency,
written to BENCHMARKS.md. See ``suite`` for what each stage measures."""
