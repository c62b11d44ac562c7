"""gunicorn settings for the web role (`gunicorn -c python:monitor.gunicorn monitor.wsgi`)."""

import gc
import multiprocessing

from monitor.env import env_int, env_str

bind = env_str("BIND") or f"127.0.0.1:{env_int('PORT', 8000, minimum=1)}"
# Sync workers, several per core: an ingest request is CPU-bound Python followed by
# a wait on PostgreSQL (COPY, commit); with 4 per core the cores stay busy during
# those waits (measured in bench/ingest, docs/performance.md).
workers = env_int("WEB_CONCURRENCY", 4 * multiprocessing.cpu_count(), minimum=1)
worker_class = "sync"
# 0: never (gunicorn's own meaning); `make test-future` needs it, see the Makefile.
timeout = env_int("WEB_TIMEOUT", 60, minimum=0)
graceful_timeout = 10
keepalive = 5
accesslog = env_str("ACCESS_LOG") or None
errorlog = "-"
# The control socket lives at one path per user ($HOME/.gunicorn/gunicorn.ctl), so two
# instances (make run beside a benchmark or a test) would fight over it; nothing uses it.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """Load the URLconf (and with it every view, DRF, the metrics engine), then move all
    that is loaded out of the cyclic collector's reach: it lives as long as the worker,
    and a full collection walking it during a request that builds thousands of chart
    points added 20–50 ms to it (docs/performance.md, bench/pages)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imported for its side effect: the views load
    gc.collect()  # what is garbage now is not frozen for good
    gc.freeze()
