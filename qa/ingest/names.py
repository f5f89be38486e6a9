"""Names for uploads: what people recognise, and the safe article id a file name gives."""

from __future__ import annotations

import re
import unicodedata

from qa.ingest.formats import check_suffix

# Bytes, not characters: an id is also shown and stored as a name, and 80 CJK characters are 240 bytes.
MAX_STEM_BYTES = 120


def safe_stem(name: str) -> str:
    """The article id a file name gives: its last component without the (supported) suffix, reduced to
    letters, digits, "_" and "-" and cut to MAX_STEM_BYTES (ArticleError for an unsupported type)."""
    base = display_name(name)
    suffix = check_suffix(base)
    stem = re.sub(r"[^\w-]+", "_", base[: -len(suffix)]).strip("._-")
    return stem.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip("._-") or "article"


def display_name(name: str) -> str:
    """The last path component of an uploaded name, as people will recognise it."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in base if ch.isprintable()) or "unnamed upload"
