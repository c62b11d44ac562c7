"""The embedded PostgreSQL: the major version that opens existing `var/pg` folders."""

from __future__ import annotations

import re
import subprocess

import pytest

from monitor.devservers import postgres
from monitor.devservers.postgres import MAJOR_VERSION, EmbeddedPostgres


def test_it_ships_the_major_version_existing_data_folders_were_made_with():
    out = subprocess.run([str(postgres._bin_dir() / "postgres"), "--version"], capture_output=True, text=True)
    found = re.search(r"PostgreSQL\) (\d+)\.(\d+)", out.stdout)
    assert found, out.stdout
    # 16: what pgserver 0.1.4 made var/pg with; a newer minor of it reads the same files.
    assert int(found[1]) == MAJOR_VERSION == 16
    assert int(found[2]) >= 14


def test_it_refuses_a_data_folder_of_another_major_version_naming_both(tmp_path):
    data = tmp_path / "pg"
    data.mkdir()
    (data / "PG_VERSION").write_text("15\n")
    server = EmbeddedPostgres(data)
    with pytest.raises(RuntimeError, match=r"PostgreSQL 15 cluster.*PostgreSQL 16"):
        server.start(tmp_path / "pg.log")
    assert server.process is None  # nothing was started
