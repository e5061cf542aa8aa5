"""The support index as the search suites see it: cluster state, readiness, the search API.

OpenSearch is shared by every session on this machine and the ``db`` fixture does not touch
it: ``reset_search_state`` deletes every ``orders-support*`` index and the index template, so
a projector installs them anew.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from typing import IO, Any

import httpx
from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, TransportError

from orders_cqrs.readmodels.search.index import ALIAS, INDEX_TEMPLATE, TEMPLATE, IndexNames
from tests.helpers.api import SUPPORT_KEY, headers
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.stores import OPENSEARCH_URL, ROOT

SEARCH = "/v1/support/orders"


def opensearch_client() -> OpenSearch:
    """A synchronous client for arranging and asserting (the service uses its own)."""
    return OpenSearch(hosts=[OPENSEARCH_URL], timeout=30, max_retries=0)


def opensearch_answers() -> bool:
    """Whether OpenSearch answers HTTP right now."""
    client = OpenSearch(hosts=[OPENSEARCH_URL], timeout=2, max_retries=0)
    try:
        return bool(client.ping())
    finally:
        client.close()


def ensure_opensearch_running() -> None:
    """Start the machine's OpenSearch through the project's script if it is not answering."""
    host, port = OPENSEARCH_URL.rsplit("/", 1)[-1].split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        listening = sock.connect_ex((host, int(port))) == 0
    if not (listening and opensearch_answers()):
        subprocess.run(
            [str(ROOT / "scripts" / "services"), "start", "opensearch"],
            check=True,
            capture_output=True,
            timeout=300,
        )


def reset_search_state(alias: str = ALIAS) -> None:
    """No support index and no index template: every test starts from a fresh cluster state.

    ``<alias>*`` also catches a concrete index named like the alias, which OpenSearch
    auto-creates when a projector writes to the alias after someone deleted the generations.
    A test that names its own alias (``ORDERS_SEARCH_ALIAS``) resets only that one.
    """
    ensure_opensearch_running()
    client = opensearch_client()
    try:
        for row in client.cat.indices(index=f"{alias}*", format="json"):
            with contextlib.suppress(NotFoundError):  # someone else deleted it meanwhile
                client.indices.delete(index=row["index"])
        with contextlib.suppress(NotFoundError):
            client.indices.delete_index_template(name=IndexNames(alias).template_name)
    finally:
        client.close()


def wait_for_support_index(projector: Worker, seconds: float = 30, alias: str = ALIAS) -> None:
    """Wait until the search projector has installed the template and the aliased index.

    Searching before that would only measure a missing index; a projector that exits on
    startup (e.g. the cluster refuses the template) fails here with its exit code.
    """
    client = opensearch_client()
    try:
        deadline = time.monotonic() + seconds
        while not client.indices.exists_alias(name=alias):
            assert projector.process is not None
            code = projector.process.poll()
            assert code is None, (
                f"the search projector exited with {code} before creating {alias};"
                f" the cluster on the template: {template_verdict(client)}"
            )
            assert time.monotonic() < deadline, f"no {alias} alias after {seconds:.0f} s"
            time.sleep(0.1)
    finally:
        client.close()


def template_verdict(client: OpenSearch) -> str:
    """Whether the cluster takes the project's index template, and OpenSearch's reason if not."""
    try:
        client.indices.put_index_template(name=TEMPLATE, body=INDEX_TEMPLATE)
    except TransportError as error:
        return f"refused: {json.dumps(error.info)[:600]}"
    return "accepted"


def drain_stderr(api: ApiServer) -> ApiServer:
    """Read the API's stderr in the background if it is a pipe.

    A pipe nobody reads fills up after a few unhandled errors (each logged with a long
    traceback) and the API then blocks in its logger: a test must see the 500, not a hang.
    """
    assert api.process is not None
    if api.process.stderr is not None:
        threading.Thread(target=_discard, args=(api.process.stderr,), daemon=True).start()
    return api


def api_log_tail(api: ApiServer, limit: int = 4000) -> str:
    """The end of the API's log (its stderr), where the fixture keeps it in a file."""
    log = getattr(api, "log", None)
    if log is None or not hasattr(log, "seek"):
        return "(the API's stderr is not kept)"
    log.seek(0)
    text: str = log.read().decode(errors="replace")
    # Console tracebacks draw boxes around local variables; keep the lines that say things.
    lines = [line for line in text.splitlines() if "│" not in line and line.strip()]
    return "\n".join(lines)[-limit:]


def _discard(stream: IO[bytes]) -> None:
    while stream.read(65536):
        pass


# ------------------------------------------------------------------ the search API


def search(client: httpx.Client, **params: Any) -> httpx.Response:
    """GET /v1/support/orders as a support agent."""
    return client.get(SEARCH, params=params, headers=headers(SUPPORT_KEY))


def found(client: httpx.Client, **params: Any) -> dict[str, Any]:
    """A successful search's body."""
    response = search(client, **params)
    assert response.status_code == 200, (params, response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


def hit_ids(body: dict[str, Any]) -> list[str]:
    """Order ids of the hits, in the order returned."""
    return [hit["order_id"] for hit in body["hits"]]


def wait_searchable(
    client: httpx.Client, expected: dict[str, int], seconds: float = 45, **params: Any
) -> dict[str, Any]:
    """Poll until every order in ``expected`` is a hit at (at least) its version."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        response = search(client, size=100, **params)
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            versions = {hit["order_id"]: hit["source_version"] for hit in body["hits"]}
            if all(versions.get(oid, 0) >= v for oid, v in expected.items()):
                return body
            last = versions
        else:
            last = (response.status_code, response.text[:300])
        time.sleep(0.2)
    raise AssertionError(f"orders never all searchable at their versions: {expected}; last {last}")
