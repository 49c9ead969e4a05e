"""Comparing two images by the pixelmatch algorithm (mapbox/pixelmatch v7.2.0).

For each pixel, pixelmatch takes the YIQ colour distance of the two images
(semi-transparent pixels are blended over a checkerboard-like background, or
over white with ``checkerboard=False``) and compares it with
``35215 * threshold**2``. A pixel over the threshold is not counted when it
looks like anti-aliasing in either image, unless ``include_aa``: Vysniauskas'
detector finds at most two identical neighbours, both a darker and a brighter
neighbour, and the darkest or the brightest of those with 3+ identical
neighbours in both images.

This port is exact: counts and diff images equal the reference byte for byte
(tests/test_imagediff.py checks pixelmatch's own test cases, and random images
against a line-by-line port of index.js). Where it computes in floating point,
it mirrors the JavaScript float64 operations in order. NumPy does the work in
stages that shrink:

1. the images are compared as 32-bit words: only pixels whose bytes differ get
   a colour delta (rb/imagediff/color.py);
2. only pixels over the threshold go through anti-aliasing detection, and for
   opaque pixels that needs integers only, reading per-pixel maps computed on
   just the rows around those pixels (rb/imagediff/antialiasing.py);
3. the grey background of the diff image is computed once per run of equal
   pixels along a row, on a second thread while the images are compared
   (rb/imagediff/background.py).

The temporary arrays of all three are kept between calls (a pool of
"scratches", rb/imagediff/scratch.py): fresh memory costs a page fault per
page, which was a third of a 1080p comparison's time.

This module holds pixelmatch() and its input checks; the public names are
importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from rb.imagediff.antialiasing import _detect_antialiasing
from rb.imagediff.background import _gray, _GrayInBackground
from rb.imagediff.color import MAX_YIQ_DELTA, Image, _Bool, _color_delta, _Int
from rb.imagediff.scratch import Scratch, borrow

__all__ = [
    "MAX_YIQ_DELTA",
    "Color",
    "DiffResult",
    "Image",
    "decode_png",
    "encode_png",
    "pixelmatch",
]

Color: TypeAlias = tuple[int, int, int]

_BACKGROUND_THREAD_MIN = 1 << 18  # pixels; smaller images draw the background inline


@dataclass(frozen=True)
class DiffResult:
    """How many pixels differ, of how many; the diff image when asked for."""

    mismatched: int
    total: int
    diff: Image | None = None  # (height, width, 4) uint8 RGBA

    @property
    def share(self) -> float:
        """The share of pixels that differ, 0.0 to 1.0 (0.0 for an empty image)."""
        return self.mismatched / self.total if self.total else 0.0


def pixelmatch(
    img1: Image,
    img2: Image,
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
    alpha: float = 0.1,
    aa_color: Color = (255, 255, 0),
    diff_color: Color = (255, 0, 0),
    diff_color_alt: Color | None = None,
    diff_mask: bool = False,
    output: bool = True,
    checkerboard: bool = True,
) -> DiffResult:
    """Compare two RGBA images of one size, as pixelmatch 7.2.0 does.

    img1, img2: uint8 arrays of shape (height, width, 4). threshold: 0 to 1,
    smaller is more sensitive. include_aa: count pixels that look like
    anti-aliasing too. alpha: opacity of img1 in the diff image's grey
    background. aa_color, diff_color, diff_color_alt: the colours of
    anti-aliased pixels, of differing pixels, and of differing pixels where img2
    is darker (default: diff_color). diff_mask: draw only the differences, over
    a transparent background. output: also draw the diff image
    (DiffResult.diff). checkerboard: blend semi-transparent pixels over
    pixelmatch 7's checkerboard-like pattern (True, the default) or over white
    (False, as pixelmatch before 7). Images of different sizes raise ValueError.
    """
    a = _rgba(img1, "img1")
    b = _rgba(img2, "img2")
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {_size(a)} vs {_size(b)}")
    aa_word = _word(aa_color, "aa_color")
    diff_word = _word(diff_color, "diff_color")
    alt_word = diff_word if diff_color_alt is None else _word(diff_color_alt, "diff_color_alt")
    height, width = a.shape[:2]
    total = height * width
    a32 = a.reshape(-1).view(np.uint32)

    with borrow() as work:
        background: _GrayInBackground | None = None
        if output and not diff_mask and total >= _BACKGROUND_THREAD_MIN:
            background = _GrayInBackground(a32, alpha, work)
        try:
            mismatched, candidates, counted, darker = _classify(
                a, b, work, threshold, include_aa, checkerboard
            )
            if not output:
                return DiffResult(mismatched, total, None)
            if diff_mask:
                out = np.zeros(total, np.uint32)
            else:
                out = background.result() if background is not None else _gray(a32, alpha, work)
        finally:
            if background is not None:  # it uses the scratch: done before the pool has it back
                background.join()
    if not diff_mask:
        out[candidates[~counted]] = aa_word
    hits = candidates[counted]
    hits_darker = darker[counted]
    out[hits[~hits_darker]] = diff_word
    out[hits[hits_darker]] = alt_word
    return DiffResult(mismatched, total, out.view(np.uint8).reshape(height, width, 4))


def _classify(
    a: Image, b: Image, work: Scratch, threshold: float, include_aa: bool, checkerboard: bool
) -> tuple[int, _Int, _Bool, _Bool]:
    """(mismatched, candidates, counted, darker): the pixels over the colour threshold,
    which of them count (not anti-aliasing), and where img2 is darker."""
    a32 = a.reshape(-1).view(np.uint32)
    b32 = b.reshape(-1).view(np.uint32)
    differs = np.flatnonzero(np.not_equal(a32, b32, out=work.array("differs", a32.size, np.bool_)))
    if differs.size == 0:  # identical: pixelmatch's fast path, no diff or AA colours
        return 0, np.zeros(0, np.intp), np.zeros(0, np.bool_), np.zeros(0, np.bool_)
    max_delta = MAX_YIQ_DELTA * threshold * threshold
    # |delta| > maxDelta: the delta is computed unsigned, with its sign in `brighter`
    over, brighter = _color_delta(a32, b32, differs, max_delta, checkerboard, work)
    candidates = differs[over]
    darker = brighter[over]  # pixelmatch's delta < 0: img2 is darker there
    if include_aa or candidates.size == 0:
        counted = np.ones(candidates.size, np.bool_)
    else:
        counted = ~_detect_antialiasing(a, b, candidates, differs, checkerboard, work)
    return int(np.count_nonzero(counted)), candidates, counted, darker


# --- input checks --------------------------------------------------------------------


def _rgba(img: object, name: str) -> Image:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        kind = f"{img.dtype} array" if isinstance(img, np.ndarray) else type(img).__name__
        raise ValueError(f"{name}: expected a uint8 NumPy array (height, width, 4), got a {kind}")
    if img.ndim != 3 or img.shape[2] != 4:
        raise ValueError(f"{name}: expected RGBA pixels, shape (height, width, 4), got {img.shape}")
    return np.ascontiguousarray(img)


def _size(img: Image) -> str:
    return f"{img.shape[1]}x{img.shape[0]}"


def _word(color: Color, name: str) -> np.uint32:
    """An opaque colour as the uint32 word of its RGBA bytes."""
    channels = tuple(color)
    if len(channels) != 3 or not all(
        isinstance(c, int | np.integer) and 0 <= c <= 255 for c in channels
    ):
        raise ValueError(f"{name}: expected three integers 0 to 255 (r, g, b), got {color!r}")
    word: np.uint32 = np.array([*channels, 255], np.uint8).view(np.uint32)[0]
    return word


# --- PNG files (for callers that import them from here) ----------------------------------


def decode_png(data: bytes) -> Image:
    """PNG bytes to an RGBA array (rb.png_io.decode_png)."""
    from rb.png_io import decode_png as decode

    return decode(data)


def encode_png(array: Image) -> bytes:
    """An RGBA array to PNG bytes (rb.png_io.encode_png)."""
    from rb.png_io import encode_png as encode

    return encode(array)
