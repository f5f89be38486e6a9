"""The README is a user's guide that keeps up with the code: short, and every setting documented."""

from __future__ import annotations

import dataclasses
import re

from qa.settings import REPO_ROOT, Settings

README = REPO_ROOT / "README.md"


def _settings_table() -> dict[str, str]:
    text = README.read_text()
    table = text.split("<!-- settings:start -->", 1)[1].split("<!-- settings:end -->", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\|\s*`QA_([A-Z0-9_]+)`\s*\|([^\n]*)$", table, re.M)}


def test_readme_is_a_guide_not_a_log():
    assert len(README.read_text().splitlines()) <= 250


def test_every_setting_is_documented_and_every_documented_one_exists():
    documented = set(_settings_table())
    fields = {f.name.upper() for f in dataclasses.fields(Settings)}
    assert sorted(fields - documented) == [] and sorted(documented - fields) == []


def test_documented_defaults_are_the_real_ones():
    """Each row's default cell names the default (numbers and words as written in Settings)."""
    rows = _settings_table()
    for f in dataclasses.fields(Settings):
        if isinstance(f.default, (int, float, str)) and not isinstance(f.default, bool) and f.default != "" and "/" not in str(f.default):
            default_cell = rows[f.name.upper()].split("|")[0]
            assert str(f.default) in default_cell, (f.name, default_cell)
