"""The embedded Redis: a password, no CONFIG, not root."""

from __future__ import annotations

import os

import psutil
import pytest
import redis

from monitor.devservers.redis import EmbeddedRedis


@pytest.fixture
def server(tmp_path):
    embedded = EmbeddedRedis(tmp_path / "redis")
    embedded.start(tmp_path / "redis.log")
    yield embedded
    embedded.stop()


def test_it_asks_for_a_password(server):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=server.port).ping()
    assert redis.Redis.from_url(server.url).ping()


def test_it_cannot_be_told_to_write_files_elsewhere(server):
    client = redis.Redis.from_url(server.url)
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("CONFIG", "SET", "dir", "/tmp")  # type: ignore[no-untyped-call]


def test_it_does_not_run_as_root(server):
    assert server.process is not None
    owner = psutil.Process(server.process.pid).uids().effective
    if os.geteuid() == 0:
        assert owner != 0  # the service user
    else:
        assert owner == os.geteuid()
