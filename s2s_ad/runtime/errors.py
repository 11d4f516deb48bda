"""The one error users see when a function cannot be transformed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Loc:
    """Where a statement came from in the user's source file."""

    filename: str
    lineno: int
    col_offset: int = 0
    source_line: str = ""

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}"


class TransformError(Exception):
    """A function cannot be transformed: unsupported syntax, a call with no rule, ...

    Carries ``filename``, ``lineno`` and ``col_offset`` of the offending code; the
    message quotes the source line and says what to do about it.

    >>> err = TransformError("no rule", Loc("f.py", 3, 11, "    return g(x)"))
    >>> err.lineno
    3
    """

    def __init__(self, message: str, loc: Optional[Loc] = None, hint: str = ""):
        self.reason = message
        self.hint = hint
        self.filename = loc.filename if loc else None
        self.lineno = loc.lineno if loc else None
        self.col_offset = loc.col_offset if loc else None
        self.source_line = loc.source_line if loc else ""
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.filename}:{self.lineno}: " if self.filename else ""
        text = f"{where}{self.reason}"
        if self.source_line:
            line = self.source_line.rstrip()
            stripped = line.lstrip()
            caret_col = max(0, (self.col_offset or 0) - (len(line) - len(stripped)))
            text += f"\n    {stripped}\n    {' ' * caret_col}^"
        if self.hint:
            text += f"\n{self.hint}"
        return text
