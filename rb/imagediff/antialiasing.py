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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rb.imagediff.color import (
    _U32,
    Image,
    _all_opaque,
    _Bool,
    _bytes,
    _channel_deltas,
    _Int,
    _luma,
)
from rb.imagediff.scratch import Scratch

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
    transparent: _Bool | None  # alpha < 255; None when the rows read are opaque


def _detect_antialiasing(
    a: Image, b: Image, points: _Int, differs: _Int, checkerboard: bool, scratch: Scratch
) -> _Bool:
    """Is each pixel of `points` anti-aliasing, in img1 or else in img2?

    `differs`: every pixel where the images differ (`points` is a subset).
    """
    height, width = a.shape[:2]
    bands = _bands(points, height, width)
    maps_a = _maps(a, bands, scratch, "a")
    band_pixels = sum(stop - start for start, stop in bands) * width
    # img2's keys are img1's but where the images differ: copying and patching
    # those is cheaper, unless most pixels differ
    like_a = (maps_a.key, differs) if differs.size * 4 < band_pixels else None
    maps_b = _maps(b, bands, scratch, "b", like_a)
    found = np.zeros(points.size, np.bool_)
    for start in range(0, points.size, _CHUNK):
        part = points[start : start + _CHUNK]
        hit = _antialiased(a, maps_a, maps_b, part, checkerboard, scratch)
        rest = np.flatnonzero(~hit)
        hit[rest] = _antialiased(b, maps_b, maps_a, part[rest], checkerboard, scratch)
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


def _maps(
    img: Image,
    bands: list[tuple[int, int]],
    scratch: Scratch,
    name: str,
    like: tuple[npt.NDArray[np.int64], _Int] | None = None,
) -> _Maps:
    """The maps of `img` on the rows of `bands` (elsewhere they hold garbage).

    Only band rows are ever read: the points' rows and one row each side.
    like: the keys of an image that equals this one except at the given
    pixels, to copy and patch instead of computing every key.
    """
    height, width = img.shape[:2]
    words = img.reshape(height, width * 4).view(np.uint32)
    key = scratch.array(f"{name}.key", (height, width), np.int64)
    equal = scratch.array(f"{name}.equal", (height, width), np.uint8)
    for start, stop in bands:
        if like is None:
            _fill_key(img[start:stop], key[start:stop], scratch)
        else:
            np.copyto(key[start:stop], like[0].reshape(height, width)[start:stop])
        _fill_equal(words, equal, start, stop, scratch)
    if like is not None:  # outside the bands too: harmless, those rows are never read
        differs = like[1]
        changed = np.take(
            words.reshape(-1),
            differs,
            mode="clip",
            out=scratch.array("patch.words", differs.size, np.uint32),
        )
        patch = scratch.array("patch.key", (1, differs.size), np.int64)
        _fill_key(_bytes(changed)[None], patch, scratch)
        key.reshape(-1)[differs] = patch[0]
    transparent: _Bool | None = None
    if not all(_all_opaque(words[start:stop].reshape(-1)) for start, stop in bands):
        transparent = scratch.array(f"{name}.transparent", (height, width), np.bool_)
        for start, stop in bands:
            np.less(img[start:stop, :, 3], 255, out=transparent[start:stop])
    return _Maps(
        key.reshape(-1), equal.reshape(-1), None if transparent is None else transparent.reshape(-1)
    )


def _fill_key(channels: Image, key: npt.NDArray[np.int64], scratch: Scratch) -> None:
    """key = K of each pixel of `channels` (the uint8 channels widened first: exact)."""
    step = max(1, _CHUNK // max(channels.shape[1], 1))  # rows at a time: the term stays small
    for row in range(0, channels.shape[0], step):
        pixels, out = channels[row : row + step], key[row : row + step]
        np.multiply(pixels[..., 0], _KEY[0], out=out, dtype=np.int64)
        term = scratch.array("key.term", out.shape, np.int64)
        for channel in (1, 2):
            np.multiply(pixels[..., channel], _KEY[channel], out=term, dtype=np.int64)
            out += term


def _fill_equal(
    words: _U32, equal: npt.NDArray[np.uint8], start: int, stop: int, scratch: Scratch
) -> None:
    """equal[start:stop] = identical neighbours of each pixel, the border counting as one.

    Rows start - 1 and stop are written too (with partial counts): they are
    outside every band, so never read.
    """
    height, width = words.shape
    top, bottom = max(start - 1, 0), min(stop + 1, height)
    w = words[top:bottom]
    count = equal[top:bottom]
    count.fill(0)
    # each of the 4 pair directions counts for both pixels of the pair
    whole, head, tail = slice(None), slice(1, None), slice(None, -1)
    for first, second in (
        ((whole, head), (whole, tail)),  # left and right
        ((head, whole), (tail, whole)),  # up and down
        ((head, head), (tail, tail)),  # the diagonals
        ((head, tail), (tail, head)),
    ):
        shape = w[first].shape
        same = np.equal(w[first], w[second], out=scratch.array("equal.same", shape, np.bool_))
        count[first] += same
        count[second] += same
    count[:, 0] += 1  # the border counts as one identical neighbour
    if width > 1:
        count[:, -1] += 1
    if top == 0:
        count[0, 1:-1] += 1
    if bottom == height and height > 1:
        count[-1, 1:-1] += 1


def _neighbourhood(
    points: _Int, width: int, height: int, scratch: Scratch
) -> tuple[_Int, _Int | None]:
    """The 8 neighbours of flat pixel indices, shape (8, n), in pixelmatch's order.

    A neighbour outside the image is replaced by the pixel itself (whose delta
    is 0). The second value corrects zero-delta counts for that: per pixel, +1
    on the border (pixelmatch's rule) minus the replaced neighbours; None when
    no pixel is on the border.
    """
    neighbours = scratch.array("neighbours", (8, points.size), np.intp)
    np.add((_DY * width + _DX)[:, None], points[None, :], out=neighbours)
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
    first: _Int = _LOWEST_BIT.take(_row_bits(mask))
    return first


def _row_bits(mask: _Bool) -> npt.NDArray[np.uint8]:
    """Each column of an (8, n) mask as a byte: bit r is row r (faster than np.packbits)."""
    bits: npt.NDArray[np.uint8] = mask[0].view(np.uint8).copy()
    for row in range(1, 8):
        np.bitwise_or(bits, mask[row].view(np.uint8) << np.uint8(row), out=bits)
    return bits


def _at_first(neighbours: _Int, mask: _Bool) -> _Int:
    """The neighbour index at the first True row of each column."""
    picked: _Int = np.take_along_axis(neighbours, _first(mask)[None, :], 0)[0]
    return picked


def _antialiased(
    img: Image, own: _Maps, other: _Maps, points: _Int, checkerboard: bool, scratch: Scratch
) -> _Bool:
    """pixelmatch's antialiased(img, x, y, ...) for each pixel of `points`."""
    height, width = img.shape[:2]
    result = np.zeros(points.size, np.bool_)
    # 3+ identical neighbours (the border counting as one) are 3+ zero deltas
    keep = np.flatnonzero(np.take(own.equal, points) <= 2)
    if keep.size == 0:
        return result
    centres = points[keep]
    k = centres.size
    neighbours, correction = _neighbourhood(centres, width, height, scratch)
    blended = None
    if own.transparent is not None:
        blended = own.transparent[neighbours].any(axis=0) | own.transparent[centres]
    # opaque windows: the integer keys decide (see above)
    keys = np.take(own.key, neighbours, out=scratch.array("keys", (8, k), np.int64), mode="clip")
    centre_keys = np.take(
        own.key, centres, out=scratch.array("centre_keys", k, np.int64), mode="clip"
    )
    highest = keys.max(axis=0, out=scratch.array("highest", k, np.int64))
    lowest = keys.min(axis=0, out=scratch.array("lowest", k, np.int64))
    # the lowest y (the darkest, in pixelmatch's words) is at the highest key
    possible = np.greater(highest, centre_keys, out=scratch.array("possible", k, np.bool_))
    possible &= np.less(lowest, centre_keys, out=scratch.array("below", k, np.bool_))
    if blended is not None:
        possible &= ~blended
    at = np.flatnonzero(possible)
    if at.size:
        # An extreme neighbour differs from the centre, so it is never a
        # replaced one (outside the image): it is the centre plus its offset.
        offsets = (_DY * width + _DX).take(_first_of(keys, highest, at, scratch))
        darkest = centres[at] + offsets
        offsets = (_DY * width + _DX).take(_first_of(keys, lowest, at, scratch))
        brightest = centres[at] + offsets
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


def _first_of(
    keys: npt.NDArray[np.int64], extreme: npt.NDArray[np.int64], at: _Int, scratch: Scratch
) -> _Int:
    """For the columns `at`: the first of the 8 rows whose key equals `extreme`."""
    mask = np.equal(keys, extreme, out=scratch.array("extreme", keys.shape, np.bool_))
    first: _Int = _LOWEST_BIT.take(_row_bits(mask).take(at))
    return first


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
