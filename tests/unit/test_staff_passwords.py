"""Staff passwords: argon2id hashes that verify only the password, and that are replaced when
the hasher's parameters change."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from orders_cqrs.staff.passwords import (
    MAX_CHARS,
    MIN_CHARS,
    Passwords,
    WeakPassword,
    check_policy,
)

# Cheap parameters: the rules under test do not depend on the cost.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery staple"


def test_a_hash_is_argon2id_salted_and_never_the_password() -> None:
    passwords = Passwords(FAST)
    first, second = passwords.hash(PASSWORD), passwords.hash(PASSWORD)
    assert first.startswith("$argon2id$")
    assert PASSWORD not in first
    assert first != second  # a salt of its own each time


def test_only_the_password_verifies() -> None:
    passwords = Passwords(FAST)
    stored = passwords.hash(PASSWORD)
    assert passwords.verify(stored, PASSWORD)
    assert not passwords.verify(stored, PASSWORD.upper())
    assert not passwords.verify(stored, PASSWORD + " ")
    assert not passwords.verify("not a hash", PASSWORD)
    assert not passwords.verify(stored, "x" * (MAX_CHARS + 1))


def test_an_unknown_account_verifies_a_decoy_and_never_succeeds() -> None:
    passwords = Passwords(FAST)
    assert not passwords.verify(None, PASSWORD)
    assert not passwords.verify(None, "no account has this password")  # the decoy's own


def test_a_hash_made_with_older_parameters_is_due_for_a_rehash() -> None:
    old = Passwords(FAST).hash(PASSWORD)
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert stronger.verify(old, PASSWORD)  # the old hash still signs the person in
    assert stronger.needs_rehash(old)  # and is replaced then
    assert not stronger.needs_rehash(stronger.hash(PASSWORD))
    assert stronger.needs_rehash("garbage")


def test_the_default_hasher_uses_current_library_parameters() -> None:
    stored = Passwords().hash(PASSWORD)
    assert not Passwords().needs_rehash(stored)
    assert Passwords().needs_rehash(Passwords(FAST).hash(PASSWORD))


@pytest.mark.parametrize("password", ["", "short", "x" * (MIN_CHARS - 1), " " * 20])
def test_the_policy_refuses_short_or_blank_passwords(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_policy(password)


def test_the_policy_refuses_absurdly_long_passwords_and_accepts_sensible_ones() -> None:
    with pytest.raises(WeakPassword):
        check_policy("x" * (MAX_CHARS + 1))
    assert check_policy("x" * MIN_CHARS) == "x" * MIN_CHARS
    assert check_policy(PASSWORD) == PASSWORD
