"""The README's table of problem types is the service's: every type with its status, no other."""

from __future__ import annotations

import re
from pathlib import Path

from orders_cqrs.api.problems import PROBLEMS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_problem_type_with_its_status() -> None:
    section = README.read_text().split("## Problem types", 1)[1].split("\n## ", 1)[0]
    listed = {
        name: int(status)
        for name, status in re.findall(r"^\| `([a-z-]+)` \| (\d{3}) \|", section, re.M)
    }
    assert listed == {name: status for name, (status, _title) in PROBLEMS.items()}
