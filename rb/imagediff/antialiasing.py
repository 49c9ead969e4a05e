"""Vysniauskas' anti-aliasing detector, as pixelmatch 7.2.0 runs it.

A pixel over the colour threshold is not counted when it looks like
anti-aliasing in either image: it has at most two identical neighbours, both a
darker and a brighter neighbour, and the darkest or the brightest of those has
3+ identical neighbours in both images.

Only pixels over the threshold come here, and for opaque pixels the detector
needs integers only (see below), reading per-pixel maps computed on just the
rows around those pixels.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rb.imagediff.color import Image, _Bool, _channel_deltas, _Int, _luma

# The eight neighbours as (dx, dy) in pixelmatch's visiting order (x outer, y
# inner). The order matters: the first of equally dark / bright neighbours wins.
_NEIGHBOURS = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy)
_DX = np.array([d[0] for d in _NEIGHBOURS], np.intp)
_DY = np.array([d[1] for d in _NEIGHBOURS], np.intp)

_CHUNK = 1 << 16  # pixels per vectorised batch: keeps the (8, n) temporaries in cache
_BAND_GAP = 16  # row bands closer than this are computed as one


# --- opaque pixels: integer keys -----------------------------------------------------
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
