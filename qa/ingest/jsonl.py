"""One JSON object per line: the format of article feeds and of evaluation questions."""

from __future__ import annotations

import json


def json_object(line: str, where: str, error: type[Exception]) -> dict:
    """Parse one line; a bad line raises `error` with `where` (file and line) in its message."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise error(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from err
    if not isinstance(record, dict):
        raise error(f"{where}: each line must be a JSON object, not {type(record).__name__}")
    return record
