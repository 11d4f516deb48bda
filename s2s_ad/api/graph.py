"""Pictures of the computation: the trace of ``f`` as a Graphviz graph.

:func:`graph` draws the three-address trace (what :func:`~s2s_ad.trace` prints) the
way AD lectures draw a computational graph: a node per value, labelled by the
statement that computes it (``t2 = x + a``); an edge from each operand to the value
computed from it, labelled with the local partial derivative (d t5 / d t2 = ``t4``),
taken from the derivative rules.  Reverse mode adds the adjoint flow: red dashed
edges pointing backwards, labelled with the adjoint statements
(``dt2 += dt5 * t4``), from the seed ``dt5 = 1`` to the gradients; forward mode the
tangent flow (``dt5 += dt2 * t4``).  Loop bodies and branches are drawn as dashed
clusters; a value assigned in a loop has an edge back to its uses in the body.

The graph is Graphviz DOT text, which needs nothing to produce; with the optional
``graphviz`` package (``pip install "s2s_ad[graph]"``) and the Graphviz program
``dot``, it renders to SVG or PNG and shows inline in Jupyter.

>>> def f(x, a, b):
...     return (x + a) * (x + b)
>>> picture = graph(f)
>>> print(next(line for line in picture.source.splitlines() if '"t2" -> "t5"' in line))
  "t2" -> "t5" [label="t4", class="partial", color="#555555", fontcolor="#555555"];
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

from ..compiler.lower import lower_function
from .arguments import Wrt, binding_of
from .drawing import Cluster, Drawing, Edge

GRAPH_MODES = ("reverse", "forward")
FORMATS = ("dot", "svg", "png", "pdf")
INSTALL_HINT = 'pip install "s2s_ad[graph]"'

# How each kind of edge and node is drawn (Drawing's kinds), and what the legend says.
ADJOINT_RED, TANGENT_BLUE = "#c0392b", "#2471a3"
EDGE_STYLES = {
    "partial": 'color="#555555", fontcolor="#555555"',
    "zero": 'style=dotted, color="#aaaaaa", arrowhead=empty',
    "adjoint": f'dir=back, style=dashed, color="{ADJOINT_RED}", fontcolor="{ADJOINT_RED}"',
    "tangent": f'style=dashed, color="{TANGENT_BLUE}", fontcolor="{TANGENT_BLUE}"',
}
NODE_STYLES = {
    "input": 'shape=ellipse, style=filled, fillcolor="#d6eaf8"',
    "constant": 'shape=ellipse, style=filled, fillcolor="#eeeeee", fontcolor="#555555"',
    "value": 'shape=box, style="rounded"',
    "output": 'shape=box, style="rounded,bold", peripheries=2',
    "derivative": "shape=plaintext",
}
DERIVATIVE_COLORS = {"reverse": ADJOINT_RED, "forward": TANGENT_BLUE}
LEGENDS = {
    "reverse": "black: local partials  |  red dashed: adjoint flow (reverse sweep)",
    "forward": "black: local partials  |  blue dashed: tangent flow (forward sweep)",
}


def graph(f: Callable, mode: str = "reverse", wrt: Wrt = 0) -> Graph:
    """The computational graph of ``f``'s trace, as Graphviz DOT text.

    Nodes are the values of the trace, labelled by the statements that compute
    them; edges carry the local partial derivatives.  ``mode="reverse"`` adds the
    adjoint flow (``dt2 += dt5 * t4``), ``mode="forward"`` the tangent flow, both
    for the parameters ``wrt``.  ``str()`` of the result is the DOT text; with the
    optional ``graphviz`` package it renders (``.render("f.svg")``) and shows inline
    in Jupyter.

    >>> def f(x, a):
    ...     return x * a
    >>> print(graph(f, mode="forward"))  # doctest: +ELLIPSIS
    digraph "f" {
    ...
      "x" -> "t2" [label="a", class="partial", ...];
      "x" -> "t2" [label="dt2 += dx * a", class="tangent", ...];
    ...
    """
    binding = binding_of(f, "graph")
    if mode not in GRAPH_MODES:
        raise TypeError(f"graph: mode must be one of {GRAPH_MODES}, got {mode!r}")
    names, _ = binding.wrt_names(wrt, "graph")
    f = binding.function
    drawing = Drawing(lower_function(f), names, mode)
    return Graph(dot_text(drawing), f"{f.__name__}, {mode} mode")


class Graph:
    """A computational graph: its DOT text, rendered on demand.

    ``str(graph)`` and ``graph.source`` are the DOT text.  :meth:`render` writes
    a file and :meth:`pipe` gives the bytes of a picture; both need the
    ``graphviz`` package and the Graphviz program ``dot``.  In Jupyter the graph
    shows as SVG.

    >>> g = Graph('digraph "f" {\\n}\\n', "f, reverse mode")
    >>> g
    <s2s_ad.Graph of f, reverse mode: str() gives the DOT text, .render(path) a picture>
    """

    def __init__(self, source: str, title: str):
        self.source = source
        self.title = title

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<s2s_ad.Graph of {self.title}: str() gives the DOT text, .render(path) a picture>"

    def pipe(self, format: str = "svg") -> bytes:
        """The picture as bytes in ``format`` (``"svg"``, ``"png"``, ``"pdf"``; ``"dot"``
        is the DOT text itself)."""
        _check_format(format)
        if format == "dot":
            return self.source.encode()
        graphviz = _graphviz()
        try:
            return graphviz.Source(self.source).pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(
                "rendering a graph needs the Graphviz program `dot`, which is not on PATH: "
                "install Graphviz (apt install graphviz, brew install graphviz or conda "
                "install graphviz); str(graph) is the DOT text, which needs nothing"
            ) from None

    def render(self, path: Union[str, Path], format: Optional[str] = None) -> Path:
        """Write the picture to ``path``; the format is ``format``, else the file's
        suffix (``.svg``, ``.png``, ``.pdf``, ``.dot``).  Returns the path."""
        path = Path(path)
        if format is None:
            format = path.suffix.lstrip(".").lower() or "svg"
            format = "dot" if format == "gv" else format
        path.write_bytes(self.pipe(format))
        return path

    def _repr_svg_(self) -> Optional[str]:
        """Jupyter's inline picture (None, so the text shows, without graphviz)."""
        try:
            return self.pipe("svg").decode()
        except (ImportError, RuntimeError):
            return None

    def _repr_mimebundle_(self, include=None, exclude=None) -> Dict[str, str]:
        svg = self._repr_svg_()
        bundle = {"text/plain": repr(self) if svg else self.source}
        if svg:
            bundle["image/svg+xml"] = svg
        return bundle


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise TypeError(f"graph: format must be one of {FORMATS}, got {format!r}")


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            f"rendering a graph needs the graphviz package: {INSTALL_HINT} (and the "
            "Graphviz program `dot`); str(graph) is the DOT text, which needs neither"
        ) from None
    return graphviz


# ------------------------------------------------------------------ DOT text


def dot_text(drawing: Drawing) -> str:
    """The DOT text of a drawing: one statement a line, nodes in their clusters, then edges."""
    name = drawing.low.parsed.name
    lines = [
        f"digraph {_quote(name)} {{",
        "  graph [rankdir=LR, labelloc=t, fontname=Helvetica, fontsize=12, "
        f"label={_quote(drawing.title + chr(10) + LEGENDS[drawing.mode])}];",
        "  node [fontname=Helvetica, fontsize=11];",
        "  edge [fontname=Helvetica, fontsize=10];",
    ]
    _dot_items(drawing, drawing.top.items, lines, "  ", [0])
    lines += [_dot_edge(edge) for edge in drawing.edges.values()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_items(drawing: Drawing, items: list, lines: List[str], pad: str, count: List[int]):
    for item in items:
        if isinstance(item, Cluster):
            count[0] += 1
            lines.append(f"{pad}subgraph cluster_{count[0]} {{")
            lines.append(f'{pad}  label={_quote(item.label)}; style=dashed; color="#999999";')
            _dot_items(drawing, item.items, lines, pad + "  ", count)
            lines.append(f"{pad}}}")
            continue
        node = drawing.nodes[item]
        style = NODE_STYLES[node.kind]
        if node.kind == "derivative":
            style += f', fontcolor="{DERIVATIVE_COLORS[drawing.mode]}"'
        tooltip = f", tooltip={_quote(node.tooltip)}" if node.tooltip else ""
        lines.append(
            f"{pad}{_quote(item)} [label={_quote(node.label)}, class={_quote(node.kind)}, "
            f"{style}{tooltip}];"
        )


def _dot_edge(edge: Edge) -> str:
    label = f"label={_quote(edge.label)}, " if edge.label else ""
    return (
        f"  {_quote(edge.tail)} -> {_quote(edge.head)} "
        f"[{label}class={_quote(edge.kind)}, {EDGE_STYLES[edge.kind]}];"
    )


def _quote(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, newlines as ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
