"""The tiered KV state cache on its own: RAM and disk budgets, LRU order, restart,
and files that are corrupted or written for another key. Payloads here are plain bytes;
tests/test_prefix_cache.py runs the same cache under the real tiny LLM."""

from __future__ import annotations

from pathlib import Path

from gpu.kv_state_cache import KVStateCache, SavedState, state_key


def _state(n: int, size: int = 1000) -> SavedState:
    tokens = tuple(range(n, n + 5))
    return SavedState(state_key("sha", "ctx", tokens), tokens, f"fp{n}", bytes([n % 256]) * size)


def test_key_covers_model_context_and_prefix() -> None:
    base = state_key("sha-a", "n_ctx=2048", [1, 2, 3])
    assert base == state_key("sha-a", "n_ctx=2048", [1, 2, 3])
    assert base != state_key("sha-b", "n_ctx=2048", [1, 2, 3])
    assert base != state_key("sha-a", "n_ctx=4096", [1, 2, 3])
    assert base != state_key("sha-a", "n_ctx=2048", [1, 2, 4])


def test_ram_tier_keeps_budget_evicting_least_recently_used() -> None:
    cache = KVStateCache(ram_budget_bytes=2500)
    a, b, c = _state(1), _state(2), _state(3)
    cache.put(a)
    cache.put(b)
    assert cache.get(a.key) == a  # a is now the most recently used
    cache.put(c)
    assert cache.keys_in_ram() == [a.key, c.key]
    assert cache.get(b.key) is None
    assert cache.ram_bytes() <= 2500
    assert cache.stats.evicted_ram == 1 and cache.stats.misses == 1


def test_disk_tier_survives_restart_and_keeps_its_budget(tmp_path: Path) -> None:
    folder = tmp_path / "kv"
    cache = KVStateCache(ram_budget_bytes=1500, folder=folder, disk_budget_bytes=2500)
    states = [_state(n) for n in range(3)]
    for state in states:
        cache.put(state)
    # RAM holds one, disk the two most recent; the oldest is gone from both.
    assert cache.keys_in_ram() == [states[2].key]
    assert sorted(cache.keys_on_disk()) == sorted([states[1].key, states[2].key])
    assert cache.disk_bytes() <= 2500 + 2 * 400  # payloads plus headers

    restarted = KVStateCache(ram_budget_bytes=1500, folder=folder, disk_budget_bytes=2500)
    assert restarted.keys_in_ram() == []
    loaded = restarted.get(states[1].key)
    assert loaded == states[1]
    assert restarted.stats.disk_hits == 1
    assert restarted.keys_in_ram() == [states[1].key]  # promoted
    assert restarted.get(states[0].key) is None


def test_corrupted_file_is_detected_deleted_and_missed(tmp_path: Path) -> None:
    cache = KVStateCache(10_000, tmp_path, 10_000)
    state = _state(7)
    cache.put(state)
    path = tmp_path / f"{state.key}.kvstate"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    fresh = KVStateCache(10_000, tmp_path, 10_000)
    assert fresh.get(state.key) is None
    assert fresh.stats.rejected_files == 1
    assert "checksum" in fresh.stats.notes[0]
    assert not path.exists()


def test_truncated_and_foreign_files_are_ignored(tmp_path: Path) -> None:
    cache = KVStateCache(10_000, tmp_path, 10_000)
    one, two = _state(1), _state(2)
    cache.put(one)
    original = (tmp_path / f"{one.key}.kvstate").read_bytes()
    # a state written for another key, under this key's name: a mismatched file
    (tmp_path / f"{two.key}.kvstate").write_bytes(original)
    fresh = KVStateCache(10_000, tmp_path, 10_000)
    assert fresh.get(two.key) is None
    assert "another key" in fresh.stats.notes[-1]
    (tmp_path / f"{one.key}.kvstate").write_bytes(original[:-100])
    assert fresh.get(one.key) is None
    assert "truncated" in fresh.stats.notes[-1]
    (tmp_path / f"{one.key}.kvstate").write_bytes(b"garbage")
    assert fresh.get(one.key) is None
    assert fresh.stats.rejected_files == 3


def test_discard_forgets_everywhere(tmp_path: Path) -> None:
    cache = KVStateCache(10_000, tmp_path, 10_000)
    state = _state(3)
    cache.put(state)
    cache.discard(state.key)
    assert cache.get(state.key) is None
    assert cache.keys_on_disk() == []


def test_longest_match_finds_the_state_sharing_most_leading_tokens(tmp_path: Path) -> None:
    cache = KVStateCache(ram_budget_bytes=10_000, folder=tmp_path / "kv", disk_budget_bytes=10_000)
    prefix = SavedState(state_key("sha", "ctx", (1, 2, 3)), (1, 2, 3), "fp", b"p" * 100)
    block = SavedState(
        state_key("sha", "ctx", (1, 2, 3, 4, 5, 6)), (1, 2, 3, 4, 5, 6), "fp", b"b" * 100
    )
    cache.put(prefix)
    cache.put(block, persist=False)
    assert cache.keys_on_disk() == [prefix.key]  # a block is kept in RAM only
    assert cache.longest_match([1, 2, 3, 4, 5, 9, 9]) == (block, 5)  # longer state: cut later
    assert cache.longest_match([1, 2, 3, 7]) in ((prefix, 3), (block, 3))
    assert cache.longest_match([1, 2]) is not None
    assert cache.longest_match([8, 1, 2]) is None
