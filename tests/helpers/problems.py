"""RFC 9457 problems as the API answers them: the media type, the stable types, the checks."""

from __future__ import annotations

import httpx

PROBLEM_JSON = "application/problem+json"


def assert_unavailable_problem(response: httpx.Response) -> None:
    """A 503 ``unavailable`` problem with Retry-After, never a 500."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "Retry-After" in response.headers
    problem = response.json()
    assert problem["type"].endswith(":unavailable"), problem
    assert problem["status"] == 503
