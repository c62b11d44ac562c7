"""gunicorn settings for the web role (`gunicorn -c python:monitor.gunicorn monitor.wsgi`)."""

import multiprocessing
import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Ingest is CPU-bound Python plus a database round trip: a few processes per core
# keep the cores busy while others wait on a commit.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * multiprocessing.cpu_count())))
worker_class = "sync"
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = 5
# Cap request line / headers as usual; bodies are capped by the ingest view (10 MB).
limit_request_line = 8190
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
