"""PNG files as RGBA NumPy arrays.

Decoding goes through Pillow (C): a 1920x1080 screenshot decodes in about
30 ms, where the pure-Python `pypng` takes about 0.8 s; several files load in
parallel threads (Pillow's decoder releases the GIL). Every PNG colour type
comes back as 8-bit RGBA: grey, palette (with its transparency), RGB and
grey+alpha are expanded; of 16-bit samples the high byte is kept, as Pillow
does for 16-bit colour.

Encoding is written here: RGBA rows without PNG filtering, compressed with
zlib at level 1, which for diff images (flat grey, few colours) is about
2.5 times faster than Pillow's encoder at the same level and about as small.
benchmarks/bench_imagediff.py measures these choices.
"""

from __future__ import annotations

import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rb.errors import UsageError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from rb.imagediff import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IDAT_SIZE = 1 << 22  # bytes of compressed data per IDAT chunk


def load_png(path: str | Path) -> Image:
    """Read a PNG file as a (height, width, 4) uint8 RGBA array.

    A missing or unreadable file, a file that is not a PNG and a damaged PNG
    raise UsageError naming the path.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_png(data, name=str(path))


def load_pngs(*paths: str | Path) -> list[Image]:
    """load_png for several files, decoded in parallel; errors as load_png's, first path first."""
    if len(paths) < 2:
        return [load_png(path) for path in paths]
    with ThreadPoolExecutor(max_workers=len(paths) - 1) as pool:
        later = [pool.submit(load_png, path) for path in paths[1:]]
        images = [load_png(paths[0])]  # an error here waits for the others, then raises
        images += [future.result() for future in later]  # raises the first one that failed
    return images


def save_png(path: str | Path, array: Image, *, compress_level: int = 1) -> None:
    """Write a (height, width, 4) uint8 RGBA array as a PNG file."""
    data = encode_png(array, compress_level=compress_level)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def decode_png(data: bytes, *, name: str = "image") -> Image:
    """PNG bytes to a (height, width, 4) uint8 RGBA array; UsageError if not a PNG."""
    from PIL import Image as PIL

    if not data.startswith(PNG_SIGNATURE):
        raise UsageError(f"{name} is not a PNG image")
    try:
        with PIL.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            return _rgba(image)
    except (OSError, SyntaxError, ValueError, PIL.DecompressionBombError) as exc:
        raise UsageError(f"{name} is not a readable PNG image: {exc}") from None


def encode_png(array: Image, *, compress_level: int = 1) -> bytes:
    """A (height, width, 4) uint8 RGBA array to PNG bytes (8-bit RGBA, no filtering)."""
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 4:
        raise ValueError(
            f"expected a uint8 RGBA array (height, width, 4), got {array.dtype} {array.shape}"
        )
    height, width = array.shape[:2]
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise ValueError(f"a PNG image needs 1 to 2**31-1 rows and columns, got {width}x{height}")
    rows = np.empty((height, width * 4 + 1), np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = array.reshape(height, width * 4)
    compressed = zlib.compress(rows.data, compress_level)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    parts = [PNG_SIGNATURE, _chunk(b"IHDR", header)]
    for start in range(0, len(compressed), _IDAT_SIZE):
        parts.append(_chunk(b"IDAT", compressed[start : start + _IDAT_SIZE]))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _rgba(image: PILImage) -> Image:
    """A new, writable RGBA array of the image's pixels."""
    if image.mode == "RGBA":
        return np.array(image, dtype=np.uint8)
    if image.mode.startswith("I"):  # 16-bit grey ("I;16", "I"): keep the high byte
        grey = (np.asarray(image).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8)
        rgba = np.empty((*grey.shape, 4), np.uint8)
        rgba[..., :3] = grey[..., None]
        rgba[..., 3] = 255
        return rgba
    return np.array(image.convert("RGBA"), dtype=np.uint8)
