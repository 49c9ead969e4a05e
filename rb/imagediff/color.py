"""pixelmatch's colour arithmetic: the YIQ distance of two pixels.

pixelmatch compares each pair of pixels by the squared YIQ distance of their
colours; a pair where either pixel is semi-transparent is first blended over
pixelmatch 7's checkerboard-like background (or over white with
``checkerboard=False``). Where this computes in floating point, it mirrors the
JavaScript float64 operations in order, so the results are equal bit for bit.

It also defines the array types that the other modules of rb.imagediff share.
"""

from __future__ import annotations

import sys
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from rb.imagediff.scratch import Scratch

Image: TypeAlias = npt.NDArray[np.uint8]  # (height, width, 4) RGBA
_Int: TypeAlias = npt.NDArray[np.intp]
_Bool: TypeAlias = npt.NDArray[np.bool_]
_Float: TypeAlias = npt.NDArray[np.float64]
_U32: TypeAlias = npt.NDArray[np.uint32]

MAX_YIQ_DELTA = 35215  # the largest possible squared YIQ distance

# pixelmatch's rgb2y / rgb2i / rgb2q coefficients
_Y = (0.29889531, 0.58662247, 0.11448223)
_I = (0.59597799, 0.27417610, 0.32180189)
_Q = (0.21147017, 0.52261711, 0.31114694)

_BATCH = 1 << 16  # pixels per vectorised batch of colour deltas (bounds the scratch)


def _bytes(words: _U32) -> Image:
    """The RGBA bytes of pixel words: shape (*words.shape, 4), a view when contiguous."""
    return np.ascontiguousarray(words)[..., None].view(np.uint8)


def _checkerboard(k: _Int) -> tuple[_Float, _Float, _Float]:
    """pixelmatch 7's background colour for byte offset k (the first pixel's):

    48 + 159 * (k % 2), 48 + 159 * ((k / 1.618033988749895 | 0) % 2), and the
    same with 2.618033988749895, in JavaScript semantics (`| 0` truncates and
    wraps to int32; `%` keeps the dividend's sign).
    """
    kf = k.astype(np.float64)
    channels = [np.fmod(k, 2)]
    for divisor in (1.618033988749895, 2.618033988749895):
        whole = np.trunc(kf / divisor).astype(np.int64).astype(np.int32)  # `| 0`
        channels.append(np.fmod(whole, 2))
    r, g, b = (48.0 + 159.0 * c.astype(np.float64) for c in channels)
    return r, g, b


def _channel_deltas(
    p: _U32, q: _U32, k: _Int | None, checkerboard: bool
) -> tuple[_Float, _Float, _Float]:
    """pixelmatch's dr, dg, db for pixel pairs given as RGBA words (broadcast).

    Each pair is blended over the background colour of byte offset `k`:
    pixelmatch blends only pairs with a semi-transparent pixel, but for an
    opaque pair (c1 * 255 - c2 * 255 - bg * 0) / 255 is exactly c1 - c2, the
    same. All-opaque batches take _opaque_deltas, which is faster.
    """
    pb, qb = _bytes(p), _bytes(q)
    a1, a2 = pb[..., 3], qb[..., 3]
    alpha1 = a1.astype(np.float64)
    alpha2 = a2.astype(np.float64)
    da = alpha1 - alpha2
    backgrounds: tuple[_Float | float, ...] = (255.0, 255.0, 255.0)
    if checkerboard and k is not None:
        backgrounds = _checkerboard(k)
    r, g, b = (
        (pb[..., channel] * alpha1 - qb[..., channel] * alpha2 - bg * da) / 255
        for channel, bg in enumerate(backgrounds)
    )
    return r, g, b


def _luma(dr: _Float, dg: _Float, db: _Float) -> _Float:
    y: _Float = dr * _Y[0] + dg * _Y[1] + db * _Y[2]
    return y


def _color_delta(
    a32: _U32, b32: _U32, index: _Int, max_delta: float, checkerboard: bool, scratch: Scratch
) -> tuple[_Bool, _Bool]:
    """pixelmatch's colorDelta at pixels that differ: (|delta| > max_delta, y > 0).

    pixelmatch returns the delta negated when y > 0 (img2 darker); the
    magnitude and that flag say the same. Both arrays are the scratch's.
    """
    over = scratch.array("over", index.size, np.bool_)
    brighter = scratch.array("brighter", index.size, np.bool_)
    for start in range(0, index.size, _BATCH):
        part = index[start : start + _BATCH]
        n = part.size
        p = np.take(a32, part, out=scratch.array("delta.p", n, np.uint32), mode="clip")
        q = np.take(b32, part, out=scratch.array("delta.q", n, np.uint32), mode="clip")
        if _all_opaque(p) and _all_opaque(q):
            dr, dg, db = _opaque_deltas(p, q, scratch)
        else:
            dr, dg, db = _channel_deltas(p, q, part * 4, checkerboard)
        delta = scratch.array("delta", n, np.float64)
        y = _yiq_delta(dr, dg, db, scratch, delta)
        np.greater(delta, max_delta, out=over[start : start + n])
        np.greater(y, 0, out=brighter[start : start + n])
    return over, brighter


def _all_opaque(words: _U32) -> bool:
    """Is the alpha of every pixel word 255?"""
    if sys.byteorder == "little":  # alpha is the high byte of the word
        return bool(words.min(initial=0xFFFFFFFF) >= 0xFF000000)
    return bool(_bytes(words)[..., 3].min(initial=255) == 255)


def _opaque_deltas(p: _U32, q: _U32, scratch: Scratch) -> tuple[_Float, _Float, _Float]:
    """dr, dg, db of opaque pixel pairs: whole channel differences, as float64."""
    pb, qb = _bytes(p), _bytes(q)
    deltas = scratch.array("delta.channels", (3, p.size), np.float64)
    for channel in range(3):  # the uint8 channels are cast to float64 first: exact
        np.subtract(pb[:, channel], qb[:, channel], out=deltas[channel], dtype=np.float64)
    return deltas[0], deltas[1], deltas[2]


def _yiq_delta(dr: _Float, dg: _Float, db: _Float, scratch: Scratch, out: _Float) -> _Float:
    """Writes pixelmatch's squared YIQ distance to `out`; returns y, the luma delta.

    0.5053 * y * y + 0.299 * i * i + 0.1957 * q * q, each term in JavaScript's
    order (left to right), so the float64 results are equal bit for bit.
    """
    rows = scratch.array("delta.yiq", (4, dr.size), np.float64)
    y: _Float = rows[0]
    i, q, term = rows[1], rows[2], rows[3]
    _dot(dr, dg, db, _Y, (1, 1), y, term)
    _dot(dr, dg, db, _I, (-1, -1), i, term)
    _dot(dr, dg, db, _Q, (-1, 1), q, term)
    np.multiply(y, 0.5053, out=out)
    out *= y
    np.multiply(i, 0.299, out=term)
    term *= i
    out += term
    np.multiply(q, 0.1957, out=term)
    term *= q
    out += term
    return y


def _dot(
    dr: _Float,
    dg: _Float,
    db: _Float,
    weights: tuple[float, float, float],
    signs: tuple[int, int],
    out: _Float,
    term: _Float,
) -> None:
    """out = dr * w0 +/- dg * w1 +/- db * w2, left to right as JavaScript does."""
    np.multiply(dr, weights[0], out=out)
    for channel, weight, sign in ((dg, weights[1], signs[0]), (db, weights[2], signs[1])):
        np.multiply(channel, weight, out=term)
        if sign > 0:
            out += term
        else:
            out -= term
