"""An mkdocs hook: links from the pages to files of the repository outside docs/.

``[`s2s_ad/rules/numpy.py`](../s2s_ad/rules/numpy.py)`` opens the file on GitHub,
but the site holds only docs/, so ``mkdocs build --strict`` would refuse it.  On
the site such a link becomes its text alone, or a link into the repository when
mkdocs.yml sets ``repo_url``.  A link to a file that does not exist is left
alone, for mkdocs to report: a warning, which fails the strict build.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
URL_OR_ANCHOR = re.compile(r"^([a-z][a-z0-9+.-]*:|#|/)")
FENCE = re.compile(r"^\s*(```|~~~)")


def outside_link(text: str, path: str, fragment: str, repo_url: str) -> str:
    """The site's version of a link to the repository file ``path``.

    >>> outside_link("`a.py`", "s2s_ad/a.py", "", "")
    '`a.py`'
    >>> outside_link("a", "s2s_ad/a.py", "L3", "https://example.org/u/r/")
    '[a](https://example.org/u/r/blob/HEAD/s2s_ad/a.py#L3)'
    """
    if not repo_url:
        return text
    anchor = f"#{fragment}" if fragment else ""
    return f"[{text}]({repo_url.rstrip('/')}/blob/HEAD/{path}{anchor})"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Rewrite the page's links that leave docs/ (outside code blocks)."""
    docs_dir = Path(config["docs_dir"]).resolve()
    page_dir = (docs_dir / page.file.src_path).parent

    def replace(match: re.Match) -> str:
        text, target = match.group("text"), match.group("target")
        path, _, fragment = target.partition("#")
        if URL_OR_ANCHOR.match(target) or not path:
            return match.group(0)
        resolved = Path(os.path.normpath(page_dir / path))
        if docs_dir in resolved.parents or not resolved.exists():
            return match.group(0)  # a page of the site, or broken: mkdocs checks it
        inside = resolved.relative_to(docs_dir.parent).as_posix()
        return outside_link(text, inside, fragment, config.get("repo_url") or "")

    lines, in_code = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            in_code = not in_code
        lines.append(line if in_code else LINK.sub(replace, line))
    return "\n".join(lines)
