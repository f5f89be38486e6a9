"""File names for uploads: what people recognise, and what is safe to create in the corpus folder."""

from __future__ import annotations

import re
import unicodedata

from qa.ingest.formats import check_suffix

# Bytes, not characters: file systems limit a name to 255 bytes, and an 80-character CJK name is 240
# before its suffix and the temporary name it is first written under.
MAX_STEM_BYTES = 120


def safe_file_name(name: str, taken: set[str]) -> str:
    """A base name for `name` that is safe to create in the corpus folder: no folders, no hidden
    files, only letters, digits, "_" and "-" before a supported suffix, and a stem no file in `taken`
    (casefolded stems) has; the chosen stem is added to `taken`."""
    base = display_name(name)
    suffix = check_suffix(base)
    stem = re.sub(r"[^\w-]+", "_", base[: -len(suffix)]).strip("._-")
    stem = stem.encode("utf-8")[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip("._-") or "article"
    candidate, n = stem, 2
    while candidate.casefold() in taken:
        candidate, n = f"{stem}-{n}", n + 1
    taken.add(candidate.casefold())
    return candidate + suffix


def display_name(name: str) -> str:
    """The last path component of an uploaded name, as people will recognise it."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in base if ch.isprintable()) or "unnamed upload"
