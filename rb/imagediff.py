"""Comparing two images by the pixelmatch algorithm (mapbox/pixelmatch 7.2.0).

Per pixel, the YIQ colour distance (semi-transparent pixels blended over a
fixed checkerboard, as pixelmatch 7 does) is compared with a threshold;
pixels above it that look like anti-aliasing in either image (the Vysniauskas
detector) are not counted unless `include_aa`. The arithmetic mirrors the
JavaScript operation by operation in float64, so counts and diff images equal
the reference on its own test cases (tests/test_imagediff.py), while NumPy
does the work for all pixels at once and the anti-aliasing check only for the
pixels that differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Image = npt.NDArray[np.uint8]  # (height, width, 4) RGBA

MAX_YIQ_DELTA = 35215  # the largest possible YIQ distance
# The eight neighbours in pixelmatch's visiting order: x outer, y inner.
_NEIGHBOURS = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy)


@dataclass(frozen=True)
class DiffResult:
    mismatched: int
    total: int
    diff: Any = None  # (height, width, 4) uint8 diff image, when asked for

    @property
    def share(self) -> float:
        return self.mismatched / self.total if self.total else 0.0


def pixelmatch(
    img1: Image,
    img2: Image,
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
    alpha: float = 0.1,
    aa_color: tuple[int, int, int] = (255, 255, 0),
    diff_color: tuple[int, int, int] = (255, 0, 0),
    diff_color_alt: tuple[int, int, int] | None = None,
    diff_mask: bool = False,
    output: bool = True,
) -> DiffResult:
    """Count the pixels that differ between two RGBA images of one size."""
    import numpy as np

    if img1.shape != img2.shape or img1.ndim != 3 or img1.shape[2] != 4:
        raise ValueError(f"images differ in size: {_size(img1)} vs {_size(img2)}")
    height, width = img1.shape[:2]
    a = np.ascontiguousarray(img1)
    b = np.ascontiguousarray(img2)
    a32 = a.view(np.uint32).reshape(height, width)
    b32 = b.view(np.uint32).reshape(height, width)
    out = np.zeros((height, width, 4), np.uint8) if output else None
    if np.array_equal(a32, b32):
        if out is not None and not diff_mask:
            out[:] = _gray(a, alpha)
        return DiffResult(0, height * width, out)

    max_delta = MAX_YIQ_DELTA * threshold * threshold
    # Only pixels whose bytes differ can pass the threshold: work on those alone.
    ys, xs = np.nonzero(a32 != b32)
    deltas = _color_delta(a, b, ys, xs, ys, xs, width, y_only=False)
    over = np.abs(deltas) > max_delta
    over_y, over_x, over_delta = ys[over], xs[over], deltas[over]
    aa = _antialiased(a, a32, b32, over_y, over_x) | _antialiased(b, b32, a32, over_y, over_x)
    counted = np.ones(len(over_y), bool) if include_aa else ~aa
    mismatched = int(counted.sum())
    if out is not None:
        if not diff_mask:
            out[:] = _gray(a, alpha)
            skip = ~counted
            out[over_y[skip], over_x[skip]] = (*aa_color, 255)
        cy, cx = over_y[counted], over_x[counted]
        darker = over_delta[counted] < 0
        alt = diff_color_alt or diff_color
        out[cy[~darker], cx[~darker]] = (*diff_color, 255)
        out[cy[darker], cx[darker]] = (*alt, 255)
    return DiffResult(mismatched, height * width, out)


def _size(img: Any) -> str:
    shape: tuple[int, ...] = tuple(getattr(img, "shape", ()))
    return f"{shape[1]}x{shape[0]}" if len(shape) >= 2 else "not an image"


def _color_delta(
    img1: Any, img2: Any, y1: Any, x1: Any, y2: Any, x2: Any, width: int, *, y_only: bool
) -> Any:
    """pixelmatch's colorDelta for many pixel pairs (k is the first pixel's byte offset)."""
    import numpy as np

    p = img1[y1, x1].astype(np.float64)
    q = img2[y2, x2].astype(np.float64)
    r1, g1, b1, a1 = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    r2, g2, b2, a2 = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    dr, dg, db, da = r1 - r2, g1 - g2, b1 - b2, a1 - a2
    blend = (a1 < 255) | (a2 < 255)
    if blend.any():
        # Semi-transparent pixels are compared over a checkerboard-like
        # background chosen from the byte offset k, exactly as pixelmatch 7.
        k = (y1.astype(np.float64) * width + x1) * 4
        rb = 48 + 159 * (k % 2)
        gb = 48 + 159 * (np.floor(k / 1.618033988749895) % 2)
        bb = 48 + 159 * (np.floor(k / 2.618033988749895) % 2)
        dr = np.where(blend, (r1 * a1 - r2 * a2 - rb * da) / 255, dr)
        dg = np.where(blend, (g1 * a1 - g2 * a2 - gb * da) / 255, dg)
        db = np.where(blend, (b1 * a1 - b2 * a2 - bb * da) / 255, db)
    y = dr * 0.29889531 + dg * 0.58662247 + db * 0.11448223
    same = (dr == 0) & (dg == 0) & (db == 0) & (da == 0)
    if y_only:
        return np.where(same, 0.0, y)
    i = dr * 0.59597799 - dg * 0.27417610 - db * 0.32180189
    qq = dr * 0.21147017 - dg * 0.52261711 + db * 0.31114694
    delta = 0.5053 * y * y + 0.299 * i * i + 0.1957 * qq * qq
    return np.where(same, 0.0, np.where(y > 0, -delta, delta))


def _neighbours(ys: Any, xs: Any, height: int, width: int) -> tuple[Any, Any, Any, Any]:
    """(ny, nx, valid, on_edge) for the 8 neighbours of each pixel, in pixelmatch's order."""
    import numpy as np

    dy = np.array([d[1] for d in _NEIGHBOURS])
    dx = np.array([d[0] for d in _NEIGHBOURS])
    ny = ys[:, None] + dy[None, :]
    nx = xs[:, None] + dx[None, :]
    valid = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
    on_edge = (xs == 0) | (xs == width - 1) | (ys == 0) | (ys == height - 1)
    return np.clip(ny, 0, height - 1), np.clip(nx, 0, width - 1), valid, on_edge


def _antialiased(img: Any, own32: Any, other32: Any, ys: Any, xs: Any) -> Any:
    """Is each pixel (ys, xs) of `img` likely anti-aliasing? pixelmatch's antialiased()."""
    import numpy as np

    n = len(ys)
    if n == 0:
        return np.zeros(0, bool)
    height, width = own32.shape
    ny, nx, valid, on_edge = _neighbours(ys, xs, height, width)
    cy = np.repeat(ys, 8)
    cx = np.repeat(xs, 8)
    deltas = _color_delta(img, img, cy, cx, ny.ravel(), nx.ravel(), width, y_only=True)
    deltas = deltas.reshape(n, 8)
    zeroes = on_edge.astype(np.int64) + ((deltas == 0) & valid).sum(axis=1)
    darker = np.where(valid & (deltas < 0), deltas, 0.0)
    brighter = np.where(valid & (deltas > 0), deltas, 0.0)
    lo = darker.argmin(axis=1)  # first of equal minima, as the loop keeps the first
    hi = brighter.argmax(axis=1)
    rows = np.arange(n)
    has_both = (darker[rows, lo] < 0) & (brighter[rows, hi] > 0)
    possible = (zeroes <= 2) & has_both
    result = np.zeros(n, bool)
    if not possible.any():
        return result
    idx = np.nonzero(possible)[0]
    min_y, min_x = ny[idx, lo[idx]], nx[idx, lo[idx]]
    max_y, max_x = ny[idx, hi[idx]], nx[idx, hi[idx]]
    result[idx] = (_many_siblings(own32, min_y, min_x) & _many_siblings(other32, min_y, min_x)) | (
        _many_siblings(own32, max_y, max_x) & _many_siblings(other32, max_y, max_x)
    )
    return result


def _many_siblings(img32: Any, ys: Any, xs: Any) -> Any:
    """Has each pixel 3+ identical neighbours (edges count as one)? hasManySiblings()."""
    height, width = img32.shape
    ny, nx, valid, on_edge = _neighbours(ys, xs, height, width)
    same = (img32[ny, nx] == img32[ys, xs][:, None]) & valid
    return (on_edge.astype(int) + same.sum(axis=1)) > 2


def _gray(img: Any, alpha: float) -> Any:
    """pixelmatch's drawGrayPixel for every pixel: luma blended with white."""
    import numpy as np

    # Per-channel products from tables, then the same operations in the same
    # order as the reference, in place: exact, and no full-size temporaries.
    levels = np.arange(256, dtype=np.float64)
    y = (levels * 0.29889531)[img[..., 0]]
    y += (levels * 0.58662247)[img[..., 1]]
    y += (levels * 0.11448223)[img[..., 2]]
    y -= 255
    y *= alpha
    y *= levels[img[..., 3]]
    y /= 255
    y += 255
    # The reference writes into a Uint8Array (PNG data): values are truncated.
    v = np.trunc(y, out=y).astype(np.uint8)
    out = np.empty(img.shape, np.uint8)
    out[..., 0] = out[..., 1] = out[..., 2] = v
    out[..., 3] = 255
    return out


def decode_png(data: bytes) -> Image:
    """PNG bytes to an RGBA array."""
    import io

    import numpy as np
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()


def encode_png(array: Image) -> bytes:
    """An RGBA array to PNG bytes."""
    import io

    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.fromarray(array, "RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
