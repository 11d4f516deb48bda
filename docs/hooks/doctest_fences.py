"""A griffe extension for the API reference: docstring examples shown as code.

The docstrings are reStructuredText-flavoured and their examples are doctests
(``>>> grad(f)(3.0, 2.0)``), which Markdown would read as nested quotes.  This
puts each doctest block, from its first ``>>>`` line to the next blank line
(where doctest's expected output ends too), into a ```` ```pycon ```` fence.
mkdocs.yml loads it for mkdocstrings.
"""

from __future__ import annotations

import re
from typing import Any, List

from griffe import Extension, Object

PROMPT = re.compile(r"^(\s*)>>>")


def fence_doctests(text: str) -> str:
    """``text`` with every doctest block fenced as ``pycon`` code.

    >>> fence_doctests("Squares:\\n>>> 2 * 2\\n4\\n\\nMore.").splitlines()
    ['Squares:', '', '```pycon', '>>> 2 * 2', '4', '```', '', 'More.']
    """
    out: List[str] = []
    indent = None  # the indentation of the open block's prompt, None outside one
    for line in text.splitlines():
        prompt = PROMPT.match(line)
        if indent is None and prompt:
            indent = prompt.group(1)
            if out and out[-1].strip():
                out.append("")  # a fence starts a block of its own
            out.append(f"{indent}```pycon")
        elif indent is not None and not line.strip():
            out.append(f"{indent}```")
            indent = None
        out.append(line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(Extension):
    """Fences the doctests of every docstring griffe reads."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
