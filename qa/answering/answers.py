"""Reader spans -> cited answers: evidence summed per answer across windows and readings, in article offsets."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from qa.answering.answer_types import fits
from qa.answering.attribution import attribution
from qa.ingest.chunking import sentence_at
from qa.reading.evidence import WORD, content_stems, support
from qa.reading.reader import Reading
from qa.reading.windows import Window, window_weights
from qa.schema import Answer, Article, Citation, Passage
from qa.store.base import PassageStore
from qa.text import normalize_answer


@dataclass(frozen=True)
class View:
    """One reading of the retrieved passages: the windows read, what the reader found in them, and how
    much that evidence counts beside the other views (Pipeline.read)."""

    windows: list[Window]
    reading: Reading
    weight: float = 1.0


def answers_from_reading(
    views: Sequence[View],
    store: PassageStore,
    limit: int,
    hit_scores: Sequence[float],
    temperature: float,
    question: str = "",
    overlap_weight: float = 0.0,
    mismatch_weight: float = 1.0,
) -> list[Answer]:
    """Reader spans (read in each view's windows) -> cited answers in article offsets, best first.

    A span's evidence is view weight x P(window | question) x P(span | window) x support(sentence), times
    `mismatch_weight` when the span is not of the kind the question asks for (a place for "when"), and
    an answer's score sums the evidence of every span that gives it: the same answer read in several
    windows, or in several views, adds up. With one window and no overlap weight it is the reader's own
    probability. Each answer cites a passage once: a passage that gives it again adds evidence only."""
    answers: list[Answer] = []
    keys: list[str] = []  # each answer's normalised text
    places: list[list[tuple[str, int, int]]] = []  # article spans each answer was read at
    weighted = [(view, view.weight * window_weights(view.windows, hit_scores, temperature)) for view in views]
    # View by view, each best first, so an answer keeps the wording of its likeliest span in the first view.
    for view, weights, span in ((v, w, s) for v, w in weighted for s in v.reading.spans):
        window = view.windows[span.passage_index]
        article = store.article(window.passage.article_id)
        start, end = window.passage.to_article(span.start, span.end)
        start = past_restatement(question, article.text, start, end)
        sentence = sentence_at(article.text, start, end)
        score = float(weights[span.passage_index]) * span.score * support(question, sentence, overlap_weight)
        if not fits(question, span.text):
            score *= mismatch_weight
        key = normalize_answer(span.text) or span.text
        # Same answer: the same words anywhere (or all of one's words within the other's: "Trump" in one
        # article, "U.S. President Donald Trump" in another), or a span overlapping one already read
        # ("22" inside "22 missiles") - a variant, not a rival.
        k = next(
            (
                i
                for i, a in enumerate(answers)
                if _same_words(key, keys[i]) or any(aid == article.id and s < end and start < e for aid, s, e in places[i])
            ),
            None,
        )
        if k is None:
            citation = _citation(article, window.cite(start, end), start, end)
            source = source_of(sentence, key)
            answers.append(Answer(article.text[start:end], score, citation, reader_score=span.score, attribution=source))
            keys.append(key)
            places.append([(article.id, start, end)])
            continue
        citation = _citation(article, window.cite(start, end), start, end)
        cited = {(c.article_id, c.passage_index) for c in (answers[k].citation, *answers[k].also_in)}
        if any(aid == article.id and s < end and start < e for aid, s, e in places[k]) or (
            (citation.article_id, citation.passage_index) in cited
        ):
            # more evidence, one source
            answers[k] = replace(answers[k], score=answers[k].score + score, reader_score=max(answers[k].reader_score, span.score))
        else:
            answers[k] = replace(
                answers[k],
                score=answers[k].score + score,
                also_in=answers[k].also_in + (citation,),
                reader_score=max(answers[k].reader_score, span.score),
            )
        places[k].append((article.id, start, end))
    total = sum(a.score for a in answers)
    answers = [replace(a, share=a.score / total if total > 0 else 0.0) for a in answers]
    return sorted(answers, key=lambda a: -a.score)[:limit]


def source_of(sentence: str, answer_key: str) -> str:
    """Who `sentence` says the answer (normalised: `answer_key`) comes from; "" when it names no one, or
    names only the answer itself ("Jonathan Hoffman", according to Pentagon spokesman Jonathan Hoffman)."""
    source = attribution(sentence)
    return "" if _same_words(answer_key, normalize_answer(source)) else source


def _citation(article: Article, passage: Passage, start: int, end: int) -> Citation:
    passage_start, passage_end = passage.from_article(start, end)
    return Citation(article.id, article.title, passage.index, passage.text, start, end, passage_start, passage_end)


def _same_words(a: str, b: str) -> bool:
    wa, wb = set(a.split()), set(b.split())
    return a == b or (bool(wa) and bool(wb) and (wa <= wb or wb <= wa))


def past_restatement(question: str, text: str, start: int, end: int) -> int:
    """Where the answer in text[start:end] begins once a restatement of the question is cut from its
    front: "House Speaker Nancy Pelosi was handed a note about the attack during a meeting ..." for
    "Where was Nancy Pelosi handed a note about the attack?" begins at "during". Only a span that
    repeats at least three of the question's content words, half of them or more, and goes on after
    the last one is cut: a short answer sharing a word with its question ("al-Asad air base" for
    "Which bases ...?") is left whole."""
    wanted = content_stems(question)
    words = list(WORD.finditer(text, start, end))
    covered = [i for i, w in enumerate(words) if content_stems(w.group()) & wanted]
    seen = set().union(set(), *(content_stems(words[i].group()) for i in covered)) & wanted
    if len(seen) < 3 or 2 * len(seen) < len(wanted) or covered[-1] == len(words) - 1:
        return start
    return words[covered[-1] + 1].start()
