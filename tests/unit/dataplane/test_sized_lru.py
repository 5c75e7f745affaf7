"""The per-process caches' map: most recently used values kept, up to a total size."""

from __future__ import annotations

from ingestion.dataplane.sized_lru import SizedLru


def test_the_least_recently_used_values_leave_once_their_total_size_passes_the_limit() -> None:
    cache: SizedLru[str, bytes] = SizedLru(10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now "b" is the least recently used
    cache.put("c", b"1234")

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"1234")
    assert len(cache) == 8


def test_a_value_over_the_limit_is_not_kept_and_pushes_nothing_out() -> None:
    cache: SizedLru[str, tuple[int, ...]] = SizedLru(5)
    cache.put("a", (1, 2))

    cache.put("huge", tuple(range(6)))

    assert cache.get("huge") is None
    assert cache.get("a") == (1, 2)
    assert len(cache) == 2


def test_a_value_put_again_counts_once() -> None:
    cache: SizedLru[str, bytes] = SizedLru(10)
    cache.put("a", b"12345678")
    cache.put("a", b"1234")
    cache.put("b", b"123456")

    assert (cache.get("a"), cache.get("b"), len(cache)) == (b"1234", b"123456", 10)
    cache.clear()
    assert (cache.get("a"), len(cache)) == (None, 0)
