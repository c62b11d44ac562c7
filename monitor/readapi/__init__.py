"""The read API: /api/v1/metrics and /api/v1/report over the metrics query layer."""
