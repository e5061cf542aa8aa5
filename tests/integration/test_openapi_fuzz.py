"""Schemathesis over the live contract: no 5xx ever, every 4xx is an RFC 9457 problem, and
every body matches the schema the document gives its status.

One real ``orders-cqrs api`` process serves the whole module. Before fuzzing it holds two
products and one real order, and hooks steer part of the generated cases at them (path
``order_id``/``sku``; body SKUs, currency and payment provider), so requests get past the
404/422 edge into the domain rules too. Each request carries the Bearer key of the role its
operation needs and, where the generated one is well formed, a fresh Idempotency-Key.

Phases: explicit examples, schemathesis 4's deterministic "coverage" phase (boundary values,
negative data, unexpected methods, wrong content types) and fuzzing with positive and negative
data, derandomized, ``max-examples`` per operation below; the module runs in about 25 s.
"""

from __future__ import annotations

import copy
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from orders_cqrs.config import Settings
from orders_cqrs.entrypoints.app import create_app
from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    SUPPORT_KEY,
    headers,
    order_body,
    place,
    put_product,
)
from tests.helpers.processes import ApiServer, worker_env
from tests.helpers.stores import TABLES, TEST_REDIS_URL, plain_dsn

PROBLEM_JSON = "application/problem+json"
SEEDED_SKUS = ("SKU-FUZZ-1", "SKU-FUZZ-2")
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
ETAG_PATTERN = re.compile(r'^"?\d{1,9}"?$')

# DESIGN §4's role table as (methods, path-template regex, key); None: no auth. First match wins.
ROLE_RULES: tuple[tuple[str, str, str | None], ...] = (
    ("GET", r"^/(healthz|readyz|metrics)$", None),
    ("GET PUT", r"^/v1/inventory/\{sku\}$", OPS_KEY),
    ("POST", r"^/v1/orders$", CHECKOUT_KEY),
    ("POST", r"^/v1/orders/\{order_id\}/(authorize|cancel)$", CHECKOUT_KEY),
    ("POST", r"^/v1/orders/\{order_id\}/(capture|ship|deliver)$", OPS_KEY),
    ("POST", r"^/v1/orders/\{order_id\}/(refunds|notes)$", SUPPORT_KEY),
    ("GET", r"^/v1/orders/\{order_id\}$", CHECKOUT_KEY),
    ("GET", r"^/v1/orders/\{order_id\}/history$", SUPPORT_KEY),
    ("GET", r"^/v1/customers/\{customer_id\}/orders$", CHECKOUT_KEY),
    ("GET POST", r"^/v1/support/", SUPPORT_KEY),
    ("GET POST", r"^/v1/(dashboards|projections)(/|$)", OPS_KEY),
)


class NoRole(LookupError):
    """An operation DESIGN §4 does not give a role."""


def role_key(method: str, path: str) -> str | None:
    """The Bearer key of a role the design admits to the operation (None: public)."""
    for methods, pattern, key in ROLE_RULES:
        if method.upper() in methods.split() and re.search(pattern, path):
            return key
    raise NoRole(f"{method} {path}")


CONFIG: dict[str, Any] = {
    "seed": 9457,
    "generation": {
        "mode": "all",  # positive and negative data
        "max-examples": 50,
        "deterministic": True,  # Hypothesis derandomize
        "with-security-parameters": False,  # the Bearer key is added per operation below
        "database": "none",
    },
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
}


def _contract() -> dict[str, Any]:
    """The OpenAPI document the API serves, built in-process so it exists at collection time.

    ``test_the_live_server_serves_this_contract`` proves the live ``/openapi.json`` is the same.
    (With the installed pytest 9, ``schemathesis.pytest.from_fixture`` fails on
    ``Function._nodeid``, so the schema cannot be loaded lazily from the server fixture.)
    """
    return create_app(Settings(environment="test")).openapi()


schema = schemathesis.openapi.from_dict(_contract(), config=SchemathesisConfig.from_dict(CONFIG))
# Path parameter -> a resource that exists; the order's ids are known once the server runs.
REAL: dict[str, str] = {"name": "summary"}
# (host, port) of the API process's stores, to tell an outage 503 from a bug.
STORES: list[tuple[str, int]] = []
SERVER_LOG: deque[str] = deque(maxlen=60)  # the API process's last stderr lines


@schema.hook("flatmap_path_parameters")
def _real_resources(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Keep the generated value, or swap in a resource that exists."""
    if not path_parameters:
        return st.just(path_parameters)
    choices: list[dict[str, Any] | None] = [path_parameters]
    for name, value in REAL.items():
        if name in path_parameters:
            choices.append({**path_parameters, name: value})
    if "sku" in path_parameters:
        choices.extend({**path_parameters, "sku": sku} for sku in SEEDED_SKUS)
    return st.sampled_from(choices)


def _steered(body: Any) -> Any:
    """The body with catalogue-dependent values the contract cannot express made real.

    The contract allows any ``^[A-Z]{3}$`` currency, any provider and any SKU; the service
    knows a few. Only where the shape is right: negative data stays as generated.
    """
    if not isinstance(body, dict):
        return body
    body = copy.deepcopy(body)
    for money in ("unit_price", "amount"):
        if isinstance(body.get(money), dict) and "currency" in body[money]:
            body[money]["currency"] = "EUR"
    if isinstance(body.get("payment"), dict):
        body["payment"].update(provider="sandbox-card", token="tok_approve")
    if isinstance(body.get("items"), list):
        body["items"] = body["items"][: len(SEEDED_SKUS)]  # one line per SKU
        for index, item in enumerate(body["items"]):
            if isinstance(item, dict) and "sku" in item:
                item["sku"] = SEEDED_SKUS[index % len(SEEDED_SKUS)]
    return body


@schema.hook("flatmap_body")
def _real_catalogue(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Half of the bodies (as Hypothesis picks) name real SKUs, EUR and a real provider."""
    return st.sampled_from([body, _steered(body)])


def drain_stderr(server: ApiServer, tail: deque[str]) -> ApiServer:
    """Keep reading the process's stderr (``ApiServer`` pipes it and never reads it), so a
    long-lived, chatty server does not block on a full pipe; the last lines stay in ``tail``."""
    stream = server.process.stderr if server.process is not None else None
    if stream is not None:

        def pump() -> None:
            for line in stream:
                tail.append(line.decode(errors="replace"))

        threading.Thread(target=pump, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def fuzz_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API process for the module, on an emptied test database, analytics on (chDB)."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with psycopg.connect(plain_dsn(database_url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    # No relay runs here, so a ``min_version`` read can never catch up: answer at once.
    chdb = tmp_path_factory.mktemp("fuzz-chdb") / "chdb"
    env = worker_env(
        database_url, {"read_wait_budget_seconds": "0", "clickhouse_url": f"chdb://{chdb}"}
    )
    defaults = Settings(environment="test")
    for url in (
        database_url,
        env.get("ORDERS_REDIS_URL", defaults.redis_url),
        env.get("ORDERS_OPENSEARCH_URL", getattr(defaults, "opensearch_url", "")),
    ):
        parts = urlsplit(url)
        if parts.hostname and parts.port:
            STORES.append((parts.hostname, parts.port))
    server = ApiServer(env=env)
    try:
        yield drain_stderr(server.start(), SERVER_LOG)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def seeded_order_id(fuzz_server: ApiServer) -> str:
    """Products in stock and one real order for the generated requests to hit."""
    for sku in SEEDED_SKUS:
        put_product(fuzz_server.url, sku, on_hand=1_000)
    response = place(fuzz_server.url, order_body(items=[(SEEDED_SKUS[0], 1)]))
    assert response.status_code == 201, response.text
    placed = response.json()
    REAL.update(order_id=str(placed["order_id"]), customer_id=str(placed["customer"]["id"]))
    return REAL["order_id"]


def _a_store_is_down() -> bool:
    """Whether one of the API process's stores refuses connections right now."""

    def reachable(host: str, port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((host, port)) == 0

    return not all(reachable(host, port) for host, port in STORES)


def no_server_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """``not_a_server_error``, except two documented 503s that no input causes: a read whose
    ``min_version`` the projection has not reached (no relay runs in this module), and
    ``unavailable`` while a backing store really is down (OpenSearch may not run here; other
    suites stop Redis on purpose)."""
    if response.status_code == 503:
        kind = str(response.json().get("type", ""))
        if kind.endswith("/projection-lagging") and "min_version" in (case.query or {}):
            return None
        if kind.endswith("/unavailable") and _a_store_is_down():
            return None
    if response.status_code >= 500:
        time.sleep(0.2)  # let the server's traceback reach SERVER_LOG
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}: {response.content[:300]!r}"
            "\n--- api stderr, last lines ---\n" + "".join(SERVER_LOG)[-4000:]
        )
    return not_a_server_error(ctx, response, case)


def role_is_admitted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every request carries a key of the role DESIGN §4 names, so none is refused as such."""
    assert response.status_code not in (401, 403), (
        f"{case.operation.label} refused the design's role: {response.content[:300]!r}"
    )
    return None


def problem_details_for_4xx(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every 4xx is application/problem+json whose ``status`` equals the HTTP status."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, (
        f"{response.status_code} with content-type {content_type!r}: {response.content[:300]!r}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    for member in ("type", "title", "status", "detail"):
        assert isinstance(body.get(member), int if member == "status" else str), (
            f"problem without a proper {member!r}: {body}"
        )
    assert body["status"] == response.status_code, body
    assert body["type"].startswith("/problems/"), body
    return None


def _prepare(case: schemathesis.Case) -> dict[str, str]:
    """Extra headers: the operation's role key and, unless the case tests a bad one, a fresh
    Idempotency-Key. A free-form If-Match (the contract says "any string up to 40") is dropped:
    it would turn most cases into the same 400 (test_bad_input covers that answer)."""
    generated = case.headers or {}
    if_match = generated.get("If-Match")
    if isinstance(if_match, str) and not ETAG_PATTERN.match(if_match.strip()):
        del generated["If-Match"]
    extra: dict[str, str] = {}
    key = role_key(case.operation.method, case.operation.path)
    if key is not None:
        extra.update(headers(key))
    idempotency_key = generated.get("Idempotency-Key")
    if isinstance(idempotency_key, str) and KEY_PATTERN.match(idempotency_key):
        extra["Idempotency-Key"] = str(uuid.uuid4())
    return extra


@schema.parametrize()
def test_every_operation_answers_without_5xx_and_with_problem_details(
    case: schemathesis.Case, fuzz_server: ApiServer, seeded_order_id: str
) -> None:
    response = case.call(base_url=fuzz_server.url, headers=_prepare(case), timeout=30)
    case.validate_response(
        response,
        checks=[
            no_server_error,
            problem_details_for_4xx,
            role_is_admitted,
            response_schema_conformance,  # the documented models are what the server sends
        ],
    )


def test_the_live_server_serves_this_contract(fuzz_server: ApiServer) -> None:
    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == _contract()


def test_every_operation_of_the_contract_has_a_role(fuzz_server: ApiServer) -> None:
    """No operation is fuzzed with a guessed key: each one matches a rule of the role table."""
    spec = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    unmatched = []
    for path, item in spec["paths"].items():
        for method in item:
            try:
                role_key(method, path)
            except NoRole as missing:
                unmatched.append(str(missing))
    assert unmatched == []


def test_the_contract_describes_problems_as_problem_json() -> None:
    """Clients read the error shape from the contract: each documented 4xx/5xx answer is an
    ``application/problem+json`` Problem there (DESIGN §4), not an ``application/json`` one."""
    wrong = []
    for path, item in _contract()["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith(("4", "5")):
                    continue
                content = response.get("content", {})
                problem_schema = content.get(PROBLEM_JSON, {}).get("schema")
                if problem_schema is None or set(content) != {PROBLEM_JSON}:
                    wrong.append(f"{method.upper()} {path} {status}: {sorted(content)}")
    assert wrong == [], "\n".join(wrong[:10]) + f"\n... {len(wrong)} responses in all"
