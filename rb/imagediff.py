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
   a colour delta;
2. only pixels over the threshold go through anti-aliasing detection, and for
   opaque pixels that needs integers only (see the section below), reading
   per-pixel maps computed on just the rows around those pixels;
3. the grey background of the diff image is computed once per run of equal
   pixels along a row, on a second thread while the images are compared.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Image: TypeAlias = npt.NDArray[np.uint8]  # (height, width, 4) RGBA
Color: TypeAlias = tuple[int, int, int]
_Int: TypeAlias = npt.NDArray[np.intp]
_Bool: TypeAlias = npt.NDArray[np.bool_]
_Float: TypeAlias = npt.NDArray[np.float64]
_U32: TypeAlias = npt.NDArray[np.uint32]

MAX_YIQ_DELTA = 35215  # the largest possible squared YIQ distance

# pixelmatch's rgb2y / rgb2i / rgb2q coefficients
_Y = (0.29889531, 0.58662247, 0.11448223)
_I = (0.59597799, 0.27417610, 0.32180189)
_Q = (0.21147017, 0.52261711, 0.31114694)

# The eight neighbours as (dx, dy) in pixelmatch's visiting order (x outer, y
# inner). The order matters: the first of equally dark / bright neighbours wins.
_NEIGHBOURS = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy)
_DX = np.array([d[0] for d in _NEIGHBOURS], np.intp)
_DY = np.array([d[1] for d in _NEIGHBOURS], np.intp)

_CHUNK = 1 << 16  # pixels per vectorised batch: keeps the (8, n) temporaries in cache
_BAND_GAP = 16  # row bands closer than this are computed as one
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
    b32 = b.reshape(-1).view(np.uint32)

    background: _GrayInBackground | None = None
    if output and not diff_mask and total >= _BACKGROUND_THREAD_MIN:
        background = _GrayInBackground(a32, alpha)

    differs = np.flatnonzero(a32 != b32)
    if differs.size == 0:  # identical: pixelmatch's fast path, no diff or AA colours
        candidates = np.zeros(0, np.intp)
        darker = counted = np.zeros(0, np.bool_)
        mismatched = 0
    else:
        max_delta = MAX_YIQ_DELTA * threshold * threshold
        delta, brighter = _color_delta(a32, b32, differs, checkerboard)
        over = delta > max_delta  # |delta| > maxDelta: `delta` is unsigned here
        candidates = differs[over]
        darker = brighter[over]  # pixelmatch's delta < 0: img2 is darker there
        if include_aa or candidates.size == 0:
            counted = np.ones(candidates.size, np.bool_)
        else:
            counted = ~_detect_antialiasing(a, b, candidates, checkerboard)
        mismatched = int(np.count_nonzero(counted))
    if not output:
        return DiffResult(mismatched, total, None)

    if diff_mask:
        out = np.zeros(total, np.uint32)
    else:
        out = background.result() if background is not None else _gray(a32, alpha)
        out[candidates[~counted]] = aa_word
    hits = candidates[counted]
    hits_darker = darker[counted]
    out[hits[~hits_darker]] = diff_word
    out[hits[hits_darker]] = alt_word
    return DiffResult(mismatched, total, out.view(np.uint8).reshape(height, width, 4))


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


# --- colour arithmetic ------------------------------------------------------------------


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
    for start in range(0, index.size, _CHUNK * 4):
        part = index[start : start + _CHUNK * 4]
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


# --- anti-aliasing detection ---------------------------------------------------------
#
# For opaque pixels the detector needs no floating point. pixelmatch's
# brightness delta of a centre pixel c and a neighbour n is, in float64,
#     y = dr * 0.29889531 + dg * 0.58662247 + db * 0.11448223   (dr = r_c - r_n, ...)
# and the detector uses only y == 0, the sign of y and the order of the eight
# neighbours' y (the first lowest, the first highest). Take the integer key
#     K = 29889531 r + 58662247 g + 11448223 b.
# y is within 1e-12 of (K_c - K_n) / 1e8, and no non-zero channel difference
# (each of -255..255) has a zero key (tests/test_imagediff.py checks all of
# them), so different colours have keys at least 1 apart: y values 1e-8 apart.
# Hence y == 0, the sign of y and the order of the y's are exactly those of
# K_c - K_n. The lowest y is at the first neighbour with the highest key, the
# highest y at the first with the lowest key, and y == 0 only for an identical
# neighbour, so pixelmatch's "more than 2 zero deltas" is a count of
# identical neighbours, the same count hasManySiblings makes.
#
# A pixel with a semi-transparent pixel in its 3x3 window takes pixelmatch's
# float64 arithmetic instead (_antialiased_blended).

_KEY = (29889531, 58662247, 11448223)


@dataclass(frozen=True)
class _Maps:
    """Per-pixel data of one image, filled on the rows the detector reads."""

    key: npt.NDArray[np.int64]  # the integer luma key K
    equal: npt.NDArray[np.uint8]  # identical neighbours, + 1 on the image border
    transparent: _Bool | None  # alpha < 255; None when the image is opaque


def _detect_antialiasing(a: Image, b: Image, points: _Int, checkerboard: bool) -> _Bool:
    """Is each pixel of `points` anti-aliasing, in img1 or else in img2?"""
    height, width = a.shape[:2]
    bands = _bands(points, height, width)
    maps_a, maps_b = _maps(a, bands), _maps(b, bands)
    found = np.zeros(points.size, np.bool_)
    for start in range(0, points.size, _CHUNK):
        part = points[start : start + _CHUNK]
        hit = _antialiased(a, maps_a, maps_b, part, checkerboard)
        rest = np.flatnonzero(~hit)
        hit[rest] = _antialiased(b, maps_b, maps_a, part[rest], checkerboard)
        found[start : start + part.size] = hit
    return found


def _bands(points: _Int, height: int, width: int) -> list[tuple[int, int]]:
    """Row ranges [start, stop) covering the rows of `points` and one row each side."""
    rows = np.zeros(height + 2, np.bool_)
    rows[points // width + 1] = True
    near = rows[1:-1] | rows[:-2] | rows[2:]
    edges = np.flatnonzero(np.diff(near.astype(np.int8), prepend=0, append=0))
    bands: list[tuple[int, int]] = []
    for start, stop in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
        if bands and start - bands[-1][1] < _BAND_GAP:
            bands[-1] = (bands[-1][0], stop)
        else:
            bands.append((start, stop))
    return bands


def _maps(img: Image, bands: list[tuple[int, int]]) -> _Maps:
    height, width = img.shape[:2]
    words = img.reshape(height, width * 4).view(np.uint32)
    key = np.empty((height, width), np.int64)
    equal = np.empty((height, width), np.uint8)
    for start, stop in bands:
        channels = img[start:stop]
        band = key[start:stop]
        band[...] = channels[..., 0]
        band *= _KEY[0]
        scratch = channels[..., 1].astype(np.int64)
        scratch *= _KEY[1]
        band += scratch
        scratch[...] = channels[..., 2]
        scratch *= _KEY[2]
        band += scratch
        # identical neighbours: each of the 4 pair directions counts for both pixels
        top, bottom = max(start - 1, 0), min(stop + 1, height)
        w = words[top:bottom]
        count = np.zeros(w.shape, np.uint8)
        for same, first, second in (
            (w[:, 1:] == w[:, :-1], count[:, 1:], count[:, :-1]),
            (w[1:] == w[:-1], count[1:], count[:-1]),
            (w[1:, 1:] == w[:-1, :-1], count[1:, 1:], count[:-1, :-1]),
            (w[1:, :-1] == w[:-1, 1:], count[1:, :-1], count[:-1, 1:]),
        ):
            first += same
            second += same
        count[:, 0] += 1  # the border counts as one identical neighbour
        if width > 1:
            count[:, -1] += 1
        if top == 0:
            count[0, 1:-1] += 1
        if bottom == height and height > 1:
            count[-1, 1:-1] += 1
        equal[start:stop] = count[start - top : stop - top]
    transparent = None if _opaque(img) else (img[..., 3] < 255).reshape(-1)
    return _Maps(key.reshape(-1), equal.reshape(-1), transparent)


def _opaque(img: Image) -> bool:
    """Is every pixel's alpha 255?"""
    if sys.byteorder == "little":  # alpha is the high byte of the word
        words = img.reshape(-1).view(np.uint32)
        return bool(words.min(initial=0xFFFFFFFF) >= 0xFF000000)
    return bool(img[..., 3].min(initial=255) == 255)


def _neighbourhood(points: _Int, width: int, height: int) -> tuple[_Int, _Int | None]:
    """The 8 neighbours of flat pixel indices, shape (8, n), in pixelmatch's order.

    A neighbour outside the image is replaced by the pixel itself (whose delta
    is 0). The second value corrects zero-delta counts for that: per pixel, +1
    on the border (pixelmatch's rule) minus the replaced neighbours; None when
    no pixel is on the border.
    """
    neighbours: _Int = (_DY * width + _DX)[:, None] + points[None, :]
    ys = points // width
    xs = points - ys * width
    edge = np.flatnonzero((xs == 0) | (xs == width - 1) | (ys == 0) | (ys == height - 1))
    if edge.size == 0:
        return neighbours, None
    nx = _DX[:, None] + xs[edge][None, :]
    ny = _DY[:, None] + ys[edge][None, :]
    valid = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
    neighbours[:, edge] = np.where(valid, neighbours[:, edge], points[edge][None, :])
    correction = np.zeros(points.size, np.intp)
    correction[edge] = 1 - np.count_nonzero(~valid, axis=0)
    return neighbours, correction


_LOWEST_BIT = np.array([(i & -i).bit_length() - 1 if i else 8 for i in range(256)], np.intp)


def _first(mask: _Bool) -> _Int:
    """The first row that is True in each column of an (8, n) mask (8 if none)."""
    bits = mask[0].view(np.uint8).copy()
    for row in range(1, 8):
        np.bitwise_or(bits, mask[row].view(np.uint8) << np.uint8(row), out=bits)
    first: _Int = _LOWEST_BIT.take(bits)
    return first


def _at_first(neighbours: _Int, mask: _Bool) -> _Int:
    """The neighbour index at the first True row of each column."""
    picked: _Int = np.take_along_axis(neighbours, _first(mask)[None, :], 0)[0]
    return picked


def _antialiased(img: Image, own: _Maps, other: _Maps, points: _Int, checkerboard: bool) -> _Bool:
    """pixelmatch's antialiased(img, x, y, ...) for each pixel of `points`."""
    height, width = img.shape[:2]
    result = np.zeros(points.size, np.bool_)
    # 3+ identical neighbours (the border counting as one) are 3+ zero deltas
    keep = np.flatnonzero(own.equal[points] <= 2)
    if keep.size == 0:
        return result
    centres = points[keep]
    neighbours, correction = _neighbourhood(centres, width, height)
    blended = None
    if own.transparent is not None:
        blended = own.transparent[neighbours].any(axis=0) | own.transparent[centres]
    # opaque windows: the integer keys decide (see above)
    keys = own.key[neighbours]
    centre_keys = own.key[centres]
    highest = keys.max(axis=0)  # the lowest y: the darkest in pixelmatch's words
    lowest = keys.min(axis=0)
    possible = (highest > centre_keys) & (lowest < centre_keys)
    if blended is not None:
        possible &= ~blended
    at = np.flatnonzero(possible)
    if at.size:
        columns, near = keys[:, at], neighbours[:, at]
        darkest = _at_first(near, columns == highest[at])
        brightest = _at_first(near, columns == lowest[at])
        result[keep[at]] = _extremes_have_siblings(own, other, darkest, brightest)
    if blended is not None and blended.any():
        slow = np.flatnonzero(blended)
        result[keep[slow]] = _antialiased_blended(
            img,
            own,
            other,
            centres[slow],
            neighbours[:, slow],
            None if correction is None else correction[slow],
            checkerboard,
        )
    return result


def _antialiased_blended(
    img: Image,
    own: _Maps,
    other: _Maps,
    centres: _Int,
    neighbours: _Int,
    correction: _Int | None,
    checkerboard: bool,
) -> _Bool:
    """The detector in pixelmatch's float64 arithmetic, for semi-transparent windows."""
    words = img.reshape(-1).view(np.uint32)
    dr, dg, db = _channel_deltas(
        words[centres][None, :], words[neighbours], centres[None, :] * 4, checkerboard
    )
    y = _luma(dr, dg, db)
    zeroes = np.count_nonzero(y == 0, axis=0)
    if correction is not None:
        zeroes += correction
    lowest = y.min(axis=0)
    highest = y.max(axis=0)
    at = np.flatnonzero((zeroes <= 2) & (lowest < 0) & (highest > 0))
    result = np.zeros(centres.size, np.bool_)
    if at.size:
        columns, near = y[:, at], neighbours[:, at]
        darkest = _at_first(near, columns == lowest[at])
        brightest = _at_first(near, columns == highest[at])
        result[at] = _extremes_have_siblings(own, other, darkest, brightest)
    return result


def _extremes_have_siblings(own: _Maps, other: _Maps, darkest: _Int, brightest: _Int) -> _Bool:
    """hasManySiblings of the darkest or of the brightest neighbour, in both images."""
    many: _Bool = ((own.equal[darkest] > 2) & (other.equal[darkest] > 2)) | (
        (own.equal[brightest] > 2) & (other.equal[brightest] > 2)
    )
    return many


# --- the diff image's background -------------------------------------------------------


def _gray(img32: _U32, alpha: float) -> _U32:
    """pixelmatch's drawGrayPixel for every pixel, as RGBA words.

    The grey depends only on the pixel, so it is computed once per run of equal
    pixels (a screenshot row is mostly long runs) and repeated: the same bytes
    as computing it for each pixel.
    """
    n = img32.size
    if n == 0:
        return np.zeros(0, np.uint32)
    changes = np.flatnonzero(img32[1:] != img32[:-1])
    bounds = np.empty(changes.size + 2, np.intp)
    bounds[0] = 0
    np.add(changes, 1, out=bounds[1:-1])
    bounds[-1] = n
    starts = bounds[:-1]
    pixels = _bytes(img32[starts])
    # 255 + (r * 0.29889531 + g * 0.58662247 + b * 0.11448223 - 255) * alpha * a / 255
    val = pixels[:, 0] * _Y[0]
    val += pixels[:, 1] * _Y[1]
    val += pixels[:, 2] * _Y[2]
    val -= 255
    val *= alpha
    val *= pixels[:, 3]
    val /= 255
    val += 255
    # stored into a Uint8Array: truncated, then wrapped modulo 256
    level = (val.astype(np.int64) & 0xFF).astype(np.uint8)
    rgba = np.empty((starts.size, 4), np.uint8)
    rgba[:, :3] = level[:, None]
    rgba[:, 3] = 255
    gray: _U32 = np.repeat(rgba.reshape(-1).view(np.uint32), np.diff(bounds))
    return gray


class _GrayInBackground(threading.Thread):
    """_gray on a thread of its own, overlapping the comparison (NumPy releases the GIL)."""

    def __init__(self, img32: _U32, alpha: float) -> None:
        super().__init__(name="rb-imagediff-gray", daemon=True)
        self._args = (img32, alpha)
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


# --- PNG files (for callers that import them from here) ----------------------------------


def decode_png(data: bytes) -> Image:
    """PNG bytes to an RGBA array (rb.png_io.decode_png)."""
    from rb.png_io import decode_png as decode

    return decode(data)


def encode_png(array: Image) -> bytes:
    """An RGBA array to PNG bytes (rb.png_io.encode_png)."""
    from rb.png_io import encode_png as encode

    return encode(array)
