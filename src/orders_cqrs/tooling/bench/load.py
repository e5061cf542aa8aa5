"""The load generators: wrk (HTTP checkouts) and pgbench (the captured SQL), and their figures.

wrk runs a Lua script that posts a valid order per request: a fresh customer id and
Idempotency-Key each time (so the velocity rule and receipts see what real traffic makes
them see) and one line over the seeded SKUs. Its ``done`` hook prints the figures as JSON,
from the same latency histogram that ``--latency`` prints. A per-connection ``delay`` turns
the same script into a fixed-rate generator for the freshness phase at almost no CPU.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from orders_cqrs.tooling.bench.environment import SKU_FIRST, SKU_LAST

_LUA = r"""
local counter = 0
local threads = {}
local rate_delay = __DELAY__

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919 + math.floor(os.clock() * 1e6))
end

local function hex(n)
  local out = {}
  for i = 1, n do out[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(out)
end

local function uuid4()
  return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
end

function request()
  local body = '{"customer":{"id":"' .. uuid4() .. '","email":"bench@example.com",'
    .. '"name":"Bench"},"items":[{"sku":"SKU-BENCH-' .. math.random(__SKU_FIRST__, __SKU_LAST__)
    .. '","quantity":1}],"shipping_address":{"country":"DE","region":"Berlin",'
    .. '"city":"Berlin","postal_code":"10115","line1":"Invalidenstr. 1"},'
    .. '"payment":{"provider":"sandbox-card","token":"tok_approve"}}'
  return wrk.format("POST", "/v1/orders", {
    ["Authorization"] = "Bearer __KEY__",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = uuid4(),
  }, body)
end

if rate_delay > 0 then
  function delay()
    return rate_delay
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,'
    .. '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def tool(name: str) -> str:
    """The absolute path of a load generator (``make bench`` installs it with apt-get)."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed")
    return path


def wrk_script(path: Path, checkout_key: str, *, delay_ms: int = 0) -> Path:
    """Write the checkout Lua script (``delay_ms`` > 0: each connection waits between posts)."""
    text = (
        _LUA.replace("__KEY__", checkout_key)
        .replace("__SKU_FIRST__", str(SKU_FIRST))
        .replace("__SKU_LAST__", str(SKU_LAST))
        .replace("__DELAY__", str(delay_ms))
    )
    path.write_text(text)
    return path


@dataclass(frozen=True, slots=True)
class HttpRun:
    """One wrk run: what came back and how fast."""

    connections: int
    seconds: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def ok(self) -> int:
        """Requests answered 2xx (wrk counts statuses above 399 as errors; we send no 3xx)."""
        return self.requests - self.non_2xx

    @property
    def rate(self) -> float:
        """2xx responses per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """For the results file."""
        return {**asdict(self), "ok": self.ok, "rate": self.rate}


def run_wrk(url: str, script: Path, connections: int, seconds: int, threads: int) -> HttpRun:
    """Drive ``url`` for ``seconds`` with ``connections`` open connections."""
    host = urlsplit(url)
    assert host.hostname == "127.0.0.1", "the bench only loads the local machine"
    result = subprocess.run(  # noqa: S603 - argv built here, no shell
        [
            tool("wrk"),
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^BENCH_JSON (\{.*\})$", result.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no figures:\n{result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    return HttpRun(
        connections=connections,
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_ms"],
        p90_ms=data["p90_ms"],
        p99_ms=data["p99_ms"],
        mean_ms=data["mean_ms"],
    )


@dataclass(frozen=True, slots=True)
class PgbenchRun:
    """One pgbench run of a script."""

    clients: int
    transactions: int
    failed: int
    tps: float
    latency_ms: float

    def as_dict(self) -> dict[str, float | int]:
        """For the results file."""
        return asdict(self)


def run_pgbench(
    dsn: str,
    script: Path,
    clients: int,
    *,
    seconds: int | None = None,
    transactions: int | None = None,
    threads: int = 2,
) -> PgbenchRun:
    """Replay ``script`` from ``clients`` connections (simple protocol, like the service)."""
    limit = ["-T", str(seconds)] if seconds is not None else ["-t", str(transactions)]
    result = subprocess.run(  # noqa: S603 - argv built here, no shell
        [
            tool("pgbench"),
            "-n",
            "-M",
            "simple",
            "-c",
            str(clients),
            "-j",
            str(min(threads, clients)),
            *limit,
            "-f",
            str(script),
            dsn,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    out = result.stdout
    processed = re.search(r"actually processed: (\d+)", out)
    tps = re.search(r"tps = ([\d.]+)", out)
    if result.returncode != 0 or processed is None or tps is None:
        raise RuntimeError(f"pgbench failed:\n{out}\n{result.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return PgbenchRun(
        clients=clients,
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)) if latency else 0.0,
    )
