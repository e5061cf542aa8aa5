"""Staff passwords: argon2id hashes through argon2-cffi, never the password itself.

``PasswordHasher()``'s defaults are RFC 9106's low-memory profile; when a release (or we)
raise them, a stored hash made with the old parameters still verifies, and the sign-in that
proves the password replaces it (``needs_rehash``). Hashing costs tens of milliseconds of CPU
on purpose: callers on the event loop run it in a thread.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_CHARS = 12
# Far above any real password; bounds the work one request can ask of the hasher.
MAX_CHARS = 1024


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why."""


def check_policy(password: str) -> str:
    """The password, if it is long enough and not absurdly long."""
    if len(password) < MIN_CHARS:
        raise WeakPassword(f"a password has at least {MIN_CHARS} characters")
    if len(password) > MAX_CHARS:
        raise WeakPassword(f"a password has at most {MAX_CHARS} characters")
    if not password.strip():
        raise WeakPassword("a password is not only blanks")
    return password


class Passwords:
    """Hash, verify and tell when a hash is due for new parameters."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    def hash(self, password: str) -> str:
        """A new salted hash of ``password`` (the policy is the caller's to check first)."""
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Does ``password`` match ``stored``? Without a stored hash (no such account) a decoy
        is verified instead, so an unknown email costs as long as a wrong password."""
        if len(password) > MAX_CHARS:
            return False
        if stored is None:
            if self._decoy is None:
                self._decoy = self._hasher.hash("no account has this password")
            stored = self._decoy
            password = password + "\0"  # never matches the decoy
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Was ``stored`` made with other parameters than the hasher's current ones?"""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
