"""`rb diff A.png B.png`: compare two images by the pixelmatch algorithm.

NumPy and Pillow are imported when the command runs, not with this module.
"""

from __future__ import annotations

import json
import math
import sys
from typing import TextIO

from rb.errors import EXIT_FAILED, EXIT_OK, UsageError

OUTPUT_FORMATS = ("text", "json")


def diff(
    a: str,
    b: str,
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
    output: str | None = None,
    output_format: str = "text",
    fail_over: float | None = None,
    out: TextIO | None = None,
) -> int:
    """Print how many pixels of PNG images `a` and `b` differ; write the diff image to `output`.

    Returns 0, or 1 when the share of differing pixels is over `fail_over`
    (0 to 1). Unreadable images, images of different sizes and bad options
    raise UsageError (exit 2).
    """
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {output_format!r}: use text or json")
    if not (math.isfinite(threshold) and 0 <= threshold <= 1):
        raise UsageError(f"--threshold must be between 0 and 1, got {threshold}")
    if fail_over is not None and not (math.isfinite(fail_over) and 0 <= fail_over <= 1):
        raise UsageError(f"--fail-over is a share between 0 and 1 (e.g. 0.01), got {fail_over}")

    from rb.imagediff import pixelmatch
    from rb.png_io import load_pngs, save_png

    first, second = load_pngs(a, b)
    if first.shape != second.shape:
        raise UsageError(
            f"images differ in size: {a} is {first.shape[1]}x{first.shape[0]}, "
            f"{b} is {second.shape[1]}x{second.shape[0]}"
        )
    result = pixelmatch(
        first, second, threshold=threshold, include_aa=include_aa, output=output is not None
    )
    if output is not None and result.diff is not None:
        save_png(output, result.diff)

    stream = out if out is not None else sys.stdout
    if output_format == "json":
        report = {
            "a": a,
            "b": b,
            "width": int(first.shape[1]),
            "height": int(first.shape[0]),
            "mismatched": result.mismatched,
            "total": result.total,
            "share": result.share,
            "threshold": threshold,
            "include_aa": include_aa,
            "diff": output,
        }
        stream.write(json.dumps(report, sort_keys=True) + "\n")
    else:
        stream.write(
            f"{result.mismatched} of {result.total} pixels differ ({result.share * 100:.4f} %)\n"
        )
    if fail_over is not None and result.share > fail_over:
        return EXIT_FAILED
    return EXIT_OK
