"""What every step of a run gets: the store, the index, the models (the LLM only through
the worker's queue, at consolidation priority), the run's id and high-water marks, and
the report it fills. A step decides first (model calls, embeddings: no write is open),
then, unless the run is dry, writes its changes in one unit of work as ``consolidator``
with :meth:`RunContext.reason`, which tags each history row with the run's id. A prompt
is checked against the model's context in tokens (:meth:`RunContext.fits`) before it is
sent: a character budget cannot hold for text that tokenises densely (markup, JSON,
scripts other than Latin)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.capture.frame_files import FrameFiles
from core.consolidate.report import ConsolidationReport
from core.identity import Identity
from core.ingest.reconcile import Reconciler
from core.progress import Progress
from core.settings import ConsolidationSettings
from core.store.clock import Clock
from core.store.ledger import Ledger
from core.store.vector_index import VectorIndex
from models.embedder import Embedder
from models.llm import ChatMessage, JsonLLM

ACTOR = "consolidator"
TEMPLATE_TOKENS = 16  # a chat template's tokens around one message (and the reply's start)


def run_tag(run_id: str) -> str:
    """The suffix of every history reason a run writes (undo finds its rows by it)."""
    return f" [run {run_id}]"


@dataclass
class RunContext:
    ledger: Ledger
    index: VectorIndex
    embedder: Embedder
    load_llm: Callable[[], JsonLLM]
    count_tokens: Callable[[str], int]
    context_tokens: Callable[[], int]
    reconciler: Reconciler
    clock: Clock
    identity: Identity
    settings: ConsolidationSettings
    frames: FrameFiles
    media_budget_bytes: int
    run_id: str
    since_event: int
    since_history: int
    dry_run: bool
    report: ConsolidationReport
    progress: Progress

    def reason(self, text: str) -> str:
        return text + run_tag(self.run_id)

    def note(self, line: str) -> None:
        self.report.changes.append(line)

    def llm(self) -> JsonLLM:
        return self.load_llm()

    def fits(self, messages: Sequence[ChatMessage], max_tokens: int) -> bool:
        """Whether ``messages`` and an answer of ``max_tokens`` fit the model's context
        (with room for the chat template's own tokens)."""
        used = sum(self.count_tokens(m.content) + TEMPLATE_TOKENS for m in messages)
        return used + max_tokens + TEMPLATE_TOKENS <= self.context_tokens()

    def ask_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], max_tokens: int
    ) -> dict[str, Any] | None:
        """One grammar-constrained call at consolidation priority; None when the answer
        was cut short (the step then leaves that item as it is)."""
        self.report.llm_calls += 1
        raw = self.load_llm().complete_json(messages, schema, max_tokens)
        for ending in ("", '"}', "}"):  # a one-string answer cut short keeps what it said
            try:
                value = json.loads(raw + ending)
            except json.JSONDecodeError:
                continue
            return value if isinstance(value, dict) else None
        return None


_RENDERED = re.compile(r"\[?\d*\]?\s*\w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2} \| ")


def clean_generated(text: str) -> str:
    """A model's text without the event-line headers it may copy from the prompt
    (``Mon 2026-11-02 09:00 | ``), whitespace folded."""
    return " ".join(_RENDERED.sub("", text).split())
