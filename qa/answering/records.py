"""A response as the JSON record that `ask --json` prints and the HTTP API returns."""

from __future__ import annotations

from qa.answering.conversation import Turn
from qa.schema import Response


def response_record(response: Response) -> dict:
    """`ask --json`: `score` ranks the answers (all evidence summed), `share` is that score as a share of
    all answers read, `confidence` is the reader's own probability for the answer in the passage it is cited
    in, read alone (what abstention compares with QA_MIN_ANSWER_SCORE)."""
    return {
        "question": response.question,
        "interpreted": response.interpreted or None,
        "answers": [
            {
                "text": a.text,
                "score": round(a.score, 4),
                "share": round(a.share, 4),
                "confidence": round(a.reader_score, 4),
                "according_to": a.attribution or None,
                "article_id": a.citation.article_id,
                "title": a.citation.title,
                "start": a.citation.start,
                "end": a.citation.end,
                "passage": a.citation.passage,
            }
            for a in response.answers
        ],
        "sources_disagree": [a.text for a in response.disagreement],
        "abstained": response.abstained,
        # what a client sends back in `history` to ask a follow-up (qa.answering.conversation.Turn)
        "turn": {"question": (turn := Turn.of(response)).question, "answer": turn.answer},
    }
