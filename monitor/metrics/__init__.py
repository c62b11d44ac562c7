"""The metrics query layer: every metric is defined here, once, over the rollups.

The read API, the dashboards, the SLO engine and the Prometheus exposition all ask
this package; none of them reads rollup tables or raw records themselves.
"""
