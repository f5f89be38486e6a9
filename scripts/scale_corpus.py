"""A large corpus of real text for scale benchmarks: the questions' own paragraphs, then distractors.

    python scripts/scale_corpus.py OUT.jsonl [--limit 100000]

In order, one JSON line (title, text, source) per article, no text twice:
1. SQuAD v1.1 dev's 2,067 paragraphs (the questions asked have their answers here);
2. every distinct context of ../shared/data/train and train-extra (Wikipedia, Reddit, Amazon reviews,
   COVID papers: SQuAD-style paragraphs, the hardest distractors since dev is Wikipedia too);
3. the sections of the Linux kernel's, Python's and Django's documentation (Debian packages
   linux-doc-6.1, python3.11-doc, python-django-doc: HTML), long sections cut at paragraphs into parts
   of at most ~2,500 characters;
4. the entries of the GNU Collaborative International Dictionary of English (Debian dict-gcide:
   Webster's 1913 and WordNet definitions with their quotations).

Parts 3 and 4 are real English prose but far from Wikipedia's topics, so they are easier distractors
than more Wikipedia would be; the benchmark says how many of each a collection holds. The Debian
packages are fetched with `apt-get download` into the cache folder the first time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
PACKAGES = ("linux-doc-6.1", "python3.11-doc", "python-django-doc", "dict-gcide")
PART_CHARS = 2500
MIN_CHARS = 200


def unpacked(cache: Path) -> Path:
    """The Debian packages' files, downloaded and unpacked into `cache` once."""
    root, done = cache / "root", cache / ".unpacked"
    if not done.exists() or done.read_text().split() != list(PACKAGES):
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=cache, check=True)
        for deb in sorted(cache.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        done.write_text(" ".join(PACKAGES))
    return root


def squad_paragraphs() -> Iterator[dict]:
    files = [SHARED / "squad" / "dev-v1.1.json", *sorted((SHARED / "train").glob("*.json")),
             SHARED / "train-extra" / "squad-v1.1-train-explorer.json"]
    for f in files:
        for article in json.loads(f.read_text())["data"]:
            for p in article.get("paragraphs", []):
                yield {"title": article.get("title", "untitled").replace("_", " "), "text": p["context"], "source": f.stem}


def doc_sections(root: Path) -> Iterator[dict]:
    import lxml.html

    for page in sorted((root / "usr" / "share" / "doc").rglob("*.html")):
        try:
            doc = lxml.html.parse(str(page)).getroot()
        except (OSError, ValueError):
            continue
        if doc is None:
            continue
        page_title = " ".join((doc.findtext(".//title") or page.stem).split())
        source = next((name for name in ("linux", "django", "python") if name in str(page)), "other") + "-doc"
        for section in doc.xpath('//section | //div[contains(concat(" ", @class, " "), " section ")]'):
            heads = section.xpath("./h1 | ./h2 | ./h3 | ./h4")
            head = " ".join(heads[0].text_content().split()).rstrip("¶") if heads else ""
            paragraphs = [" ".join(p.text_content().split()) for p in section.xpath("./p | ./ul | ./ol | ./dl | ./blockquote")]
            for n, part in enumerate(_parts([p for p in paragraphs if len(p) > 40]), start=1):
                if len(part) >= MIN_CHARS:
                    yield {"title": f"{page_title} - {head}" + (f" ({n})" if n > 1 else ""), "text": part, "source": source}


def _parts(paragraphs: list[str]) -> Iterator[str]:
    """Paragraphs packed in order into texts of at most PART_CHARS (a longer paragraph stays whole)."""
    part: list[str] = []
    for p in paragraphs:
        if part and sum(map(len, part)) + len(p) > PART_CHARS:
            yield "\n\n".join(part)
            part = []
        part.append(p)
    if part:
        yield "\n\n".join(part)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_EDITION = re.compile(r"\[(1913 Webster|PJC|WordNet 1\.5|Webster 1913 Suppl\.)[^\]]*\]")


def dictionary_entries(root: Path) -> Iterator[dict]:
    """dictd's index: headword, offset and length (in its base-64 digits) into the unpacked text."""
    dictd = root / "usr" / "share" / "dictd"
    raw = gzip.open(dictd / "gcide.dict.dz").read()
    seen = set()
    for line in (dictd / "gcide.index").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or fields[0].startswith("00-database"):
            continue
        offset, length = (_number(f) for f in fields[1:3])
        if offset in seen:
            continue
        seen.add(offset)
        text = _EDITION.sub("", raw[offset : offset + length].decode("utf-8", "replace"))
        text = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())
        if len(text) >= MIN_CHARS:
            yield {"title": f"{fields[0]} (dictionary)", "text": text, "source": "gcide"}


def _number(digits: str) -> int:
    n = 0
    for c in digits:
        n = n * 64 + _B64.index(c)
    return n


def articles(cache: Path, limit: int | None = None) -> Iterator[dict]:
    root = unpacked(cache)
    seen, count = set(), 0
    for stream in (squad_paragraphs(), doc_sections(root), dictionary_entries(root)):
        for record in stream:
            if record["text"] in seen:
                continue
            seen.add(record["text"])
            yield record
            count += 1
            if limit is not None and count >= limit:
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=REPO / "runs" / "scale-text")
    args = parser.parse_args()
    counts: dict[str, int] = {}
    with args.out.open("w") as f:
        for record in articles(args.cache, args.limit):
            counts[record["source"]] = counts.get(record["source"], 0) + 1
            f.write(json.dumps(record) + "\n")
    print(f"{sum(counts.values()):,} articles:", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
