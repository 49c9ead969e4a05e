"""Errors raised by expression parsing and evaluation."""

from __future__ import annotations

from rb.errors import RbError


class ExpressionError(RbError):
    """An expression that cannot be parsed or evaluated.

    `offset` is the character offset inside the expression source where the
    problem is, when known; callers turn it into a file position.
    """

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
