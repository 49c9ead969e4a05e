"""rb.imagediff's reused work arrays (rb/imagediff/scratch.py) change no result.

pixelmatch keeps its scratch arrays between calls; these tests check that a
call sees nothing of an earlier one (other sizes, other contents, other
threads, a call that failed), that no result shares memory with the pool, and
that the pool keeps what it says it keeps.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import rb.imagediff as imagediff
from rb.imagediff import antialiasing, pixelmatch, scratch

from .test_imagediff import changed, random_image


def pairs(seed: int, count: int) -> list[tuple[Any, Any, dict[str, Any]]]:
    """Random image pairs of many sizes, with options that reach every path."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        height, width = int(rng.integers(1, 48)), int(rng.integers(1, 48))
        a = random_image(rng, height, width)
        b = changed(rng, a)
        opts = {
            "threshold": float(rng.choice([0, 0.05, 0.1, 0.3])),
            "include_aa": bool(rng.random() < 0.2),
            "diff_mask": bool(rng.random() < 0.2),
            "output": bool(rng.random() < 0.9),
        }
        out.append((a, b, opts))
    return out


def fresh(a: Any, b: Any, opts: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """pixelmatch with a new, empty scratch."""
    with monkeypatch.context() as m:
        m.setattr(scratch, "_pool", [])
        m.setattr(scratch, "_KEEP", 0)
        return pixelmatch(a, b, **opts)


def same(x: Any, y: Any) -> bool:
    if x.mismatched != y.mismatched or (x.diff is None) != (y.diff is None):
        return False
    return x.diff is None or bool(np.array_equal(x.diff, y.diff))


def test_a_warm_scratch_gives_what_a_fresh_one_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imagediff, "_BACKGROUND_THREAD_MIN", 0)  # the grey thread too
    monkeypatch.setattr(scratch, "_pool", [])
    for a, b, opts in pairs(0, 150):  # sizes go up and down: buffers are reused and regrown
        assert same(pixelmatch(a, b, **opts), fresh(a, b, opts, monkeypatch)), opts
    assert len(scratch._pool) == 1


def test_results_never_share_memory_with_the_scratch() -> None:
    rng = np.random.default_rng(3)
    a = random_image(rng, 30, 30)
    first = pixelmatch(a, changed(rng, a))
    kept = first.diff.copy() if first.diff is not None else None
    for _ in range(5):
        pixelmatch(random_image(rng, 30, 30), random_image(rng, 30, 30))
    assert first.diff is not None and np.array_equal(first.diff, kept)


def test_calls_in_threads_at_once_get_their_own_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imagediff, "_BACKGROUND_THREAD_MIN", 0)
    work = pairs(1, 40)
    expected = [fresh(a, b, opts, monkeypatch) for a, b, opts in work]
    got: dict[int, list[Any]] = {}
    start = threading.Barrier(4)

    def run(worker: int) -> None:
        start.wait()
        got[worker] = [pixelmatch(a, b, **opts) for a, b, opts in work]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for results in got.values():
        assert all(same(x, y) for x, y in zip(results, expected, strict=True))
    assert len(scratch._pool) <= len(threads)  # a cache: calls ending at once may both keep theirs


def test_a_failed_call_leaves_no_thread_and_the_next_call_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imagediff, "_BACKGROUND_THREAD_MIN", 0)
    rng = np.random.default_rng(5)
    a = random_image(rng, 40, 40)
    a[..., 3] = 255
    b = a.copy()
    b[10:20, 10:20] = 255 - b[10:20, 10:20]
    b[..., 3] = 255

    def fail(*args: object) -> None:
        raise RuntimeError("detector failed")

    with monkeypatch.context() as m:
        m.setattr(imagediff, "_detect_antialiasing", fail)
        with pytest.raises(RuntimeError, match="detector failed"):
            pixelmatch(a, b)
    assert not [t for t in threading.enumerate() if t.name == "rb-imagediff-gray"]
    assert same(pixelmatch(a, b), fresh(a, b, {}, monkeypatch))


def test_the_pool_keeps_at_most_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scratch, "_pool", [])
    a = np.zeros((64, 64, 4), np.uint8)
    b = a.copy()
    b[5, 5] = 255
    pixelmatch(a, b)
    assert len(scratch._pool) == 1 and scratch._pool[0].nbytes > 0
    monkeypatch.setattr(scratch, "_pool", [])
    monkeypatch.setattr(scratch, "_KEEP_BYTES", 1024)  # larger scratches are dropped
    pixelmatch(a, b)
    assert scratch._pool == []


@pytest.mark.parametrize("seed", range(3))
def test_patched_keys_equal_computed_keys(seed: int) -> None:
    """img2's keys copied from img1's and patched where they differ (antialiasing._maps)."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        height, width = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        a = random_image(rng, height, width)
        b = changed(rng, a)
        a32, b32 = a.reshape(-1).view(np.uint32), b.reshape(-1).view(np.uint32)
        differs = np.flatnonzero(a32 != b32)
        points = differs[: max(1, differs.size // 2)] if differs.size else np.array([0])
        bands = antialiasing._bands(points, height, width)
        work = scratch.Scratch()
        maps_a = antialiasing._maps(a, bands, work, "a")
        patched = antialiasing._maps(b, bands, work, "b", (maps_a.key, differs))
        computed = antialiasing._maps(b, bands, scratch.Scratch(), "b")
        for start, stop in bands:
            rows = slice(start * width, stop * width)
            assert np.array_equal(patched.key[rows], computed.key[rows])
            assert np.array_equal(patched.equal[rows], computed.equal[rows])
