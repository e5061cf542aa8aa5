"""RFC 9457 problems as the API answers them: the media type, the stable types, the checks."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "/problems/"


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """An RFC 9457 problem of the given status and stable type."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_JSON, (media_type, response.text[:500])
    problem = response.json()
    assert isinstance(problem, dict), problem
    for member in ("type", "title", "detail"):
        assert isinstance(problem.get(member), str) and problem[member], (member, problem)
    assert problem.get("status") == status, problem
    assert problem["type"] == TYPE_PREFIX + kind, problem
    return problem


def assert_unavailable_problem(response: httpx.Response) -> None:
    """A 503 ``unavailable`` problem with Retry-After, never a 500."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "Retry-After" in response.headers
    problem = response.json()
    assert problem["type"].endswith("/unavailable"), problem
    assert problem["status"] == 503
