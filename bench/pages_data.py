"""bench/pages' data: a fleet's calls over 30 days, the project and user, and a kept folder.

See bench/pages_latency.py for the benchmark itself.
"""

from __future__ import annotations

import gzip
import json
import math
import multiprocessing as mp
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack  # also puts the repository on sys.path
from ingest_throughput import run_clients
from workload import TIERS, call_record

DAYS = 30
SLUG = USERNAME = "bench"
MANIFEST = "bench-pages.json"
MAX_TOP_UP_S = 7 * 86_400
TRICKLE_EVERY_S = 5.0

# Model versions: 4o sends a tenth of its calls to an old, deprecated version; o4-mini
# moved to a new version UPGRADE_AGO_S before the first load (annotated on the charts).
OLD_4O, NEW_4O = "4o-2024-05-13", "4o-2024-11-20"
OLD_MINI, NEW_MINI = "o4-mini-2025-01-31", "o4-mini-2025-04-16"
UPGRADE_AGO_S = 10 * 86_400

# --- the load --------------------------------------------------------------------------


def _records(first: int, count: int, start_ts: float, calls_per_s: float, upgrade_ts: float) -> list[dict[str, Any]]:
    """Calls ``first`` .. ``first + count - 1`` of the fleet (call n at start_ts + n / calls_per_s)."""
    rng = random.Random(first)
    out = []
    for n in range(first, first + count):
        ts = start_ts + n / calls_per_s
        tier = rng.choice(list(TIERS))
        low, high, speed = (float(v) for v in TIERS[tier])
        if tier == "4o":
            model = OLD_4O if rng.random() < 0.1 else NEW_4O
            if model == OLD_4O:
                low, high, speed = low * 1.15, high * 1.15, speed * 0.9
        elif tier == "o4-mini":
            model = OLD_MINI if ts < upgrade_ts else NEW_MINI
            if model == NEW_MINI:
                low, high = low * 0.9, high * 0.9
        else:
            model = f"{tier}-2025-04-16"
        out.append(call_record(rng, ts, tier, model, (low, high), speed))
    return out


def _batch(job: tuple[int, int, float, float, float]) -> bytes:
    return gzip.compress(orjson.dumps({"records": _records(*job)}), 6)


def batches(first: int, end: int, plan: dict[str, Any], size: int = 1000) -> list[bytes]:
    """gzip'd batches of calls ``first`` .. ``end - 1``, in time order."""
    jobs = [
        (n, min(size, end - n), plan["start_ts"], plan["calls_per_s"], plan["upgrade_ts"])
        for n in range(first, end, size)
    ]
    if len(jobs) < 8:
        return [_batch(job) for job in jobs]
    with mp.Pool() as pool:
        return pool.map(_batch, jobs, chunksize=64)


def due(plan: dict[str, Any], now: float) -> int:
    """How many calls the fleet has made by ``now``."""
    return max(int(plan["next_index"]), int((now - plan["start_ts"]) * plan["calls_per_s"]) + 1)


SETUP = """
import datetime as dt
from django.contrib.auth.models import User
from monitor.annotations.models import Annotation
from monitor.catalogue.models import ModelVersion, Tier
from monitor.projects.models import ApiKey
from monitor.projects.services import create_project

user = User.objects.create_user({username!r}, password={password!r})
project = create_project({slug!r}, {username!r}, "Benchmark")
tiers = {{t.name: t for t in Tier.objects.filter(project=project)}}
upgrade = dt.datetime.fromtimestamp({upgrade_ts}, dt.UTC)
ModelVersion.objects.create(project=project, tier=tiers["4o"], name={old_4o!r}, lifecycle="deprecated",
                            sunset_date=dt.date.today() + dt.timedelta(days=90))
ModelVersion.objects.create(project=project, tier=tiers["o4-mini"], name={old_mini!r}, lifecycle="retired",
                            sunset_date=upgrade.date())
Annotation.objects.create(project=project, time=upgrade, text={note!r}, filter={{"tier": ["o4-mini"]}},
                          created_by=user)
print(ApiKey.issue(project, ApiKey.Scope("ingest"), "bench/pages")[1])
print(ApiKey.issue(project, ApiKey.Scope("read"), "bench/pages")[1])
"""


def set_up(stack: Stack, records: int) -> dict[str, Any]:
    """The project, its owner and keys, and the plan of the load (kept as the folder's manifest)."""
    now = time.time()
    start_ts = now - DAYS * 86_400 + 300
    plan: dict[str, Any] = {
        "records": records,
        "start_ts": start_ts,
        # The last of the --records calls a minute ago.
        "calls_per_s": records / (now - 60 - start_ts),
        "upgrade_ts": math.floor(now - UPGRADE_AGO_S),
        "next_index": 0,
        "slug": SLUG,
        "username": USERNAME,
        "password": secrets.token_urlsafe(12),
    }
    code = SETUP.format(
        username=USERNAME, password=plan["password"], slug=SLUG, upgrade_ts=plan["upgrade_ts"], old_4o=OLD_4O,
        old_mini=OLD_MINI, note=f"{NEW_MINI} rolled out",
    )  # fmt: skip
    ingest_key, read_key = stack.manage("shell", "-v", "0", "-c", code).split()[-2:]
    plan.update(ingest_key=ingest_key, read_key=read_key)
    return plan


def post(url: str, key: str, bodies: list[bytes], clients: int) -> tuple[int, int]:
    if not bodies:
        return 0, 0
    accepted, failures, _, _ = run_clients(url, key, bodies, min(clients, len(bodies)), None)
    return accepted, failures


def save_manifest(folder: Path, plan: dict[str, Any]) -> None:
    path = folder / MANIFEST
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a password and keys are in it
    with os.fdopen(fd, "w") as fh:
        json.dump(plan, fh, indent=1)
    tmp.replace(path)


class Trickle(threading.Thread):
    """The fleet going on calling at the load's rate while the pages are timed."""

    def __init__(self, url: str, plan: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.plan = url, plan
        self.stopping = threading.Event()
        self.failures = 0

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.plan['ingest_key']}", "Content-Encoding": "gzip",
                   "Content-Type": "application/json"}  # fmt: skip
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self.stopping.wait(TRICKLE_EVERY_S):
                end = due(self.plan, time.time())
                for body in batches(self.plan["next_index"], end, self.plan):
                    if client.post("/api/v1/records", content=body, headers=headers).status_code != 202:
                        self.failures += 1
                self.plan["next_index"] = end

    def stop(self) -> None:
        self.stopping.set()
        self.join()


# --- the stack, in a scratch folder or a kept one ---------------------------------------


class PagesStack(Stack):
    """bench/_stack.Stack, in ``folder`` when given (kept on exit) or a scratch one."""

    def __init__(self, folder: Path | None) -> None:
        super().__init__(demo=False)
        self.keep = folder is not None
        if folder is not None:
            self.folder.rmdir()  # the scratch folder Stack made
            folder.mkdir(parents=True, exist_ok=True)
            self.folder = folder.resolve()

    def __enter__(self) -> PagesStack:
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.keep:
            self.stop()  # the loaded data stays for the next run
        else:
            super().__exit__(*exc)


def kept_plan(folder: Path | None, records: int) -> dict[str, Any] | None:
    """The manifest of a folder a previous run loaded, if it can be reused; exits if it cannot."""
    if folder is None or not folder.exists() or not any(folder.iterdir()):
        return None
    path = folder / MANIFEST
    if not path.exists():
        sys.exit(f"{folder} holds data that bench/pages did not finish loading: remove it, or choose another --data.")
    plan: dict[str, Any] = json.loads(path.read_text())
    if plan["records"] != records:
        sys.exit(f"{folder} holds a load of {plan['records']:,} records, not {records:,}: choose another --data.")
    behind = time.time() - (plan["start_ts"] + plan["next_index"] / plan["calls_per_s"])
    if behind > MAX_TOP_UP_S:
        sys.exit(f"{folder} was last topped up {behind / 86_400:.0f} days ago: remove it, or choose another --data.")
    return plan
