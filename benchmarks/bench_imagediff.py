"""Screenshot diffs and screenshots, measured (never asserted).

- pixelmatch on two 1920x1080 page-like images that differ in one paragraph:
  without PNG decoding, and with decoding both PNGs;
- the worst case: the whole page shifted by one pixel (most pixels differ,
  so the anti-aliasing check runs nearly everywhere);
- a 1920x1080 screenshot in headless Chromium once the browser runs.

Run: .venv/bin/python -m benchmarks.bench_imagediff [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rb.imagediff import decode_png, encode_png, pixelmatch


def page(paragraph_seed: int) -> np.ndarray:
    """A 1080p 'page': header bar, panels, rows of text-like glyph runs."""
    rng = np.random.default_rng(7)
    img = np.full((1080, 1920, 4), 255, np.uint8)
    img[:64, :, :3] = (29, 39, 51)
    for top in range(120, 1000, 220):
        img[top : top + 180, 80:1840, :3] = (245, 247, 250)
        for line in range(top + 20, top + 170, 24):
            x = 100
            while x < 1800:
                word = int(rng.integers(20, 90))
                img[line : line + 12, x : x + word, :3] = (40, 40, 40)
                x += word + int(rng.integers(6, 14))
    # The changed paragraph: one panel's text differs.
    other = np.random.default_rng(paragraph_seed)
    img[360:520, 100:1800, :3] = 245
    for line in range(360, 520, 24):
        x = 100
        while x < 1800:
            word = int(other.integers(20, 90))
            img[line : line + 12, x : x + word, :3] = (40, 40, 40)
            x += word + int(other.integers(6, 14))
    return img


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    a, b = page(1), page(2)
    shifted = np.roll(a, 1, axis=1)
    png_a, png_b = encode_png(a), encode_png(b)
    result = pixelmatch(a, b)
    print(f"1920x1080, a changed paragraph: {result.mismatched} pixels differ ({result.share:.2%})")
    print(f"{'diff, decoded images':<38}{median_ms(lambda: pixelmatch(a, b), args.repeat):8.1f} ms")
    print(
        f"{'diff, no diff image':<38}"
        f"{median_ms(lambda: pixelmatch(a, b, output=False), args.repeat):8.1f} ms"
    )
    with_decoding = median_ms(lambda: pixelmatch(decode_png(png_a), decode_png(png_b)), args.repeat)
    print(f"{'diff with PNG decoding of both':<38}{with_decoding:8.1f} ms")
    worst = pixelmatch(a, shifted)
    print(
        f"{'worst case (page shifted 1 px)':<38}"
        f"{median_ms(lambda: pixelmatch(a, shifted), max(3, args.repeat // 3)):8.1f} ms"
        f"  ({worst.share:.1%} differ)"
    )
    first, shot = asyncio.run(screenshot_ms(args.repeat))
    print(f"{'screenshot 1920x1080, first (launch)':<38}{first:8.1f} ms")
    print(f"{'screenshot 1920x1080, browser running':<38}{shot:8.1f} ms")


if __name__ == "__main__":
    main()
