"""What a staff account is made of, checked before anything is stored."""

from __future__ import annotations

import re
from typing import Literal, get_args

StaffRole = Literal["support", "ops"]
# A person signs in to the console of their role; the roles are the API's people roles
# (``checkout`` is a machine's).
STAFF_ROLES: tuple[StaffRole, ...] = get_args(StaffRole)
NAME_MAX_CHARS = 200
EMAIL_MAX_CHARS = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidAccount(ValueError):
    """A name, email or role that cannot be an account's; the message says why."""


def normalize_email(raw: str) -> str:
    """The email as stored and looked up: trimmed and lowercased (unique regardless of case)."""
    return raw.strip().lower()


def valid_email(raw: str) -> str:
    """The normalized email, if it looks like one."""
    email = normalize_email(raw)
    if len(email) > EMAIL_MAX_CHARS or not _EMAIL.match(email):
        raise InvalidAccount(f"{raw!r} is not an email address")
    return email


def valid_name(raw: str) -> str:
    """The person's name as shown on pages and in the history."""
    name = " ".join(raw.split())
    if not name or len(name) > NAME_MAX_CHARS:
        raise InvalidAccount(f"a name has 1 to {NAME_MAX_CHARS} characters")
    return name


def valid_role(raw: str) -> StaffRole:
    """One of the staff roles."""
    for role in STAFF_ROLES:
        if raw == role:
            return role
    raise InvalidAccount(f"role is one of {', '.join(STAFF_ROLES)}, not {raw!r}")
