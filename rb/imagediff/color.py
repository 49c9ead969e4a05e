"""pixelmatch's colour arithmetic: the YIQ distance of two pixels.

pixelmatch compares each pair of pixels by the squared YIQ distance of their
colours; a pair where either pixel is semi-transparent is first blended over
pixelmatch 7's checkerboard-like background (or over white with
``checkerboard=False``). Where this computes in floating point, it mirrors the
JavaScript float64 operations in order, so the results are equal bit for bit.

It also defines the array types that the other modules of rb.imagediff share.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

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

_BATCH = 1 << 18  # pixels per vectorised batch of colour deltas


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

    Opaque pairs differ by whole channels; a pair where either pixel is
    semi-transparent is blended over the background colour of byte offset `k`.
    """
    pb, qb = _bytes(p), _bytes(q)
    a1, a2 = pb[..., 3], qb[..., 3]
    if a1.min(initial=255) == 255 and a2.min(initial=255) == 255:
        d = pb.astype(np.int16) - qb
        return (
            d[..., 0].astype(np.float64),
            d[..., 1].astype(np.float64),
            d[..., 2].astype(np.float64),
        )
    # Blend every pair: for an opaque pair (c1 * 255 - c2 * 255 - bg * 0) / 255
    # is exactly c1 - c2, so this equals pixelmatch's choice per pair.
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


def _color_delta(a32: _U32, b32: _U32, index: _Int, checkerboard: bool) -> tuple[_Float, _Bool]:
    """pixelmatch's colorDelta at pixels that differ: (|delta|, y > 0).

    pixelmatch returns the delta negated when y > 0 (img2 darker); the
    magnitude and that flag say the same.
    """
    delta = np.empty(index.size, np.float64)
    brighter = np.empty(index.size, np.bool_)
    for start in range(0, index.size, _BATCH):
        part = index[start : start + _BATCH]
        dr, dg, db = _channel_deltas(a32[part], b32[part], part * 4, checkerboard)
        y = _luma(dr, dg, db)
        i = dr * _I[0] - dg * _I[1] - db * _I[2]
        q = dr * _Q[0] - dg * _Q[1] + db * _Q[2]
        # 0.5053 * y * y + 0.299 * i * i + 0.1957 * q * q, in JavaScript's order
        d = 0.5053 * y
        d *= y
        i2 = 0.299 * i
        i2 *= i
        d += i2
        q2 = 0.1957 * q
        q2 *= q
        d += q2
        delta[start : start + part.size] = d
        brighter[start : start + part.size] = y > 0
    return delta, brighter
