"""The search page's previous-page cursor and its per-row freshness dots, as pure rules."""

from __future__ import annotations

import pytest

from orders_cqrs.readmodels.search.reader import (
    SORTS,
    BadCursor,
    SearchRequest,
    build_query,
    encode_cursor,
)
from orders_cqrs.web.search_freshness import classify


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_before_walks_the_same_sort_backwards_one_hit_further(sort: str) -> None:
    cursor = encode_cursor([1_700_000_000_000, "b"])
    body = build_query(SearchRequest(sort=sort, size=20, before=cursor))
    flipped = {"asc": "desc", "desc": "asc"}
    assert body["sort"] == [{k: flipped[v] for k, v in part.items()} for part in SORTS[sort]]
    assert body["search_after"] == [1_700_000_000_000, "b"]
    assert body["size"] == 21 and "from" not in body  # the extra hit says if more precede
    assert build_query(SearchRequest(sort=sort, size=20))["sort"] == SORTS[sort]


def test_after_and_before_together_or_a_foreign_before_are_refused() -> None:
    cursor = encode_cursor([1, "a"])
    with pytest.raises(BadCursor):
        build_query(SearchRequest(after=cursor, before=cursor))
    with pytest.raises(BadCursor, match="before"):
        build_query(SearchRequest(before="not-a-cursor"))


@pytest.mark.parametrize(
    ("behind", "level", "css"),
    [
        (None, "fresh", "dot-ok"),
        (0.3, "fresh", "dot-ok"),
        (4.99, "fresh", "dot-ok"),
        (5.0, "late", "dot-late"),
        (59.9, "late", "dot-late"),
        (60.0, "stale", "dot-stale"),
        (7200.0, "stale", "dot-stale"),
    ],
)
def test_a_rows_dot_is_coloured_by_how_long_it_has_lacked_a_change(
    behind: float | None, level: str, css: str
) -> None:
    dot = classify(4, behind, 5)
    assert (dot.level, dot.css) == (level, css)
    # Never colour alone: the dot carries words too.
    assert dot.label and dot.title
    if behind is None:
        assert dot.label == "current" and "version 4, the latest" in dot.title
    else:
        assert "version 5" in dot.title and "behind" in dot.label
