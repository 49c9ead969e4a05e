"""`rb diff A.png B.png`: compare two images by the pixelmatch algorithm."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rb.errors import EXIT_FAILED, EXIT_OK, UsageError


def _load(path: str) -> Any:
    from rb.imagediff import decode_png

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return decode_png(data)
    except Exception:  # Pillow raises several kinds for a file that is not an image
        raise UsageError(f"{path} is not a PNG image") from None


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
    """Print how many pixels differ; 1 when their share passes `fail_over`."""
    from rb.imagediff import encode_png, pixelmatch

    out = out or sys.stdout
    first, second = _load(a), _load(b)
    if first.shape != second.shape:
        raise UsageError(
            f"images differ in size: {a} is {first.shape[1]}x{first.shape[0]}, "
            f"{b} is {second.shape[1]}x{second.shape[0]}"
        )
    result = pixelmatch(
        first, second, threshold=threshold, include_aa=include_aa, output=output is not None
    )
    if output is not None:
        Path(output).write_bytes(encode_png(result.diff))
    if output_format == "json":
        data = {
            "a": a,
            "b": b,
            "width": first.shape[1],
            "height": first.shape[0],
            "mismatched": result.mismatched,
            "total": result.total,
            "share": result.share,
            "threshold": threshold,
            "include_aa": include_aa,
            "diff": output,
        }
        out.write(json.dumps(data, sort_keys=True) + "\n")
    else:
        out.write(
            f"{result.mismatched} of {result.total} pixels differ ({result.share * 100:.4f} %)\n"
        )
    if fail_over is not None and result.share > fail_over:
        return EXIT_FAILED
    return EXIT_OK
