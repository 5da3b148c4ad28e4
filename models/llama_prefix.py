"""The stable prefix of a prompt in llama.cpp: prefill it once, save its KV state,
restore it for every later prompt that starts with it, and check the restore.

Evaluation always follows one schedule, cached or not: the prefix without its last
token, then its last token alone, then the rest of the prompt. The logits of that lone
last token are the prefix's fingerprint: after a restore the last token is decoded again
on the restored KV and must give the same fingerprint, else the state is wrong (a known
failure of state restore with GPU offload) and is thrown away for a fresh prefill. With
one schedule, an answer is bit-for-bit the same whether the prefix came from the cache
or was computed just now.

Only sequence 0's KV is saved (``llama_state_seq_*``), not llama-cpp-python's
``LlamaState``, which copies a logits matrix of batch × vocabulary floats.
"""

from __future__ import annotations

import ctypes
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpu.kv_state_cache import KVStateCache, SavedState, state_key

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass(frozen=True)
class PrefixOutcome:
    """How the prefix of the last prompt was obtained."""

    source: str  # "live" | "ram" | "disk" | "prefill" | "uncached" | "none"
    prefix_tokens: int
    restore_ms: float = 0.0
    rejected: str = ""  # why a cached state was refused, if one was


def context_signature(llama: Llama, n_gpu_layers: int) -> str:
    """Everything about the context that a saved KV state depends on."""
    import llama_cpp

    params = llama.context_params
    return (f"llama_cpp={llama_cpp.__version__};n_ctx={llama.n_ctx()};"
            f"n_batch={params.n_batch};n_ubatch={params.n_ubatch};type_k={params.type_k};"
            f"type_v={params.type_v};flash_attn={params.flash_attn_type};"
            f"offload_kqv={params.offload_kqv};n_gpu_layers={n_gpu_layers}")


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
    """Gets the KV of a prompt's stable prefix into the live context as cheaply as it can:
    already live, else restored from the cache (RAM, then disk), else prefilled and saved."""

    def __init__(self, cache: KVStateCache | None, model_sha256: str, context: str) -> None:
        self.cache = cache
        self.model_sha256 = model_sha256
        self.context = context

    def key(self, prefix: Sequence[int]) -> str:
        return state_key(self.model_sha256, self.context, prefix)

    def prepare(self, llama: Llama, prefix: Sequence[int]) -> PrefixOutcome:
        if len(prefix) < 2:
            llama.reset()
            return PrefixOutcome("none", 0)
        if self.cache is None:
            prefill(llama, prefix)
            return PrefixOutcome("uncached", len(prefix))
        if llama.n_tokens >= len(prefix) and list(llama.input_ids[: len(prefix)]) == list(prefix):
            return PrefixOutcome("live", len(prefix))
        key = self.key(prefix)
        in_ram = key in self.cache.keys_in_ram()
        started = time.perf_counter()
        state = self.cache.get(key)
        rejected = ""
        if state is not None:
            if state.tokens != tuple(prefix):
                rejected = "saved tokens differ from the prefix"
            elif restore_sequence(llama, state) == state.fingerprint:
                elapsed = (time.perf_counter() - started) * 1000
                return PrefixOutcome("ram" if in_ram else "disk", len(prefix), elapsed)
            else:
                rejected = "logits after restore differ from the saved fingerprint"
            self.cache.discard(key)
        fingerprint = prefill(llama, prefix)
        self.cache.put(SavedState(key, tuple(prefix), fingerprint, save_sequence(llama)))
        return PrefixOutcome("prefill", len(prefix), rejected=rejected)
