"""``python manage.py simulate``: demo traffic, posted over HTTP like a real service.

`make run` starts it next to the web server, under honcho: if it exits, honcho
stops everything, so it waits for a server that is still starting, retries what
a healthy client retries, and only gives up on what retrying cannot fix.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from types import FrameType
from typing import Any

import httpx
import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from monitor.catalogue.seeds import DEPRECATED_DEMO_MODEL
from monitor.ingest.schema import MAX_RECORDS
from monitor.ingest.simulation import KNOWN_TIERS, Record, TrafficModel, UnknownTier

RECORDS_PATH = "/api/v1/records"
KEY_VARIABLE = "TIERWATCH_INGEST_KEY"
TIMEOUT_S = 10.0
RETRY_BUDGET_S = 60.0  # per batch; also how long a server that is still starting gets
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
STATUS_EVERY_S = 10.0


def records_url(url: str) -> str:
    """The ingest endpoint under a server base URL, or the endpoint itself if given."""
    base = url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise CommandError(f"--url must be an http:// or https:// URL, not {url!r}.")
    return base if base.endswith(RECORDS_PATH) else base + RECORDS_PATH


def parse_tiers(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CommandError(f"--tiers names no tier; choose from {','.join(KNOWN_TIERS)}.")
    return names


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _server_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text[:200].strip() or response.reason_phrase


class BatchPoster:
    """Posts batches with retries; one Idempotency-Key per batch, so a retry never counts twice.

    ``wait(seconds)`` sleeps and returns True when the run is being stopped.
    """

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        *,
        wait: Callable[[float], bool],
        clock: Callable[[], float] = time.monotonic,
        warn: Callable[[str], None] = print,
        budget_s: float = RETRY_BUDGET_S,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self.url = url
        self._wait = wait
        self._clock = clock
        self._warn = warn
        self._budget_s = budget_s
        self._rng = rng or random.Random()
        self.records = 0
        self.batches = 0
        self.retries = 0
        self.dropped = 0  # records given up on: the server stayed overloaded, or we were stopped

    def send(self, records: Sequence[Record]) -> bool:
        """True once the server has committed the batch (now or on an earlier try)."""
        body = orjson.dumps({"records": records})
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        started = self._clock()
        backoff = FIRST_BACKOFF_S
        warned = False
        while True:
            pause: float | None = None
            try:
                response = self._client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                # A read timeout may have committed: the retry's key makes that safe.
                problem, unreachable = f"cannot reach {self.url} ({exc.__class__.__name__}: {exc})", True
            else:
                if response.status_code in (200, 202):
                    self.records += int(response.json()["accepted"])
                    self.batches += 1
                    return True
                if response.status_code != 429 and response.status_code < 500:
                    raise CommandError(
                        f"The server refused a batch with {response.status_code}: {_server_error(response)}"
                    )
                problem, unreachable = f"the server answered {response.status_code}", False
                pause = retry_after_s(response.headers.get("Retry-After"))
            remaining = self._budget_s - (self._clock() - started)
            if remaining <= 0 or (pause is not None and pause > remaining):
                if unreachable:
                    raise CommandError(f"Gave up after {self._budget_s:.0f} s: {problem}.")
                self._warn(
                    f"simulate: dropped a batch of {len(records)} records after {self._budget_s:.0f} s: {problem}"
                )
                self.dropped += len(records)
                return False
            if pause is None:
                pause = min(remaining, backoff * self._rng.uniform(0.8, 1.2))  # jitter: don't retry in lockstep
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            if not warned:
                self._warn(f"simulate: {problem}; retrying")
                warned = True
            self.retries += 1
            if self._wait(pause):
                self.dropped += len(records)
                return False


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run after the batch in flight, not mid-request."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Command(BaseCommand):
    help = (
        "Post demo traffic for the seed tiers to a Tierwatch server over HTTP, one batch per second, "
        "until --duration seconds have passed or Ctrl-C / SIGTERM. Records carry no cost: the price table applies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
        parser.add_argument(
            "--key",
            default=os.environ.get(KEY_VARIABLE) or None,
            help=f"an ingest key of the project to fill (default: ${KEY_VARIABLE}, which keeps it out of `ps`)",
        )
        parser.add_argument("--rate", type=float, default=20.0, help="calls per second (default 20)")
        parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 = until stopped")
        parser.add_argument(
            "--tiers", default=",".join(KNOWN_TIERS), help=f"comma-separated tiers (default {','.join(KNOWN_TIERS)})"
        )
        parser.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)  # reproducible runs, for tests

    def handle(self, *args: Any, **options: Any) -> None:
        url = records_url(options["url"])
        if not options["key"]:
            raise CommandError(f"Give an ingest key with --key or the {KEY_VARIABLE} environment variable.")
        rate, duration = float(options["rate"]), float(options["duration"])
        if not rate > 0:
            raise CommandError(f"--rate must be more than 0 calls per second, not {options['rate']}.")
        if not duration >= 0:
            raise CommandError(f"--duration must be 0 (run until stopped) or a number of seconds, not {duration}.")
        try:
            model = TrafficModel(
                parse_tiers(options["tiers"]), rate, old_4o_model=DEPRECATED_DEMO_MODEL, seed=options["seed"]
            )
        except UnknownTier as exc:
            raise CommandError(str(exc)) from None

        stop = threading.Event()
        bar = tqdm(total=math.ceil(duration), unit="s", desc="simulate", file=sys.stderr) if duration else None
        headers = {
            "Authorization": f"Bearer {options['key']}",
            "Content-Type": "application/json",
            "User-Agent": "tierwatch-simulate",
        }
        with (
            httpx.Client(timeout=TIMEOUT_S, headers=headers) as client,
            _stop_on_signals(stop),
        ):
            poster = BatchPoster(client, url, wait=stop.wait, warn=bar.write if bar else self.stderr.write)
            try:
                self._run(model, poster, stop, duration, bar)
            finally:
                if bar is not None:
                    bar.close()
                summary = f"simulate: sent {poster.records:,} records in {poster.batches:,} batches"
                if poster.dropped:
                    summary += f"; {poster.dropped:,} records not sent"
                self.stdout.write(summary + ".")

    def _run(
        self, model: TrafficModel, poster: BatchPoster, stop: threading.Event, duration: float, bar: tqdm | None
    ) -> None:
        started = interval_start = time.time()
        deadline = started + duration if duration else None
        next_tick = time.monotonic() + 1.0
        next_status = time.monotonic() + STATUS_EVERY_S
        simulated_errors = 0
        self.stdout.write(
            f"simulate: {model.rate:g} calls/s for {', '.join(model.tiers)} → {poster.url}"
            + (f" for {duration:g} s" if deadline else " until stopped (Ctrl-C)")
        )
        while not stop.wait(max(0.0, next_tick - time.monotonic())):
            # After a slow send, carry on from now rather than firing the missed ticks at once.
            next_tick = max(next_tick + 1.0, time.monotonic() + 0.5)
            interval_end = time.time() if deadline is None else min(time.time(), deadline)
            records = model.calls_between(interval_start, interval_end)
            interval_start = interval_end
            simulated_errors += sum(1 for r in records if r.get("status") == "error")
            pending = records
            while pending and not stop.is_set():
                chunk, pending = pending[:MAX_RECORDS], pending[MAX_RECORDS:]
                if not poster.send(chunk):
                    break  # the server is overloaded or we are stopping: don't queue more on it
            poster.dropped += len(pending)
            if bar is not None:
                bar.update(min(bar.total, round(interval_end - started)) - bar.n)
                bar.set_postfix(records=poster.records, batches=poster.batches, refresh=False)
            elif time.monotonic() >= next_status:
                next_status += STATUS_EVERY_S
                self.stdout.write(
                    f"simulate: {poster.records:,} records in {poster.batches:,} batches; "
                    f"{simulated_errors:,} simulated errors; {poster.retries:,} retries"
                )
            if deadline is not None and interval_end >= deadline:
                return
