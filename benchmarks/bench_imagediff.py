"""Screenshot diffs (rb.imagediff, pixelmatch 7.2.0), measured, never asserted.

Two page-like 1920x1080 screenshots rendered with Pillow (header bar, side
navigation, four panels of anti-aliased text); the second has one paragraph
rewritten. Figures are medians of --repeat runs:

- pixelmatch on decoded images, with and without the diff image, and the
  process's first call alone (rb.imagediff keeps its work arrays between
  calls, so the first pays for fresh memory);
- the same with PNG decoding of both files (Pillow; and pypng if installed);
- the worst case: the page against itself shifted by one pixel (every text
  edge differs, so anti-aliasing detection runs on ~10 % of the pixels);
- a stress case that is not a screenshot: random noise, every pixel differs;
- the PyPI `pixelmatch` package (pure Python) on the same pairs, one run each,
  and how many times faster rb's median is, when it is importable (a test
  dependency, `pip install -e .[test]`; the runtime does not need it);
- with --screenshot, a 1920x1080 screenshot in headless Chromium.

Run: .venv/bin/python -m benchmarks.bench_imagediff [--repeat N] [--skip-pypi] [--screenshot]
Goals: diff with the diff image at most 15 ms without decoding (issue 16; 20 ms
before), under 150 ms with decoding of both images, the shifted page under 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import io
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rb.cli.commands.diff import diff as rb_diff
from rb.imagediff import pixelmatch
from rb.png_io import decode_png, encode_png, load_png, load_pngs

WORDS = [
    "runbook",
    "step",
    "check",
    "deploy",
    "rollback",
    "metrics",
    "alert",
    "service",
    "latency",
    "error",
    "budget",
    "incident",
    "database",
    "migration",
    "replica",
    "cache",
    "queue",
    "worker",
    "schedule",
    "timeout",
    "retry",
    "dashboard",
    "panel",
    "screenshot",
    "baseline",
    "diff",
    "threshold",
    "pixel",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
]


def page(paragraph_seed: int) -> Any:
    """A 1920x1080 RGBA page; `paragraph_seed` picks the words of the second panel."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (1920, 1080), (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    body = ImageFont.load_default(size=15)
    title = ImageFont.load_default(size=22)
    words = random.Random(1)
    draw.rectangle((0, 0, 1920, 56), fill=(29, 39, 51))
    draw.text((24, 14), "rb  ·  Runbooks", font=title, fill=(255, 255, 255))
    for i, label in enumerate(("Runs", "Steps", "Schedules", "Settings")):
        draw.text((1400 + i * 120, 18), label, font=body, fill=(200, 210, 220))
    draw.rectangle((0, 56, 260, 1080), fill=(245, 247, 250))
    for i in range(22):
        label = " ".join(words.choice(WORDS) for _ in range(2)).title()
        draw.text((24, 90 + i * 40), label, font=body, fill=(60, 70, 80))
    for panel in range(4):
        top = 90 + panel * 245
        draw.rounded_rectangle(
            (300, top, 1880, top + 225), radius=8, fill=(255, 255, 255), outline=(220, 224, 230)
        )
        heading = f"Section {panel + 1}: " + " ".join(words.choice(WORDS) for _ in range(3))
        draw.text((324, top + 14), heading, font=title, fill=(20, 20, 20))
        source = random.Random(paragraph_seed) if panel == 1 else words
        for line in range(8):
            text = " ".join(source.choice(WORDS) for _ in range(24))
            draw.text((324, top + 52 + line * 21), text, font=body, fill=(50, 50, 50))
    return np.asarray(img).copy()


def png_bytes(img: Any) -> bytes:
    """PNG as a browser writes it: Pillow's default compression with adaptive filters."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format="PNG")
    return buffer.getvalue()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def once_s(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def row(what: str, figure: str, note: str = "") -> None:
    print(f"  {what:<52}{figure:>11}  {note}")


def pypng_decode(path: Path) -> Any:
    png = importlib.import_module("png")
    width, height, rows, _ = png.Reader(filename=str(path)).asRGBA8()
    return np.vstack([np.frombuffer(r, np.uint8) for r in rows]).reshape(height, width, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-pypi", action="store_true", help="skip the PyPI pixelmatch runs")
    parser.add_argument("--screenshot", action="store_true", help="also time Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rb-bench-imagediff-") as name:
        run(args, Path(name))


def run(args: argparse.Namespace, folder: Path) -> None:
    repeat = args.repeat
    a, b = page(1), page(2)
    shifted = np.ascontiguousarray(np.roll(a, 1, axis=1))
    rng = np.random.default_rng(0)
    noise1 = rng.integers(0, 256, a.shape, dtype=np.uint8)
    noise2 = rng.integers(0, 256, a.shape, dtype=np.uint8)
    noise1[..., 3] = noise2[..., 3] = 255
    paths = {}
    for name, img in (("a", a), ("b", b), ("shifted", shifted)):
        paths[name] = folder / f"{name}.png"
        paths[name].write_bytes(png_bytes(img))

    first_s, _ = once_s(lambda: pixelmatch(a, b))
    found = pixelmatch(a, b)
    worst = pixelmatch(a, shifted)
    print(f"pixelmatch 7.2.0 in NumPy (rb.imagediff), median of {repeat} runs")
    print(
        f"1920x1080 pages, a rewritten paragraph: {found.mismatched} pixels differ "
        f"({found.share:.2%}); shifted by 1 px: {worst.mismatched} ({worst.share:.2%})"
    )
    diff_ms = median_ms(lambda: pixelmatch(a, b), repeat)
    row("diff, decoded images, with the diff image", f"{diff_ms:.1f} ms", "goal <= 15 ms")
    row("the same, the process's first call (work arrays cold)", f"{first_s * 1000:.1f} ms")
    row(
        "diff, decoded images, count only (output=False)",
        f"{median_ms(lambda: pixelmatch(a, b, output=False), repeat):.1f} ms",
    )
    row(
        "identical images, with the diff image",
        f"{median_ms(lambda: pixelmatch(a, a), repeat):.1f} ms",
    )
    with_decoding = median_ms(lambda: pixelmatch(*load_pngs(paths["a"], paths["b"])), repeat)
    row(
        "diff with PNG decoding of both (Pillow, 2 threads)",
        f"{with_decoding:.1f} ms",
        "goal < 150 ms",
    )
    sequential = median_ms(lambda: pixelmatch(load_png(paths["a"]), load_png(paths["b"])), repeat)
    row("diff with PNG decoding of both, one after the other", f"{sequential:.1f} ms")
    row("decode one PNG (Pillow)", f"{median_ms(lambda: load_png(paths['a']), repeat):.1f} ms")
    row(
        "encode the diff PNG (rb.png_io, zlib level 1)",
        f"{median_ms(lambda: encode_png(found.diff), repeat):.1f} ms",
    )
    target = folder / "diff.png"
    sink = io.StringIO()
    cli = median_ms(
        lambda: rb_diff(str(paths["a"]), str(paths["b"]), output=str(target), out=sink), repeat
    )
    row("rb diff A B -o DIFF (decode, diff, write), in process", f"{cli:.1f} ms")
    shift_ms = median_ms(lambda: pixelmatch(a, shifted), max(3, repeat // 2))
    row("worst case: page shifted 1 px, with the diff image", f"{shift_ms:.1f} ms", "goal < 150 ms")
    row(
        "worst case, count only",
        f"{median_ms(lambda: pixelmatch(a, shifted, output=False), max(3, repeat // 2)):.1f} ms",
    )
    shift_decoding = median_ms(
        lambda: pixelmatch(*load_pngs(paths["a"], paths["shifted"])), max(3, repeat // 2)
    )
    row("worst case with PNG decoding of both", f"{shift_decoding:.1f} ms")
    noise_ms = median_ms(lambda: pixelmatch(noise1, noise2), 3)
    row("stress, not a screenshot: random noise (all differ)", f"{noise_ms:.0f} ms")

    try:
        importlib.import_module("png")
    except ImportError:
        row("decode one PNG (pypng)", "-", "not installed (pip install pypng)")
    else:
        seconds, decoded = once_s(lambda: pypng_decode(paths["a"]))
        same = np.array_equal(decoded, load_png(paths["a"]))
        row(
            "decode one PNG (pypng, pure Python), 1 run",
            f"{seconds * 1000:.0f} ms",
            f"same pixels: {same}",
        )

    if not args.skip_pypi:
        rb_ms = {"diff": diff_ms, "decoding": with_decoding, "shifted": shift_ms}
        pypi_pixelmatch(a, b, shifted, paths, found, worst, rb_ms)
    if args.screenshot:
        first, shot = asyncio.run(screenshot_ms(repeat))
        row("screenshot 1920x1080 in Chromium, first (launch)", f"{first:.0f} ms")
        row("screenshot 1920x1080, browser running", f"{shot:.0f} ms")


def pypi_pixelmatch(
    a: Any,
    b: Any,
    shifted: Any,
    paths: dict[str, Path],
    found: Any,
    worst: Any,
    rb_ms: dict[str, float],
) -> None:
    """The PyPI pixelmatch package on the same pairs, one run each (it takes seconds).

    Each line also says how many times faster rb.imagediff's median was (rb_ms).
    """
    try:
        reference = importlib.import_module("pixelmatch")
    except ImportError:
        print("PyPI pixelmatch: not installed (pip install pixelmatch to compare)")
    else:
        version = importlib.metadata.version("pixelmatch")
        print(f"PyPI pixelmatch {version} (pure Python port of pixelmatch 5), one run each")

        def faster(seconds: float, what: str) -> str:
            return f"{seconds * 1000 / rb_ms[what]:.0f}x faster"

        def pypi(x: Any, y: Any) -> tuple[int, bytes]:
            out = bytearray(x.size)
            count = reference.pixelmatch(x.tobytes(), y.tobytes(), 1920, 1080, out)
            return int(count), bytes(out)

        seconds, (count, image) = once_s(lambda: pypi(a, b))
        same = count == found.mismatched and image == found.diff.tobytes()
        row(
            "diff, decoded images, with the diff image",
            f"{seconds * 1000:.0f} ms",
            f"same count and image: {same}; rb.imagediff {faster(seconds, 'diff')}",
        )
        seconds, _ = once_s(
            lambda: pypi(decode_png(paths["a"].read_bytes()), decode_png(paths["b"].read_bytes()))
        )
        row(
            "diff with PNG decoding of both (Pillow)",
            f"{seconds * 1000:.0f} ms",
            f"rb.imagediff {faster(seconds, 'decoding')}",
        )
        seconds, (count, image) = once_s(lambda: pypi(a, shifted))
        same = count == worst.mismatched and image == worst.diff.tobytes()
        row(
            "worst case: page shifted 1 px",
            f"{seconds * 1000:.0f} ms",
            f"same count and image: {same}; rb.imagediff {faster(seconds, 'shifted')}",
        )


async def screenshot_ms(repeat: int) -> tuple[float, float]:
    from rb.browser import Browser
    from rb.world.base import ScreenshotRequest

    folder = Path(tempfile.mkdtemp())
    (folder / "index.html").write_text("<h1>rb</h1>" + "<p>text line</p>" * 60)
    browser = Browser()
    request = ScreenshotRequest(url=(folder / "index.html").as_uri(), viewport=(1920, 1080))
    start = time.perf_counter()
    await browser.shoot(request)
    first = (time.perf_counter() - start) * 1000
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        await browser.shoot(request)
        runs.append(time.perf_counter() - start)
    await browser.close()
    return first, statistics.median(runs) * 1000


if __name__ == "__main__":
    main()
