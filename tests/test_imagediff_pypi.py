"""rb's pixelmatch (7.2.0) against the PyPI `pixelmatch` package, differentially.

The PyPI package (pixelmatch-py 0.4.0, a test dependency) is a pure-Python
port of pixelmatch 5 from before `diffColorAlt` existed: on every upstream test
case it can run, its counts and diff images are those of pixelmatch v5.3.0.
pixelmatch 7 changed one thing a user can see (semi-transparent pixels are
blended over a checkerboard-like pattern, not white) and added two options
(`diffColorAlt`, and `checkerboard` to go back to white). So wherever the two
are specified alike -- rb with `checkerboard=False` and no `diff_color_alt` --
their counts and diff images must be equal, byte for byte; many small generated
image pairs check that. Where they are specified differently, the tests at the
end assert the difference docs/screenshots.md documents.

One more difference is arithmetic, not specification: pixelmatch 7 blends a
pair of pixels in one expression of integers, the PyPI port blends each pixel
and subtracts, leaving a rounding residue (about 1e-27) where two different
semi-transparent pixels blend to exactly the same colour. Generated cases with
such a pair are skipped (`blend_ties`), and the residue is asserted on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pixelmatch as pypi
import pytest
from pixelmatch.utils import color_delta as pypi_color_delta

from rb.imagediff import pixelmatch

from .test_imagediff import changed, fixture, random_image

SIZES = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (1, 7), (5, 3), (7, 9), (13, 11), (16, 16)]


@dataclass(frozen=True)
class Options:
    """The options both implementations take (rb's name; the PyPI name in pypi_kwargs)."""

    threshold: float = 0.1
    include_aa: bool = False
    alpha: float = 0.1
    aa_color: tuple[int, int, int] = (255, 255, 0)
    diff_color: tuple[int, int, int] = (255, 0, 0)
    diff_mask: bool = False

    def rb_kwargs(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "include_aa": self.include_aa,
            "alpha": self.alpha,
            "aa_color": self.aa_color,
            "diff_color": self.diff_color,
            "diff_mask": self.diff_mask,
        }

    def pypi_kwargs(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "includeAA": self.include_aa,
            "alpha": self.alpha,
            "aa_color": self.aa_color,
            "diff_color": self.diff_color,
            "diff_mask": self.diff_mask,
        }


def pypi_diff(a: Any, b: Any, options: Options) -> tuple[int, Any]:
    """The PyPI package's count and diff image (RGBA array) for two RGBA arrays."""
    height, width = a.shape[:2]
    out = bytearray(a.size)  # zeros: what diff_mask leaves transparent
    count = pypi.pixelmatch(a.tobytes(), b.tobytes(), width, height, out, **options.pypi_kwargs())
    return count, np.frombuffer(bytes(out), np.uint8).reshape(a.shape)


def random_options(rng: np.random.Generator) -> Options:
    def colour() -> tuple[int, int, int]:
        r, g, b = (int(c) for c in rng.integers(0, 256, 3))
        return r, g, b

    custom = rng.random() < 0.3
    return Options(
        threshold=float(rng.choice([0.0, 0.005, 0.05, 0.1, 0.2, 0.5, 1.0])),
        include_aa=bool(rng.random() < 0.2),
        alpha=float(rng.choice([0.0, 0.1, 0.5, 1.0])),
        aa_color=colour() if custom else (255, 255, 0),
        diff_color=colour() if custom else (255, 0, 0),
        diff_mask=bool(rng.random() < 0.2),
    )


_DIRECTIONS = (  # each neighbour pair once: (one side, the other side) slices
    ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
    ((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
    ((slice(1, None), slice(1, None)), (slice(None, -1), slice(None, -1))),
    ((slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None))),
)


def blend_ties(a: Any, b: Any) -> bool:
    """Do two different pixels that pixelmatch compares blend to one colour over white?

    pixelmatch compares the pixels of a and b at one position, and each pixel
    with its neighbours in the same image. (c - 255) * alpha per channel is the
    blend over white, scaled to integers: equal for different bytes is a tie,
    unless both blend to white (scaled 0), which both compute exactly.
    """

    def scaled(img: Any) -> Any:
        return (img[..., :3].astype(np.int32) - 255) * img[..., 3:4].astype(np.int32)

    def ties(p: Any, q: Any, pw: Any, qw: Any) -> bool:
        # (white, scaled 0, blends exactly in both: 255 + 0 * x)
        return bool(np.any((p == q).all(axis=-1) & (p != 0).any(axis=-1) & (pw != qw)))

    sa, sb = scaled(a), scaled(b)
    wa, wb = a.view(np.uint32)[..., 0], b.view(np.uint32)[..., 0]
    if ties(sa, sb, wa, wb):
        return True
    for s, w in ((sa, wa), (sb, wb)):
        for one, other in _DIRECTIONS:
            if ties(s[one], s[other], w[one], w[other]):
                return True
    return False


# --- generated image pairs -------------------------------------------------------------


def opaque(rng: np.random.Generator, height: int, width: int) -> Any:
    img = rng.integers(0, 256, (height, width, 4)).astype(np.uint8)
    img[..., 3] = 255
    return img


def identical(rng: np.random.Generator, height: int, width: int) -> tuple[Any, Any]:
    a = random_image(rng, height, width)
    return a, a.copy()


def one_pixel(rng: np.random.Generator, height: int, width: int) -> tuple[Any, Any]:
    """One pixel changed: by a little (under most thresholds) or to any colour."""
    a = random_image(rng, height, width)
    b = a.copy()
    y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
    if rng.random() < 0.5:
        step = rng.integers(-12, 13, 4)
        b[y, x] = np.clip(a[y, x].astype(np.int16) + step, 0, 255).astype(np.uint8)
    else:
        b[y, x] = rng.integers(0, 256, 4)
    if rng.random() < 0.5:
        b[y, x, 3] = a[y, x, 3]
    return a, b


def edge(height: int, width: int, position: float, flat: Any, ink: Any, slope: float) -> Any:
    """A straight edge between two flat colours, its crossing pixels anti-aliased.

    Each pixel takes the share of it covered by the ink side of the line
    x = position + slope * y (a gradient one pixel wide next to flat regions).
    """
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    coverage = np.clip(xs + 1 - (position + slope * ys), 0, 1)[..., None]
    mixed = flat[None, None, :] * (1 - coverage) + ink[None, None, :] * coverage
    return np.rint(mixed).astype(np.uint8)


def antialiased_edge(rng: np.random.Generator, height: int, width: int) -> tuple[Any, Any]:
    """The same edge drawn at two sub-pixel positions: anti-aliasing differs."""
    flat = rng.integers(0, 256, 4).astype(np.float64)
    ink = rng.integers(0, 256, 4).astype(np.float64)
    flat[3] = ink[3] = 255.0
    slope = float(rng.uniform(-0.6, 0.6))
    position = float(rng.uniform(0, width))
    moved = position + float(rng.choice([-1.0, -0.5, 0.25, 0.5, 1.0]))
    a = edge(height, width, position, flat, ink, slope)
    b = edge(height, width, moved, flat, ink, slope)
    if rng.random() < 0.3:  # and a real change beside the edge
        y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
        b[y, x, :3] = 255 - b[y, x, :3]
    return a, b


def translucent(rng: np.random.Generator, height: int, width: int) -> tuple[Any, Any]:
    """Semi-transparent images: random alpha, or one alpha level with fully clear spots."""
    a = opaque(rng, height, width)
    if rng.random() < 0.5:
        a[..., 3] = rng.integers(0, 256, (height, width))
    else:
        a[..., 3] = rng.integers(1, 255)
        a[rng.random((height, width)) < 0.2, 3] = 0
    b = changed(rng, a)
    if rng.random() < 0.3:  # only the alpha channel differs
        b = a.copy()
        b[..., 3] = rng.integers(0, 256, (height, width))
    return a, b


def anything(rng: np.random.Generator, height: int, width: int) -> tuple[Any, Any]:
    """test_imagediff's generator: palettes, blocks, gradients, noise, alpha; then a change."""
    a = random_image(rng, height, width)
    return a, changed(rng, a)


GENERATORS = {
    "identical": identical,
    "one_pixel": one_pixel,
    "antialiased_edge": antialiased_edge,
    "translucent": translucent,
    "anything": anything,
}


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_counts_and_diff_images_equal_the_pypi_package(kind: str) -> None:
    generate = GENERATORS[kind]
    rng = np.random.default_rng(sorted(GENERATORS).index(kind))
    checked = counted = 0
    for case in range(300):
        height, width = SIZES[case % len(SIZES)]
        a, b = generate(rng, height, width)
        if rng.random() < 0.5:
            a, b = b, a
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        if blend_ties(a, b):
            continue
        options = random_options(rng)
        expected, expected_diff = pypi_diff(a, b, options)
        result = pixelmatch(a, b, checkerboard=False, **options.rb_kwargs())
        where = f"case {case}: {height}x{width} {options}"
        assert result.mismatched == expected, where
        assert result.diff is not None
        mismatch = np.argwhere((result.diff != expected_diff).any(axis=2))
        assert mismatch.size == 0, f"{where}: diff pixel (y, x) {mismatch[0].tolist()} differs"
        checked += 1
        counted += expected > 0
    # the generators must exercise what they claim: most cases compared, and
    # (but for identical images) many with differing pixels
    assert checked >= 250
    assert counted == 0 if kind == "identical" else counted >= 50


def test_the_edge_generator_makes_pixels_pixelmatch_calls_antialiasing() -> None:
    flat, ink = np.array([255.0, 255, 255, 255]), np.array([20.0, 30, 40, 255])
    a = edge(9, 11, 4.3, flat, ink, 0.2)
    b = edge(9, 11, 4.8, flat, ink, 0.2)
    counted = pixelmatch(a, b, checkerboard=False).mismatched
    everything = pixelmatch(a, b, checkerboard=False, include_aa=True).mismatched
    assert counted < everything  # some differing pixels were recognised as anti-aliasing
    assert pypi_diff(a, b, Options())[0] == counted


# --- where the two are specified differently ------------------------------------------


def test_a_transparent_pixel_matches_white_in_the_pypi_package_but_not_in_pixelmatch_7() -> None:
    white = np.array([[[255, 255, 255, 255]]], np.uint8)
    clear = np.array([[[0, 0, 0, 0]]], np.uint8)
    assert pypi_diff(white, clear, Options())[0] == 0  # blended over white: no difference
    assert pixelmatch(white, clear, checkerboard=False).mismatched == 0
    assert pixelmatch(white, clear).mismatched == 1  # over 7's checkerboard: visible


@pytest.mark.parametrize(("case", "v7_count"), [("5diff", 6), ("8diff", 32896)])
def test_upstream_transparency_cases_split_by_version(case: str, v7_count: int) -> None:
    """pixelmatch's own cases 5diff and 8diff: the PyPI package gives 5.x's answer (0)."""
    b_name = "fixtures/5b.png"  # upstream compares both 5a and 8a with 5b
    a, b = fixture(f"fixtures/{case[0]}a.png"), fixture(b_name)
    count, image = pypi_diff(a, b, Options(threshold=0.05))
    white = pixelmatch(a, b, threshold=0.05, checkerboard=False)
    assert count == white.mismatched == 0
    assert white.diff is not None and np.array_equal(image, white.diff)
    if case == "5diff":  # v5.3.0 has this case, and its diff image
        assert np.array_equal(image, fixture("diffs/v5.3.0/5diff.png"))
    assert pixelmatch(a, b, threshold=0.05).mismatched == v7_count


def test_diff_color_alt_is_pixelmatch_7_only() -> None:
    """Without diffColorAlt (PyPI), pixels where img2 is darker get the diff colour too."""
    with pytest.raises(TypeError):
        pypi.pixelmatch(b"\0" * 4, b"\1" * 4, 1, 1, None, diffColorAlt=(0, 255, 0))
    rng = np.random.default_rng(7)
    a = opaque(rng, 13, 11)
    b = opaque(rng, 13, 11)
    count, image = pypi_diff(a, b, Options(include_aa=True))
    result = pixelmatch(a, b, include_aa=True, checkerboard=False, diff_color_alt=(0, 255, 0))
    assert result.mismatched == count
    assert result.diff is not None
    alt = (result.diff == (0, 255, 0, 255)).all(axis=2)
    luma = (0.29889531, 0.58662247, 0.11448223)
    darker = (a[..., :3].astype(np.float64) - b[..., :3]) @ luma > 0
    assert alt.any() and np.array_equal(alt, darker & (image == (255, 0, 0, 255)).all(axis=2))
    assert (image[alt] == (255, 0, 0, 255)).all()
    assert np.array_equal(result.diff[~alt], image[~alt])


def test_a_blend_tie_leaves_a_rounding_residue_in_the_pypi_package() -> None:
    """Two different pixels that blend to one colour over white, at threshold 0."""
    a = np.array([[[10, 10, 10, 2]]], np.uint8)  # 255 - 245 * 2/255
    b = np.array([[[241, 241, 241, 35]]], np.uint8)  # 255 - 14 * 35/255: the same
    assert blend_ties(a, b)
    assert 0 < pypi_color_delta(a.tobytes(), b.tobytes(), 0, 0) < 1e-26
    assert pypi_diff(a, b, Options(threshold=0))[0] == 1
    assert pixelmatch(a, b, threshold=0, checkerboard=False).mismatched == 0  # exactly equal
