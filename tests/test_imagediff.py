"""pixelmatch 7.2.0 conformance, PNG files, and `rb diff`.

The reference data are pixelmatch's own test cases (tests/data/conformance/
pixelmatch, from ../shared/conformance, copied from mapbox/pixelmatch's test/
folder at v7.2.0, with its licence): every
count and every byte of every diff image must match. Random images are also
compared with `reference_pixelmatch` below, a line-by-line Python port of
pixelmatch 7.2.0's index.js, slow but obviously faithful (it passes the same
reference cases).
"""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rb.imagediff as imagediff
from rb.cli.commands.diff import diff
from rb.errors import EXIT_USAGE, UsageError
from rb.imagediff import DiffResult, antialiasing, color, pixelmatch
from rb.png_io import decode_png, encode_png, load_png, load_pngs, save_png

from .conftest import DATA

CONFORMANCE = DATA / "conformance" / "pixelmatch"
REF = "v7.2.0"
OPTION_NAMES = {
    "threshold": "threshold",
    "includeAA": "include_aa",
    "alpha": "alpha",
    "aaColor": "aa_color",
    "diffColor": "diff_color",
    "diffColorAlt": "diff_color_alt",
    "diffMask": "diff_mask",
    "checkerboard": "checkerboard",
}


def cases() -> list[dict[str, Any]]:
    path = CONFORMANCE / "cases.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return [c for c in data["cases"] if c["expected"][REF] is not None]


def options(case: dict[str, Any]) -> dict[str, Any]:
    """The case's options as keyword arguments; a null option takes the default."""
    return {
        OPTION_NAMES[k]: tuple(v) if isinstance(v, list) else v
        for k, v in case["options"].items()
        if v is not None
    }


def fixture(relative: str) -> Any:
    return load_png(CONFORMANCE / relative)


def case_id(case: dict[str, Any]) -> str:
    return str(case["id"])


# --- pixelmatch's own test cases ----------------------------------------------------


def test_the_conformance_vectors_are_present() -> None:
    assert len(cases()) == 12, f"expected pixelmatch's 12 v7.2.0 test cases in {CONFORMANCE}"


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_counts_and_diff_images_equal_the_reference(case: dict[str, Any]) -> None:
    a, b = fixture(case["a"]), fixture(case["b"])
    result = pixelmatch(a, b, **options(case))
    assert result.mismatched == case["expected"][REF]
    assert result.total == a.shape[0] * a.shape[1]
    expected = fixture(case["expected_diff_png"][REF])
    assert result.diff is not None
    assert result.diff.shape == expected.shape
    mismatch = np.argwhere((result.diff != expected).any(axis=2))
    assert mismatch.size == 0, f"{len(mismatch)} diff pixels differ, first at (y, x) {mismatch[0]}"
    # upstream also checks the count without a diff image
    without = pixelmatch(a, b, output=False, **options(case))
    assert without.mismatched == result.mismatched and without.diff is None


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_batching_and_the_background_thread_change_nothing(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = fixture(case["a"]), fixture(case["b"])
    monkeypatch.setattr(color, "_BATCH", 97)  # many small batches
    monkeypatch.setattr(antialiasing, "_CHUNK", 97)
    monkeypatch.setattr(antialiasing, "_BAND_GAP", 0)  # one row band per changed row group
    monkeypatch.setattr(imagediff, "_BACKGROUND_THREAD_MIN", 0)  # grey drawn in the thread
    result = pixelmatch(a, b, **options(case))
    assert result.mismatched == case["expected"][REF]
    assert result.diff is not None
    assert np.array_equal(result.diff, fixture(case["expected_diff_png"][REF]))


@pytest.mark.parametrize(
    "case", [c for c in cases() if c["id"] in {"1diff", "2diff", "5diff", "7diff"}], ids=case_id
)
def test_the_reference_port_itself_passes_upstream_cases(case: dict[str, Any]) -> None:
    a, b = fixture(case["a"]), fixture(case["b"])
    height, width = a.shape[:2]
    out = bytearray(a.size)
    count = reference_pixelmatch(a.tobytes(), b.tobytes(), out, width, height, **options(case))
    assert count == case["expected"][REF]
    assert bytes(out) == fixture(case["expected_diff_png"][REF]).tobytes()


# --- random images against the reference port -------------------------------------------


def random_image(rng: np.random.Generator, height: int, width: int) -> Any:
    """Few colours (identical siblings), blocks, gradients (anti-aliasing), noise, alpha."""
    palette = rng.integers(0, 256, (int(rng.integers(2, 6)), 4)).astype(np.uint8)
    if rng.random() < 0.6:
        palette[:, 3] = 255
    kind = rng.integers(0, 5)
    if kind == 0:
        img = palette[rng.integers(0, len(palette), (height, width))]
    elif kind == 1:
        img = np.empty((height, width, 4), np.uint8)
        img[:] = palette[0]
        for _ in range(int(rng.integers(1, 6))):
            y, x = rng.integers(0, height), rng.integers(0, width)
            h, w = rng.integers(1, height + 1), rng.integers(1, width + 1)
            img[y : y + h, x : x + w] = palette[rng.integers(0, len(palette))]
    elif kind == 2:
        yy, xx = np.mgrid[0:height, 0:width]
        slope = xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1) + rng.uniform(-5, 5)
        t = np.clip(slope * rng.uniform(20, 120), 0, 255) / 255
        img = np.empty((height, width, 4), np.uint8)
        for c in range(3):
            img[..., c] = (palette[0, c] * (1 - t) + palette[1, c] * t).astype(np.uint8)
        img[..., 3] = 255 if rng.random() < 0.7 else rng.integers(0, 256)
    elif kind == 3:
        img = rng.integers(0, 256, (height, width, 4)).astype(np.uint8)
        if rng.random() < 0.5:
            img[..., 3] = 255
    else:
        img = palette[rng.integers(0, len(palette), (height, width))]
        img[..., 3] = rng.choice(np.array([0, 128, 255], np.uint8), (height, width))
    return np.ascontiguousarray(img)


def changed(rng: np.random.Generator, img: Any) -> Any:
    out = img.copy()
    height, width = img.shape[:2]
    kind = rng.integers(0, 5)
    if kind == 0:  # shifted by a pixel: anti-aliasing everywhere
        out = np.roll(out, int(rng.integers(-1, 2)), axis=int(rng.integers(0, 2)))
    elif kind == 1:
        spots = rng.random((height, width)) < rng.uniform(0, 0.5)
        out[spots] = rng.integers(0, 256, (int(spots.sum()), 4))
    elif kind == 2:
        y, x = rng.integers(0, height), rng.integers(0, width)
        out[y : y + 3, x : x + 5] = rng.integers(0, 256, 4)
    elif kind == 3:
        out = random_image(rng, height, width)
    else:
        out[..., rng.integers(0, 4)] ^= np.uint8(rng.integers(1, 4))
    return np.ascontiguousarray(out)


@pytest.mark.parametrize("seed", range(6))
def test_random_images_equal_the_reference_port(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = [1, 2, 3, 5, 8, 13, 22] if seed < 4 else [17, 31, 40]
    for _ in range(60 if seed < 4 else 8):
        height, width = int(rng.choice(sizes)), int(rng.choice(sizes))
        a = random_image(rng, height, width)
        b = changed(rng, a)
        if rng.random() < 0.5:
            a, b = b, a
        opts: dict[str, Any] = {
            "threshold": float(rng.choice([0, 0.01, 0.05, 0.1, 0.3, 1.0])),
            "include_aa": bool(rng.random() < 0.2),
            "alpha": float(rng.choice([0, 0.1, 0.5, 1.0, 1.5, -0.3])),
            "diff_mask": bool(rng.random() < 0.2),
            "diff_color_alt": (0, 255, 0) if rng.random() < 0.5 else None,
            "checkerboard": bool(rng.random() < 0.7),
        }
        out = bytearray(a.size)
        expected = reference_pixelmatch(a.tobytes(), b.tobytes(), out, width, height, **opts)
        result = pixelmatch(a, b, **opts)
        where = f"{height}x{width} {opts}"
        assert result.mismatched == expected, where
        assert result.diff is not None and result.diff.tobytes() == bytes(out), where
        assert pixelmatch(a, b, output=False, **opts).mismatched == expected, where


def test_the_integer_luma_key_orders_neighbours_as_pixelmatch_does() -> None:
    """The premise of the float-free detector for opaque pixels (rb/imagediff/antialiasing.py)."""
    w1, w2, w3 = antialiasing._KEY
    d = np.arange(-255, 256, dtype=np.int64)
    partial = d[:, None] * w1 + d[None, :] * w2  # every (dr, dg)
    # no non-zero channel difference has a zero key: db = -partial / w3 is never whole
    whole = partial % w3 == 0
    db = -partial // w3
    zero = whole & (np.abs(db) <= 255)
    zero[255, 255] = False  # (0, 0, 0)
    assert not zero.any()
    # and float64 y orders pairs of differences as their keys do, near ties included
    rng = np.random.default_rng(1)
    first = rng.integers(-255, 256, (300_000, 3))
    second = rng.integers(-255, 256, (300_000, 3))
    near = first[100_000:].copy()
    channel = rng.integers(0, 3, len(near))
    near[np.arange(len(near)), channel] += rng.choice([-1, 1], len(near))
    second[100_000:] = np.clip(near, -255, 255)
    second[:1000] = first[:1000]  # equal

    def y(d: Any) -> Any:
        return d[:, 0] * color._Y[0] + d[:, 1] * color._Y[1] + d[:, 2] * color._Y[2]

    def key(d: Any) -> Any:
        return d @ np.array(antialiasing._KEY, np.int64)

    assert np.array_equal(np.sign(y(first)), np.sign(key(first)))
    assert np.array_equal(y(first) < y(second), key(first) < key(second))
    assert np.array_equal(y(first) == y(second), key(first) == key(second))


# --- the API ---------------------------------------------------------------------------


def test_identical_images_take_the_fast_path() -> None:
    img = fixture("fixtures/1a.png")
    result = pixelmatch(img, img.copy(), threshold=0)
    assert (result.mismatched, result.share) == (0, 0.0)
    assert result.diff is not None and (result.diff[..., :3] < 255).any()  # the grey image
    mask = pixelmatch(img, img, diff_mask=True)
    assert mask.diff is not None and not mask.diff.any()  # transparent
    assert pixelmatch(img, img, output=False).diff is None


def test_result_share_and_immutability() -> None:
    result = DiffResult(5, 200)
    assert result.share == 0.025 and result.diff is None
    assert DiffResult(0, 0).share == 0.0
    with pytest.raises(AttributeError):
        result.mismatched = 1  # type: ignore[misc]


def test_inputs_are_not_modified_and_may_be_views() -> None:
    a, b = fixture("fixtures/1a.png"), fixture("fixtures/1b.png")
    a_copy, b_copy = a.copy(), b.copy()
    wide_a = np.concatenate([a, a], axis=1)
    view = wide_a[:, : a.shape[1]]  # not contiguous
    assert pixelmatch(view, b, threshold=0.05).mismatched == 143
    assert np.array_equal(a, a_copy) and np.array_equal(b, b_copy)


def test_size_and_type_errors() -> None:
    small = np.zeros((600, 800, 4), np.uint8)
    tall = np.zeros((601, 800, 4), np.uint8)
    with pytest.raises(ValueError, match=r"^images differ in size: 800x600 vs 800x601$"):
        pixelmatch(small, tall)
    with pytest.raises(ValueError, match=r"img2: expected RGBA pixels.*\(600, 800, 3\)"):
        pixelmatch(small, np.zeros((600, 800, 3), np.uint8))
    with pytest.raises(ValueError, match=r"img1: expected a uint8 NumPy array.*float64"):
        pixelmatch(small.astype(np.float64), small)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="diff_color: expected three integers"):
        pixelmatch(small, small, diff_color=(255, 0, 300))


# --- PNG files -------------------------------------------------------------------------


def test_png_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1, 4), (1, 7, 4), (5, 1, 4), (33, 65, 4)]:
        img = rng.integers(0, 256, shape).astype(np.uint8)
        assert np.array_equal(decode_png(encode_png(img)), img)
        save_png(tmp_path / "x.png", img, compress_level=6)
        loaded = load_png(tmp_path / "x.png")
        assert np.array_equal(loaded, img) and loaded.flags.writeable
    with pytest.raises(ValueError, match="RGBA"):
        encode_png(np.zeros((2, 2, 3), np.uint8))


def test_png_colour_types_become_rgba() -> None:
    from PIL import Image

    rng = np.random.default_rng(4)
    rgba = rng.integers(0, 256, (6, 9, 4)).astype(np.uint8)
    for mode in ("RGB", "L", "LA", "RGBA"):
        buffer = io.BytesIO()
        Image.fromarray(rgba).convert(mode).save(buffer, format="PNG")
        data = buffer.getvalue()
        expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
        assert np.array_equal(decode_png(data), expected), mode
    palette = Image.fromarray(rng.integers(0, 4, (6, 9)).astype(np.uint8), "P")
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=1)
    decoded = decode_png(buffer.getvalue())
    assert decoded.shape == (6, 9, 4)
    assert set(np.unique(decoded[..., 3]).tolist()) <= {0, 255}
    wide = (rng.integers(0, 65536, (4, 5))).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG")
    grey = decode_png(buffer.getvalue())
    assert np.array_equal(grey[..., 0], (wide >> 8).astype(np.uint8))
    assert (grey[..., 3] == 255).all()


def test_png_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(UsageError, match=rf"^cannot read {re.escape(str(missing))}: no such file$"):
        load_png(missing)
    with pytest.raises(UsageError, match="it is a directory"):
        load_png(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(UsageError, match=rf"^{re.escape(str(text))} is not a PNG image$"):
        load_png(text)
    jpeg = tmp_path / "photo.jpg"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(jpeg, format="JPEG")
    with pytest.raises(UsageError, match="is not a PNG image"):
        load_png(jpeg)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(encode_png(np.zeros((50, 50, 4), np.uint8))[:60])
    with pytest.raises(
        UsageError, match=rf"^{re.escape(str(truncated))} is not a readable PNG image"
    ):
        load_png(truncated)
    with pytest.raises(UsageError) as raised:
        save_png(tmp_path / "no" / "such" / "dir.png", np.zeros((1, 1, 4), np.uint8))
    assert "cannot write" in str(raised.value)


def test_load_pngs_decodes_in_order_and_reports_the_first_failure(tmp_path: Path) -> None:
    a, b = CONFORMANCE / "fixtures/1a.png", CONFORMANCE / "fixtures/2a.png"
    first, second = load_pngs(a, b)
    assert np.array_equal(first, load_png(a)) and np.array_equal(second, load_png(b))
    with pytest.raises(UsageError, match=r"x1\.png"):
        load_pngs(tmp_path / "x1.png", tmp_path / "x2.png")
    with pytest.raises(UsageError, match=r"x2\.png"):
        load_pngs(a, tmp_path / "x2.png", b)


# --- rb diff ---------------------------------------------------------------------------

A = str(CONFORMANCE / "fixtures" / "1a.png")
B = str(CONFORMANCE / "fixtures" / "1b.png")


def test_rb_diff_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(A, B, threshold=0.05) == 0
    assert capsys.readouterr().out == "143 of 131072 pixels differ (0.1091 %)\n"
    out = io.StringIO()
    assert diff(A, A, out=out) == 0
    assert out.getvalue() == "0 of 131072 pixels differ (0.0000 %)\n"


def test_rb_diff_json(tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "diff.png"
    assert diff(A, B, output=str(target), output_format="json", out=out) == 0
    text = out.getvalue()
    report = json.loads(text)
    assert list(report) == sorted(report)  # sorted keys
    assert report == {
        "a": A,
        "b": B,
        "width": 512,
        "height": 256,
        "mismatched": 106,
        "total": 131072,
        "share": 106 / 131072,
        "threshold": 0.1,
        "include_aa": False,
        "diff": str(target),
    }
    assert np.array_equal(load_png(target), fixture("diffs/v7.2.0/1diffdefaultthreshold.png"))
    out = io.StringIO()
    diff(A, B, include_aa=True, threshold=0.05, output_format="json", out=out)
    report = json.loads(out.getvalue())
    assert report["include_aa"] is True and report["diff"] is None
    assert report["mismatched"] > 143  # anti-aliased pixels count too


def test_rb_diff_writes_the_reference_diff_image(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    assert diff(A, B, threshold=0.05, output=str(target), out=io.StringIO()) == 0
    assert np.array_equal(load_png(target), fixture("diffs/v7.2.0/1diff.png"))


def test_rb_diff_fail_over() -> None:
    share = 143 / 131072  # 0.00109
    assert diff(A, B, threshold=0.05, fail_over=0.001, out=io.StringIO()) == 1
    assert diff(A, B, threshold=0.05, fail_over=0.01, out=io.StringIO()) == 0
    assert diff(A, B, threshold=0.05, fail_over=share, out=io.StringIO()) == 0  # not over
    assert diff(A, A, fail_over=0, out=io.StringIO()) == 0


def test_rb_diff_usage_errors(tmp_path: Path) -> None:
    other = str(CONFORMANCE / "fixtures" / "2a.png")  # 256x256
    with pytest.raises(UsageError) as raised:
        diff(A, other)
    assert str(raised.value) == f"images differ in size: {A} is 512x256, {other} is 256x256"
    assert raised.value.exit_code == EXIT_USAGE
    missing = str(tmp_path / "missing.png")
    with pytest.raises(UsageError, match=rf"^cannot read {re.escape(str(missing))}: no such file$"):
        diff(A, missing)
    text = tmp_path / "not.png"
    text.write_text("hello")
    with pytest.raises(UsageError, match=rf"^{re.escape(str(text))} is not a PNG image$"):
        diff(str(text), A)
    with pytest.raises(UsageError, match="unknown output format 'yaml'"):
        diff(A, B, output_format="yaml")
    with pytest.raises(UsageError, match="--threshold must be between 0 and 1"):
        diff(A, B, threshold=1.5)
    with pytest.raises(UsageError, match="--fail-over"):
        diff(A, B, fail_over=-1)
    with pytest.raises(UsageError, match="cannot write"):
        diff(A, B, output=str(tmp_path / "no" / "dir" / "d.png"), out=io.StringIO())


def test_importing_the_command_is_cheap() -> None:
    code = "import sys, rb.cli.commands.diff; print(sorted({'numpy', 'PIL'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- a line-by-line port of pixelmatch 7.2.0 (index.js), the test oracle ----------------


def reference_pixelmatch(
    img1: bytes,
    img2: bytes,
    output: bytearray | None,
    width: int,
    height: int,
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
    alpha: float = 0.1,
    aa_color: tuple[int, int, int] = (255, 255, 0),
    diff_color: tuple[int, int, int] = (255, 0, 0),
    diff_color_alt: tuple[int, int, int] | None = None,
    diff_mask: bool = False,
    checkerboard: bool = True,
) -> int:
    n = width * height
    if img1 == img2:
        if output is not None and not diff_mask:
            for i in range(n):
                _draw_gray(img1, i * 4, alpha, output)
        return 0
    max_delta = 35215 * threshold * threshold
    alt = diff_color_alt or diff_color
    count = 0
    for i in range(n):
        pos = i * 4
        same = img1[pos : pos + 4] == img2[pos : pos + 4]
        delta = 0.0 if same else _color_delta(img1, img2, pos, pos, False, checkerboard)
        if abs(delta) > max_delta:
            x, y = i % width, i // width
            excluded = not include_aa and (
                _antialiased(img1, x, y, width, height, img1, img2, checkerboard)
                or _antialiased(img2, x, y, width, height, img2, img1, checkerboard)
            )
            if excluded:
                if output is not None and not diff_mask:
                    _draw(output, pos, *aa_color)
            else:
                if output is not None:
                    _draw(output, pos, *(alt if delta < 0 else diff_color))
                count += 1
        elif output is not None and not diff_mask:
            _draw_gray(img1, pos, alpha, output)
    return count


def _antialiased(
    img: bytes, x1: int, y1: int, width: int, height: int, a: bytes, b: bytes, checkerboard: bool
) -> bool:
    x0, y0 = max(x1 - 1, 0), max(y1 - 1, 0)
    x2, y2 = min(x1 + 1, width - 1), min(y1 + 1, height - 1)
    pos = (y1 * width + x1) * 4
    zeroes = 1 if x1 in (x0, x2) or y1 in (y0, y2) else 0
    low = high = 0.0
    min_x = min_y = max_x = max_y = 0
    for x in range(x0, x2 + 1):
        for y in range(y0, y2 + 1):
            if x == x1 and y == y1:
                continue
            delta = _color_delta(img, img, pos, (y * width + x) * 4, True, checkerboard)
            if delta == 0:
                zeroes += 1
                if zeroes > 2:
                    return False
            elif delta < low:
                low, min_x, min_y = delta, x, y
            elif delta > high:
                high, max_x, max_y = delta, x, y
    if low == 0 or high == 0:
        return False
    return (
        _many_siblings(a, min_x, min_y, width, height)
        and _many_siblings(b, min_x, min_y, width, height)
    ) or (
        _many_siblings(a, max_x, max_y, width, height)
        and _many_siblings(b, max_x, max_y, width, height)
    )


def _many_siblings(img: bytes, x1: int, y1: int, width: int, height: int) -> bool:
    x0, y0 = max(x1 - 1, 0), max(y1 - 1, 0)
    x2, y2 = min(x1 + 1, width - 1), min(y1 + 1, height - 1)
    pos = (y1 * width + x1) * 4
    zeroes = 1 if x1 in (x0, x2) or y1 in (y0, y2) else 0
    for x in range(x0, x2 + 1):
        for y in range(y0, y2 + 1):
            if x == x1 and y == y1:
                continue
            pos2 = (y * width + x) * 4
            if img[pos : pos + 4] == img[pos2 : pos2 + 4]:
                zeroes += 1
            if zeroes > 2:
                return True
    return False


def _int32(x: float) -> int:
    """JavaScript's `x | 0`."""
    v = math.trunc(x) & 0xFFFFFFFF
    return v - 2**32 if v >= 2**31 else v


def _color_delta(
    img1: bytes, img2: bytes, k: int, m: int, y_only: bool, checkerboard: bool
) -> float:
    r1, g1, b1, a1 = img1[k], img1[k + 1], img1[k + 2], img1[k + 3]
    r2, g2, b2, a2 = img2[m], img2[m + 1], img2[m + 2], img2[m + 3]
    dr: float = r1 - r2
    dg: float = g1 - g2
    db: float = b1 - b2
    da = a1 - a2
    if not dr and not dg and not db and not da:
        return 0.0
    if a1 < 255 or a2 < 255:
        rb = gb = bb = 255.0
        if checkerboard:
            rb = 48 + 159 * math.fmod(k, 2)
            gb = 48 + 159 * math.fmod(_int32(k / 1.618033988749895), 2)
            bb = 48 + 159 * math.fmod(_int32(k / 2.618033988749895), 2)
        dr = (r1 * a1 - r2 * a2 - rb * da) / 255
        dg = (g1 * a1 - g2 * a2 - gb * da) / 255
        db = (b1 * a1 - b2 * a2 - bb * da) / 255
    y = dr * 0.29889531 + dg * 0.58662247 + db * 0.11448223
    if y_only:
        return y
    i = dr * 0.59597799 - dg * 0.27417610 - db * 0.32180189
    q = dr * 0.21147017 - dg * 0.52261711 + db * 0.31114694
    delta = 0.5053 * y * y + 0.299 * i * i + 0.1957 * q * q
    return -delta if y > 0 else delta


def _draw(output: bytearray, pos: int, r: int, g: int, b: int) -> None:
    output[pos : pos + 4] = bytes((r & 0xFF, g & 0xFF, b & 0xFF, 255))


def _draw_gray(img: bytes, i: int, alpha: float, output: bytearray) -> None:
    luma = img[i] * 0.29889531 + img[i + 1] * 0.58662247 + img[i + 2] * 0.11448223
    val = 255 + (luma - 255) * alpha * img[i + 3] / 255
    level = math.trunc(val) & 0xFF  # a Uint8Array store
    _draw(output, i, level, level, level)


# The screenshot step's tolerance (rb.snapshots), as Playwright's toHaveScreenshot ----------


@pytest.mark.parametrize(
    ("inputs", "mismatched", "verdict", "described"),
    [
        ({}, 0, "identical", "tolerance 0"),
        ({}, 1, "over_tolerance", "tolerance 0"),  # the default: any differing pixel fails
        ({"max_diff_pixels": 100}, 100, "within_tolerance", "tolerance 100 pixels"),
        ({"max_diff_pixels": 100}, 101, "over_tolerance", "tolerance 100 pixels"),
        ({"max_diff_ratio": 0.01}, 280, "within_tolerance", "tolerance 1.00% (280 pixels)"),
        ({"max_diff_ratio": 0.01}, 281, "over_tolerance", "tolerance 1.00% (280 pixels)"),
        # both given: the stricter one wins, as in Playwright
        ({"max_diff_pixels": 100, "max_diff_ratio": 0.01}, 101, "over_tolerance", None),
        ({"max_diff_pixels": 500, "max_diff_ratio": 0.001}, 29, "over_tolerance", None),
        ({"max_diff_pixels": 1}, 1, "within_tolerance", "tolerance 1 pixel"),
    ],
)
def test_screenshot_tolerance(
    inputs: dict[str, Any], mismatched: int, verdict: str, described: str | None
) -> None:
    from rb.snapshots import Comparison, Tolerance

    tolerance = Tolerance.from_inputs(inputs)
    total = 28_000  # 1 % is 280 pixels
    assert tolerance.verdict(Comparison(mismatched, total)) == verdict
    if described is not None:
        assert tolerance.describe(total) == described


def test_the_colour_threshold_decides_which_pixels_differ() -> None:
    from rb.snapshots import compare_png

    grey = np.full((4, 4, 4), 200, np.uint8)
    lighter = grey.copy()
    lighter[0, 0, :3] = 190  # a faint change: under 0.1, over 0.01
    baseline, actual = encode_png(grey), encode_png(lighter)
    assert compare_png(baseline, actual, "b.png")[0].mismatched == 0
    assert compare_png(baseline, actual, "b.png", color_threshold=0.01)[0].mismatched == 1
