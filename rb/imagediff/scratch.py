"""Work arrays reused from one pixelmatch call to the next.

A 1080p comparison makes a few dozen temporary arrays of hundreds of
kilobytes to megabytes. Fresh from the allocator, each page of them costs a
page fault (the kernel hands out zeroed pages), and measured on the benchmark
page that was 4,300 faults and about a third of the CPU time of a call. A
`Scratch` keeps its arrays, so the second call on a similar image touches
pages that are already mapped. Scratches are pooled: one per call running at
the same time, _KEEP of them kept (more only if calls end at the same
moment), each only while under _KEEP_BYTES of address space (of which only
the pages a call touched are resident).
Nothing from a scratch is ever handed to the caller.

Gathers into a scratch array use np.take(..., out=..., mode="clip"): the
indices are always in range, and in its default mode np.take writes through
a temporary buffer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import numpy.typing as npt

_T = TypeVar("_T", bound=np.generic)

_KEEP = 1  # pooled scratches: calls at once beyond this get a fresh one
_KEEP_BYTES = 128 << 20  # a larger scratch is dropped (1080p screenshots: 70-80 MiB)
_GROWTH = 1.25  # headroom when a buffer grows, so the next similar call reuses it


class Scratch:
    """Named buffers; each name gives one array, valid until asked for again."""

    def __init__(self) -> None:
        self._buffers: dict[str, npt.NDArray[np.uint8]] = {}

    def array(self, name: str, shape: int | tuple[int, ...], dtype: type[_T]) -> npt.NDArray[_T]:
        """An uninitialised array of `shape`, backed by the buffer `name`.

        Two arrays alive at once must have different names. The background
        thread uses its own names, so it may share the scratch.
        """
        kind = np.dtype(dtype)
        nbytes = (shape if isinstance(shape, int) else math.prod(shape)) * kind.itemsize
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            # headroom only once a buffer has proved too small
            size = nbytes if buffer is None else int(nbytes * _GROWTH)
            buffer = np.empty(max(size, 64), np.uint8)
            self._buffers[name] = buffer
        view: npt.NDArray[_T] = buffer[:nbytes].view(kind).reshape(shape)
        return view

    @property
    def nbytes(self) -> int:
        """The bytes this scratch holds."""
        return sum(b.size for b in self._buffers.values())


_pool: list[Scratch] = []  # list.pop and list.append are atomic: no lock to fork with


@contextmanager
def borrow() -> Iterator[Scratch]:
    """A scratch for one call: from the pool, returned to it afterwards."""
    try:
        taken = _pool.pop()
    except IndexError:
        taken = Scratch()
    try:
        yield taken
    finally:
        # two calls ending at once may both see room: the pool is a cache, one extra is harmless
        if taken.nbytes <= _KEEP_BYTES and len(_pool) < _KEEP:
            _pool.append(taken)
