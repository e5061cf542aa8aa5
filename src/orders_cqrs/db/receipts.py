"""Idempotency receipts: claimed in the command's own transaction, replayed byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from orders_cqrs.db.session import Deferred, Session

# The INSERT goes first in the transaction on purpose: a concurrent request with the same
# key blocks on the unique index until this transaction ends, then finds the committed
# receipt and replays it, so duplicates never run the command twice. An expired receipt, or
# an in-progress one whose lease ran out (its process died), is taken over by the same
# statement.
_CLAIM = """
INSERT INTO idempotency_receipts AS r
       (client_id, key, fingerprint, command, state, expires_at, locked_until)
VALUES (%s, %s, %s, %s, 'in_progress', now() + %s, now() + %s)
ON CONFLICT (client_id, key) DO UPDATE
   SET fingerprint = excluded.fingerprint, command = excluded.command, state = 'in_progress',
       response_status = NULL, response_body = NULL, response_headers = NULL, order_id = NULL,
       created_at = now(), expires_at = excluded.expires_at, locked_until = excluded.locked_until
 WHERE r.expires_at < now()
    OR (r.state = 'in_progress' AND r.locked_until < now()
        AND r.fingerprint = excluded.fingerprint)
RETURNING r.key
"""
_HELD = """
SELECT fingerprint, state, response_status, response_body, response_headers
  FROM idempotency_receipts WHERE client_id = %s AND key = %s
"""
_LOCK = "SELECT 1 FROM idempotency_receipts WHERE client_id = %s AND key = %s FOR UPDATE"
_LEASED = """
SELECT 1 FROM idempotency_receipts
 WHERE client_id = %s AND key = %s AND state = 'in_progress' AND locked_until > now()
"""
_RELEASE = """
DELETE FROM idempotency_receipts
 WHERE client_id = %s AND key = %s AND state = 'in_progress'
"""
_END_LEASE = """
UPDATE idempotency_receipts SET locked_until = now() - interval '1 second'
 WHERE client_id = %s AND key = %s AND state = 'in_progress'
"""
# One bounded batch. A client may re-claim an expired key while the batch runs: the claim
# rewrites the receipt (a new row version, at a new ctid, expiring tomorrow) and the DELETE,
# which picked the old version, waits for the claim's transaction. Once it commits,
# PostgreSQL (READ COMMITTED) re-checks the DELETE's conditions against the new version and
# skips it if they no longer hold. With the batch chosen by ctid alone, that re-check
# depends on the plan and on the server's release: a hash join compares the new ctid and
# skips the row; a nested loop into a TID scan (the plan of a big table) skips it only on
# releases with PostgreSQL's 2025 fix "Add missing EPQ recheck for TID Scan" (back-patched
# to 13; 15.18 has it and skipped the row in both plans), and before that fix it deletes
# the receipt the client has just re-claimed. ``expires_at < now()`` in the outer DELETE is
# re-checked on the new version by every plan on every release: a re-claimed receipt is not
# expired, so it stays. tests/integration/test_receipt_cleanup.py drives that race.
_DELETE_EXPIRED = """
WITH gone AS (
  DELETE FROM idempotency_receipts WHERE ctid IN (
    SELECT ctid FROM idempotency_receipts WHERE expires_at < now() LIMIT %s)
    AND expires_at < now()
  RETURNING 1)
SELECT count(*) FROM gone
"""


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A receipt that someone else already holds."""

    fingerprint: str
    state: str
    response_status: int | None
    response_body: bytes | None
    response_headers: dict[str, str] | None


class ReceiptRepository:
    """Rows of ``idempotency_receipts``, keyed by (API client, Idempotency-Key)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim_with_next(
        self,
        *,
        client_id: str,
        key: str,
        fingerprint: str,
        command: str,
        ttl: timedelta,
        lease: timedelta,
    ) -> Deferred[bool]:
        """Queue the claim ahead of the command's first reads; True once it is ours.

        It still runs first in the transaction; the caller must look at the answer before
        acting on anything that came back with it (``Session.check_after_next_answer``).
        """
        return self._session.defer(_CLAIM, (client_id, key, fingerprint, command, ttl, lease), bool)

    async def held(self, *, client_id: str, key: str) -> StoredReceipt:
        """The receipt that holds the key (after a claim that did not get it)."""
        held = await self._session.run(_HELD, (client_id, key))
        # The conflicting row exists: the claim's INSERT waited for its transaction to end.
        fingerprint, state, status, body, headers = held[0]
        return StoredReceipt(
            fingerprint=fingerprint,
            state=state,
            response_status=status,
            response_body=bytes(body) if body is not None else None,
            response_headers=headers,
        )

    def lock_first(self, *, client_id: str, key: str) -> None:
        """Queue a lock of the key's receipt, to be the transaction's first statement.

        A request that continues after a provider call writes its receipt at the end; taking
        the receipt's lock first puts it in the order every command takes its locks in: the
        receipt (a claim is always a command's first statement), then the order.
        """
        self._session.later(_LOCK, (client_id, key))

    async def leased(self, *, client_id: str, key: str) -> bool:
        """Whether a request holds the key right now (in progress, its lease still running)."""
        return bool(await self._session.run(_LEASED, (client_id, key)))

    async def release(self, *, client_id: str, key: str) -> None:
        """Forget an in-progress claim so the client may retry with the same key."""
        self._session.later(_RELEASE, (client_id, key))

    async def end_lease(self, *, client_id: str, key: str) -> None:
        """Let a retry with the same key take over this in-progress claim at once."""
        self._session.later(_END_LEASE, (client_id, key))

    async def delete_expired(self, batch: int = 5000) -> int:
        """Remove one batch of expired receipts; returns how many went."""
        rows = await self._session.run(_DELETE_EXPIRED, (batch,))
        return int(rows[0][0])
