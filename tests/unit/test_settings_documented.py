"""Every setting is documented in docs/settings.md, under its environment variable's name."""

from __future__ import annotations

from pathlib import Path

from orders_cqrs.config import Settings

SETTINGS_DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_has_a_line_in_the_settings_document() -> None:
    documented = SETTINGS_DOC.read_text()
    missing = [
        f"ORDERS_{name.upper()}"
        for name in Settings.model_fields
        if f"ORDERS_{name.upper()}" not in documented
    ]
    assert missing == []
