"""Sign-in attempts per bucket in PostgreSQL: counted atomically, forgotten on success.

One row per bucket: how many attempts its window has seen and when the window started. The
upsert takes the row's lock, so concurrent attempts on one bucket are counted one after the
other and exactly ``limit`` of them see a count within the limit (the password check comes
after, outside any transaction: no lock is held while argon2 works). Buckets are always
counted in the order given (account, then address), so two attempts never wait on each
other's rows in opposite orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_COUNT = text(
    """
    INSERT INTO login_throttle AS t (bucket, attempts, window_started_at)
    VALUES (:bucket, 1, now())
    ON CONFLICT (bucket) DO UPDATE SET
      attempts = CASE WHEN t.window_started_at <= now() - make_interval(secs => :window)
                      THEN 1 ELSE t.attempts + 1 END,
      window_started_at = CASE WHEN t.window_started_at <= now() - make_interval(secs => :window)
                               THEN now() ELSE t.window_started_at END
    RETURNING attempts, window_started_at, now()
    """
)
_FORGET = text("DELETE FROM login_throttle WHERE bucket = :bucket")
_GIVE_BACK = text(
    "UPDATE login_throttle SET attempts = greatest(attempts - 1, 0) WHERE bucket = :bucket"
)
_DELETE_ENDED = text(
    """
    WITH gone AS (
      DELETE FROM login_throttle WHERE bucket IN (
        SELECT bucket FROM login_throttle
         WHERE window_started_at <= now() - make_interval(secs => :window) LIMIT :batch)
        AND window_started_at <= now() - make_interval(secs => :window)
      RETURNING 1)
    SELECT count(*) FROM gone
    """
)


@dataclass(frozen=True, slots=True)
class Count:
    """A bucket's attempts in its window, this one included, and the database's time."""

    attempts: int
    window_started_at: datetime
    now: datetime


class LoginThrottle:
    """Rows of ``login_throttle``."""

    def __init__(self, engine: AsyncEngine, *, window_seconds: float) -> None:
        self._engine = engine
        self._window = window_seconds

    async def count(self, buckets: Sequence[str]) -> list[Count]:
        """Count one attempt in each bucket (one short transaction), in the order given."""
        counts: list[Count] = []
        async with self._engine.begin() as conn:
            for bucket in buckets:
                row = (await conn.execute(_COUNT, {"bucket": bucket, "window": self._window})).one()
                counts.append(Count(int(row[0]), row[1], row[2]))
        return counts

    async def succeeded(self, account: str, address: str) -> None:
        """A password was right: the account starts afresh, the address gets its attempt back
        (an office behind one address is not locked out by its people signing in)."""
        async with self._engine.begin() as conn:
            await conn.execute(_FORGET, {"bucket": account})
            await conn.execute(_GIVE_BACK, {"bucket": address})

    async def delete_ended(self, batch: int = 1000) -> int:
        """Delete up to ``batch`` buckets whose window has ended; how many went."""
        async with self._engine.begin() as conn:
            params = {"window": self._window, "batch": batch}
            return int((await conn.execute(_DELETE_ENDED, params)).scalar_one())
