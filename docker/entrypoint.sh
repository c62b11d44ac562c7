#!/usr/bin/env bash
# Process roles of the Tierwatch image, chosen by the first argument:
#   web              migrate, then gunicorn on $BIND (default 0.0.0.0:8000)
#   worker [ARGS]    a Celery worker (scale these: docker compose up --scale worker=N)
#   beat   [ARGS]    Celery beat, the periodic scheduler (run exactly one)
#   manage ARGS      python manage.py ARGS, e.g. `manage create_project acme --owner ada`
# Each role `exec`s its process, so SIGTERM from `docker stop` reaches it directly.
set -euo pipefail

# /app in the image; the checkout when run from a working copy (the tests do).
cd "$(dirname "$0")/.."

usage() {
    echo "usage: entrypoint.sh web | worker [ARGS] | beat [ARGS] | manage COMMAND [ARGS]" >&2
    exit 64
}

# Production settings come from the environment only: without these the settings
# would fall back to development defaults, so refuse to start instead.
require_settings() {
    local name
    for name in SECRET_KEY DATABASE_URL REDIS_URL; do
        if [ -z "${!name:-}" ]; then
            echo "entrypoint.sh: the environment variable $name must be set (see docs/operations.md)." >&2
            exit 64
        fi
    done
}

role="${1:-}"
if [ $# -gt 0 ]; then
    shift
fi

case "$role" in
    web)
        require_settings
        python manage.py migrate --noinput
        export BIND="${BIND:-0.0.0.0:8000}"
        exec gunicorn -c python:monitor.gunicorn monitor.wsgi "$@"
        ;;
    worker)
        require_settings
        exec celery -A monitor worker -l info "$@"
        ;;
    beat)
        require_settings
        # The schedule file is scratch state; /tmp is writable by the non-root user.
        exec celery -A monitor beat -l info -s /tmp/celerybeat-schedule "$@"
        ;;
    manage)
        require_settings
        exec python manage.py "$@"
        ;;
    *)
        usage
        ;;
esac
