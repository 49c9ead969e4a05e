"""The diff image's background: pixelmatch's grey rendering of img1.

The grey is computed once per run of equal pixels along a row, and for large
images on a second thread while the images are compared.
"""

from __future__ import annotations

import threading

import numpy as np

from rb.imagediff.color import _U32, _Y, _bytes
from rb.imagediff.scratch import Scratch


def _gray_words() -> _U32:
    """The opaque grey pixel of each level 0 to 255, as an RGBA word."""
    rgba = np.repeat(np.arange(256, dtype=np.uint8), 4).reshape(256, 4)
    rgba[:, 3] = 255
    words: _U32 = rgba.reshape(-1).view(np.uint32)
    return words


_GRAY_WORDS = _gray_words()


def _gray(img32: _U32, alpha: float, scratch: Scratch) -> _U32:
    """pixelmatch's drawGrayPixel for every pixel, as RGBA words (a new array).

    The grey depends only on the pixel, so it is computed once per run of equal
    pixels (a screenshot row is mostly long runs) and repeated: the same bytes
    as computing it for each pixel.
    """
    n = img32.size
    if n == 0:
        return np.zeros(0, np.uint32)
    same = scratch.array("gray.changes", n - 1, np.bool_)
    changes = np.flatnonzero(np.not_equal(img32[1:], img32[:-1], out=same))
    runs = changes.size + 1
    bounds = scratch.array("gray.bounds", runs + 1, np.intp)
    bounds[0] = 0
    np.add(changes, 1, out=bounds[1:-1])
    bounds[-1] = n
    starts = bounds[:-1]
    # three buffers serve in turn (each array is dead when its buffer is reused)
    words = np.take(img32, starts, out=scratch.array("gray.pixels", runs, np.uint32), mode="clip")
    pixels = _bytes(words)
    floats = scratch.array("gray.val", (2, runs), np.float64)
    # 255 + (r * 0.29889531 + g * 0.58662247 + b * 0.11448223 - 255) * alpha * a / 255
    val, term = floats
    np.multiply(pixels[:, 0], _Y[0], out=val)
    for channel in (1, 2):
        np.multiply(pixels[:, channel], _Y[channel], out=term)
        val += term
    val -= 255
    val *= alpha
    val *= pixels[:, 3]
    val /= 255
    val += 255
    whole = term.view(np.int64)
    np.copyto(whole, val, casting="unsafe")  # as astype(np.int64): truncated toward zero
    whole &= 0xFF  # stored into a Uint8Array: wrapped modulo 256
    run_words = np.take(_GRAY_WORDS, whole, out=words, mode="clip")
    lengths = np.subtract(bounds[1:], starts, out=val.view(np.int64))
    gray: _U32 = np.repeat(run_words, lengths)
    return gray


class _GrayInBackground(threading.Thread):
    """_gray on a thread of its own, overlapping the comparison (NumPy releases the GIL)."""

    def __init__(self, img32: _U32, alpha: float, scratch: Scratch) -> None:
        super().__init__(name="rb-imagediff-gray", daemon=True)
        self._args = (img32, alpha, scratch)
        self._value: _U32 | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = _gray(*self._args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> _U32:
        self.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value
