"""The reusable parts of a prompt in llama.cpp: the stable prefix (system prompt and core
memory) and the segments after it that recur between questions (retrieved memories).

Evaluation always follows one schedule, cached or not: the prefix without its last token,
then its last token alone, then each segment in one batch of its own, then the last
token of the last segment alone again, then the rest of the prompt. The logits of a lone
last token are a fingerprint: after a restore that token is decoded again on the restored
KV and must give the same fingerprint, else the state is wrong (a known failure of state
restore with GPU offload) and is thrown away. Because every token's KV is computed in the
same batch on the same KV before it whichever way the prompt is assembled, an answer is
bit-for-bit the same whether its prefix and segments came from the live context, the
cache or a fresh prefill.

The prefix's state is saved to RAM and disk. The state at the end of the last segment (a
"block": prefix plus the memories shown with this question) is kept in RAM: a later
question whose prompt starts with the same memories (the answer prompt puts memories
that recur first) restores the block, drops the KV past the shared segments and
evaluates only its own new segments.

Only sequence 0's KV is saved (``llama_state_seq_*``), not llama-cpp-python's
``LlamaState``, which copies a logits matrix of batch × vocabulary floats.
"""

from __future__ import annotations

import ctypes
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gpu.kv_state_cache import KVStateCache, SavedState, shared_run, state_key

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass(frozen=True)
class PrefixOutcome:
    """How the reusable parts of the last prompt were obtained."""

    source: str  # the prefix: "live" | "ram" | "disk" | "prefill" | "uncached" | "none"
    prefix_tokens: int
    restore_ms: float = 0.0
    rejected: str = ""  # why a cached state was refused, if one was
    reused_tokens: int = 0  # leading prompt tokens not evaluated (prefix + shared segments)
    segments_from: str = ""  # where shared segments came from: "" | "live" | "ram"


def context_signature(llama: Llama, n_gpu_layers: int) -> str:
    """Everything about the context that a saved KV state depends on."""
    import llama_cpp

    params = llama.context_params
    return (
        f"llama_cpp={llama_cpp.__version__};n_ctx={llama.n_ctx()};"
        f"n_batch={params.n_batch};n_ubatch={params.n_ubatch};type_k={params.type_k};"
        f"type_v={params.type_v};flash_attn={params.flash_attn_type};"
        f"offload_kqv={params.offload_kqv};n_gpu_layers={n_gpu_layers}"
    )


def _last_logits_fingerprint(llama: Llama) -> str:
    import llama_cpp
    import numpy as np

    pointer = llama_cpp.llama_get_logits_ith(llama.ctx, -1)
    logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),))
    return hashlib.sha256(logits.tobytes()).hexdigest()


def _decode_last(llama: Llama, prefix: Sequence[int]) -> str:
    """Decode the prefix's last token alone on top of the KV of the ones before it."""
    llama.n_tokens = len(prefix) - 1
    llama.eval(list(prefix[-1:]))  # eval drops KV from n_tokens on first
    return _last_logits_fingerprint(llama)


def prefill(llama: Llama, prefix: Sequence[int]) -> str:
    llama.reset()
    llama.eval(list(prefix[:-1]))
    return _decode_last(llama, prefix)


def save_sequence(llama: Llama) -> bytes:
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llama.ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llama.ctx, buffer, size, 0)
    if written == 0 or written > size:
        raise RuntimeError("llama.cpp could not copy the sequence state")
    return bytes(memoryview(buffer)[:written])


def restore_sequence(llama: Llama, state: SavedState) -> str:
    """Load a saved state into sequence 0 and return the fingerprint it gives now."""
    import llama_cpp

    llama.reset()
    llama._ctx.kv_cache_seq_rm(0, 0, -1)
    buffer = (ctypes.c_uint8 * state.nbytes).from_buffer_copy(state.payload)
    if llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, state.nbytes, 0) != state.nbytes:
        llama.reset()
        return "not loaded"
    llama.input_ids[: len(state.tokens)] = state.tokens
    return _decode_last(llama, state.tokens)


class PrefixStates:
    """Gets the KV of a prompt's prefix and segments into the live context as cheaply as it
    can: what the live context already holds, else a saved block or prefix state (RAM,
    then disk), else a fresh prefill; then evaluates the segments still missing. Without a
    cache it is the reference runtime: everything is evaluated every time, in the same
    schedule."""

    def __init__(self, cache: KVStateCache | None, model_sha256: str, context: str) -> None:
        self.cache = cache
        self.model_sha256 = model_sha256
        self.context = context
        # what the last prepare left in the live context, up to its block end (a lone-
        # decoded token); a live context that no longer starts with it is not trusted
        self._live: tuple[int, ...] = ()

    def forget_live(self) -> None:
        """Trust nothing the live context holds (it was cleared)."""
        self._live = ()

    def key(self, prefix: Sequence[int]) -> str:
        return state_key(self.model_sha256, self.context, prefix)

    def prepare(
        self,
        llama: Llama,
        tokens: Sequence[int],
        n_prefix: int,
        segment_ends: Sequence[int] = (),
    ) -> PrefixOutcome:
        """Leave ``llama`` holding the KV of ``tokens[:n_prefix]`` and of every segment
        (``segment_ends``: token positions after the prefix), ready for the rest."""
        if n_prefix < 2:
            llama.reset()
            self._live = ()
            return PrefixOutcome("none", 0)
        ends = sorted({end for end in segment_ends if n_prefix < end < len(tokens)})
        stops = [n_prefix, *ends]
        block_end = stops[-1]

        def usable(shared: int, source_end: int) -> int:
            """The furthest stop inside ``shared`` at which evaluation may resume. A source's
            own block end was decoded alone, so it is a stop only where this prompt decodes
            it alone too (its prefix end or its block end)."""
            return max(
                (
                    stop
                    for stop in stops
                    if stop <= shared and (stop < source_end or stop in (n_prefix, block_end))
                ),
                default=0,
            )

        live = llama.input_ids[: llama.n_tokens]
        start = 0
        if self.cache is not None and self._live and tuple(live[: len(self._live)]) == self._live:
            start = usable(shared_run(live, tokens), len(self._live))
        outcome = (
            PrefixOutcome("live", n_prefix, segments_from="live" if start > n_prefix else "")
            if start
            else PrefixOutcome("none", n_prefix)
        )
        if self.cache is not None and ends:
            restored = self._restore_block(llama, tokens[:block_end], n_prefix, usable, start)
            if restored is not None:
                start, outcome = restored
        if start < n_prefix:
            outcome = self._prefix(llama, tokens[:n_prefix], outcome.rejected)
            start = n_prefix
        block = tuple(tokens[:block_end])
        if ends:
            fingerprint = self._segments(llama, tokens, start, ends)
            if self.cache is not None and start < block_end:
                self.cache.put(
                    SavedState(self.key(block), block, fingerprint, save_sequence(llama)),
                    persist=False,
                )
        else:
            llama.n_tokens = n_prefix
        self._live = block
        return replace(outcome, reused_tokens=start)

    def _restore_block(
        self,
        llama: Llama,
        block: Sequence[int],
        n_prefix: int,
        usable: Callable[[int, int], int],
        start: int,
    ) -> tuple[int, PrefixOutcome] | None:
        assert self.cache is not None
        match = self.cache.longest_match(block)
        if match is None:
            return None
        state, shared = match
        reach = usable(shared, len(state.tokens))
        if reach <= max(start, n_prefix):
            return None  # nothing past the prefix: its own (smaller) state is restored
        started = time.perf_counter()
        if restore_sequence(llama, state) != state.fingerprint:
            self.cache.discard(state.key)  # and the live context is gone: start over
            return 0, PrefixOutcome(
                "none",
                n_prefix,
                rejected=(
                    "logits after restoring a memory block differ from its saved fingerprint"
                ),
            )
        elapsed = (time.perf_counter() - started) * 1000
        return reach, PrefixOutcome("ram", n_prefix, elapsed, segments_from="ram")

    def _segments(
        self, llama: Llama, tokens: Sequence[int], start: int, ends: Sequence[int]
    ) -> str:
        """Evaluate the segments after ``start``, each in a batch of its own, then the last
        one's last token alone; returns that token's fingerprint."""
        llama.n_tokens = start  # eval drops the KV past n_tokens first
        begin = start
        for end in ends:
            if end > begin:
                llama.eval(list(tokens[begin:end]))
                begin = end
        return _decode_last(llama, tokens[: ends[-1]])

    def _prefix(self, llama: Llama, prefix: Sequence[int], rejected: str = "") -> PrefixOutcome:
        if self.cache is None:
            prefill(llama, prefix)
            return PrefixOutcome("uncached", len(prefix))
        key = self.key(prefix)
        in_ram = key in self.cache.keys_in_ram()
        started = time.perf_counter()
        state = self.cache.get(key)
        if state is not None:
            if state.tokens != tuple(prefix):
                rejected = "saved tokens differ from the prefix"
            elif restore_sequence(llama, state) == state.fingerprint:
                elapsed = (time.perf_counter() - started) * 1000
                return PrefixOutcome("ram" if in_ram else "disk", len(prefix), elapsed, rejected)
            else:
                rejected = "logits after restore differ from the saved fingerprint"
            self.cache.discard(key)
        fingerprint = prefill(llama, prefix)
        self.cache.put(SavedState(key, tuple(prefix), fingerprint, save_sequence(llama)))
        return PrefixOutcome("prefill", len(prefix), rejected=rejected)
