"""Stage 1: read a function's source and resolve the names it uses.

``parse(f)`` finds the source with :mod:`inspect`, dedents it, parses it with
gast and returns a :class:`Parsed` that knows, for every free name, the
Python object it denotes (module global, closure cell or builtin), so that
later stages find rules by object: ``np.exp``, ``numpy.exp`` and
``from numpy import exp`` are one primitive.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import io
import linecache
import os
import sys
import textwrap
import tokenize
import types
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import gast

from .errors import Loc, TransformError

NOT_FOUND = object()

SOURCE_NOT_AVAILABLE = (
    "s2s_ad reads a function's source code, which Python keeps for functions defined in "
    "files or modules, in IPython and Jupyter cells, and from Python 3.13 on at the REPL "
    "and in `python -c`, but not for exec() or the REPL and `python -c` of older Pythons.\n"
    "Move the function into a file, say model.py, and import it from there: "
    "`from model import {name}`."
)


class Resolver:
    """Looks up the free names of one function, as Python would at call time."""

    def __init__(self, fn: Callable):
        self.globals: Dict[str, Any] = fn.__globals__
        code = fn.__code__
        cells = fn.__closure__ or ()
        self.cells = dict(zip(code.co_freevars, cells))
        found = self.globals.get("__builtins__", builtins)
        self.builtins = found if isinstance(found, dict) else vars(found)

    def lookup(self, name: str) -> Any:
        """The object ``name`` denotes, or ``NOT_FOUND``."""
        if name in self.cells:
            try:
                return self.cells[name].cell_contents
            except ValueError:  # an empty cell: the name is not bound yet
                return NOT_FOUND
        if name in self.globals:
            return self.globals[name]
        return self.builtins.get(name, NOT_FOUND)

    def place(self, name: str) -> Optional[Tuple[Any, str]]:
        """Where emitted code reads the free name ``name``: None for under its own name
        (the emitted code runs in this function's globals and closure)."""
        return None


class InlinedResolver(Resolver):
    """The free names of a function inlined into another one (see ``lower/inlining.py``).

    ``aliases`` are the fresh names its body was given for free names its caller
    uses otherwise (fresh -> own name).  The emitted code runs in the caller's
    globals, so :meth:`place` reads the callee's globals through its module (or
    its closure cells through the cell) unless they are the caller's own.
    """

    def __init__(self, fn: Callable, aliases: Dict[str, str], home_globals: Dict[str, Any]):
        super().__init__(fn)
        self.aliases = aliases
        self.home_globals = home_globals
        self.module = _module_of(fn)

    def lookup(self, name: str) -> Any:
        return super().lookup(self.aliases.get(name, name))

    def place(self, name: str) -> Optional[Tuple[Any, str]]:
        own = self.aliases.get(name, name)
        if own in self.cells:
            return self.cells[own], "cell_contents"
        if own not in self.globals:
            return builtins, own
        if self.globals is self.home_globals and own == name:
            return None
        return self.module, own


class ModuleGlobals:
    """A function's globals, read by attribute, for a function whose module cannot be
    found by name (``exec``'d code): ``ModuleGlobals(g).x`` reads ``g['x']`` now."""

    def __init__(self, namespace: Dict[str, Any]):
        self.__dict__ = namespace


def _module_of(fn: Callable) -> Any:
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is not None and vars(module) is fn.__globals__:
        return module
    return ModuleGlobals(fn.__globals__)


@dataclass
class Parsed:
    fn: Callable
    node: gast.FunctionDef
    filename: str
    first_lineno: int  # file line number of the first line of the source
    indent: int  # columns removed by dedenting
    lines: List[str]  # the source lines, as in the file
    resolver: Resolver

    @property
    def name(self) -> str:
        return self.fn.__name__

    def loc(self, node: Optional[gast.AST]) -> Loc:
        """The user's file position of a node of the parsed tree."""
        lineno = getattr(node, "lineno", None) or 1
        col = (getattr(node, "col_offset", None) or 0) + self.indent
        index = lineno - 1
        text = self.lines[index] if 0 <= index < len(self.lines) else ""
        return Loc(self.filename, self.first_lineno + index, col, text.rstrip("\n"))

    def segment(self, node: gast.AST) -> str:
        """The source text of an expression node, on one line."""
        try:
            first, last = node.lineno - 1, node.end_lineno - 1
            start, end = node.col_offset + self.indent, node.end_col_offset + self.indent
        except (AttributeError, TypeError):
            return ""
        if first == last:
            return self.lines[first][start:end]
        parts = [self.lines[first][start:]]
        parts += self.lines[first + 1 : last]
        parts.append(self.lines[last][:end])
        return " ".join(p.strip() for p in parts)


def parse(fn: Callable) -> Parsed:
    """Parse a Python function into a gast tree with its names resolved.

    >>> def f(x):
    ...     return x * x
    >>> parse(f).node.name
    'f'
    """
    if not inspect.isfunction(fn):
        raise TypeError(
            f"expected a Python function defined with def or lambda, got {type(fn).__name__}"
        )
    code = fn.__code__
    # The code object where the function has ``__wrapped__`` (functools.wraps): inspect
    # follows it to another function, whose derivative is not ours.  The function itself
    # otherwise: inspect finds its module by ``__module__``, where from a code object it
    # finds it by file, and the first time, resolves the file of every module imported.
    source_of = code if hasattr(fn, "__wrapped__") else fn
    try:
        lines, first_lineno = inspect.getsourcelines(source_of)
    except (OSError, TypeError) as exc:
        raise TransformError(
            f"the source of {fn.__name__!r} is not available ({exc})",
            Loc(code.co_filename, code.co_firstlineno),
            hint=SOURCE_NOT_AVAILABLE.format(
                name=fn.__name__ if fn.__name__.isidentifier() else "f"
            ),
        ) from None
    _refuse_edited_file(fn)
    source = "".join(lines)
    dedented = textwrap.dedent(source)
    indent = _indent_removed(source, dedented)
    filename = code.co_filename
    tree = _parse_text(dedented, filename, first_lineno)
    where = Loc(filename, first_lineno, 0, lines[0] if lines else "")
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TransformError(
            "`async def` functions cannot be differentiated", where, "write a plain `def`"
        )
    node = _find_definition(tree, code, first_lineno, indent, where)
    if node is None:
        raise TransformError(
            f"could not find the definition of {fn.__name__!r} in its source",
            where,
            hint="define the function with a plain `def` or a single lambda on its line.",
        )
    _refuse_cut_source(code, first_lineno + len(lines) - 1, where)
    return Parsed(fn, node, filename, first_lineno, indent, lines, Resolver(fn))


def _refuse_edited_file(fn: Callable) -> None:
    """A TransformError if ``fn``'s file on disk no longer compiles to the code that runs.

    ``inspect`` reads the file as it is now; after an edit without a reload,
    differentiating that text would differentiate code that does not run.
    The file is compiled whole (so closures compile as they did) and the code
    object defined at ``fn``'s line is compared with ``fn``'s.
    """
    code = fn.__code__
    filename = code.co_filename
    if not os.path.isfile(filename):  # an interactive cell or exec'd text: nothing to edit
        return
    if any(name.startswith("@py_assert") for name in code.co_varnames):
        return  # pytest rewrote its `assert`s: the file's text is what it ran, no longer its code
    compiled = _compiled_file(filename)
    if compiled is None and not filename.endswith(".py"):
        return  # code from another kind of file (a README's examples): nothing to compare
    same_place = (compiled or {}).get((code.co_name, code.co_firstlineno), [])
    if not any(candidate == code for candidate in same_place):
        raise TransformError(
            f"the file defining {fn.__name__!r} has changed since its module was loaded: "
            "the code that runs is not the code in the file",
            Loc(filename, code.co_firstlineno),
            hint="reload the module (importlib.reload(module)) or restart Python, "
            "then differentiate again",
        )


_COMPILED: Dict[str, Tuple[List[str], Optional[Dict[tuple, list]]]] = {}


def _compiled_file(filename: str) -> Optional[Dict[tuple, list]]:
    """The code objects a file's current text defines, by (name, first line)."""
    lines = linecache.getlines(filename)  # inspect has just refreshed the cache
    cached = _COMPILED.get(filename)
    if cached is not None and cached[0] is lines:
        return cached[1]
    try:
        module = compile("".join(lines), filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        by_place = None
    else:
        by_place = {}
        pending = [module]
        while pending:
            code = pending.pop()
            by_place.setdefault((code.co_name, code.co_firstlineno), []).append(code)
            pending += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    _COMPILED[filename] = (lines, by_place)
    return by_place


def _refuse_cut_source(code, last_lineno: int, where: Loc) -> None:
    """A TransformError if the code runs lines past the source ``inspect`` gave.

    ``inspect`` gives a lambda's lines up to where the first line could end: for
    ``lambda x: x`` continued by ``* 3.0`` on the next line, without brackets, it
    gives ``lambda x: x``, which parses, and differentiating it would be silently wrong.
    """
    last_run = max((line for _, line in dis.findlinestarts(code) if line), default=0)
    if last_run > last_lineno:
        raise TransformError(
            f"the source s2s_ad can read of this function ends at line {last_lineno}, "
            f"but its code runs to line {last_run}",
            where,
            "put the lambda's body in parentheses, or define the function with `def`",
        )


def _indent_removed(source: str, dedented: str) -> int:
    for original, stripped in zip(source.splitlines(), dedented.splitlines()):
        if stripped.strip():
            return len(original) - len(stripped)
    return 0


def _parse_text(text: str, filename: str, first_lineno: int) -> gast.Module:
    """The parsed text, its nodes at the text's own line numbers."""
    try:
        return gast.parse(text)
    except SyntaxError as exc:
        error = exc
    # A lambda inside a larger expression: getsource gives whole lines, which
    # may start or end mid-expression.  Retry with the text wrapped in brackets,
    # then with only the lambdas kept (``f(\n    lambda t: t * x, order=3\n)``).
    for attempt in (text, only_lambdas(text)):
        try:
            tree = gast.parse("(\n" + attempt + "\n)")
        except SyntaxError:
            continue
        for node in gast.walk(tree):  # the line the bracket took
            for field in ("lineno", "end_lineno"):
                if getattr(node, field, None) is not None:
                    setattr(node, field, getattr(node, field) - 1)
        return tree
    raise TransformError(
        f"cannot parse the source of this function: {error.msg}",
        Loc(filename, first_lineno),
    )


def only_lambdas(text: str) -> str:
    """``text`` with everything but its lambdas blanked out, each lambda followed by a
    comma: a tuple of them once bracketed, at the lines and columns where they stand.

    >>> only_lambdas("    lambda t: f(t, 2), order=3)")
    '    lambda t: f(t, 2),          '
    """
    lines = text.split("\n")
    kept = [[" " if c != "\n" else c for c in line] for line in lines]
    for (row, col), (end_row, end_col) in _lambda_spans(text):
        for r in range(row, end_row + 1):
            start = col if r == row else 0
            stop = end_col if r == end_row else len(lines[r])
            kept[r][start:stop] = lines[r][start:stop]
        kept[end_row].insert(end_col, ",")
    return "\n".join("".join(line) for line in kept)


def _lambda_spans(text: str) -> List[Tuple[Tuple[int, int], Tuple[int, int]]]:
    """Where each lambda expression in ``text`` starts and ends, as (row from 0, column)
    pairs: it ends at a comma, colon, ``for`` or newline outside brackets after its own
    colon, or at a closing bracket it did not open."""
    tokens = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError):
        pass  # brackets left open at the end of the text: the tokens so far
    spans = []
    for k, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string != "lambda":
            continue
        depth, in_body, end = 0, False, None
        for later in tokens[k + 1 :]:
            closes = later.string in ")]}"
            ends = later.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (
                depth == 0 and ((closes) or (in_body and later.string in (",", ":", "for")))
            )
            if ends:
                end = later.start
                break
            if later.string in "([{" and later.type == tokenize.OP:
                depth += 1
            elif closes and later.type == tokenize.OP:
                depth -= 1
            elif later.string == ":" and depth == 0:
                in_body = True
        if end is None and tokens:
            end = tokens[-1].end
        if end is not None:
            spans.append(((token.start[0] - 1, token.start[1]), (end[0] - 1, end[1])))
    return spans


def _find_definition(
    tree: gast.Module, code, line_zero: int, indent: int, where: Loc
) -> Optional[gast.FunctionDef]:
    """The FunctionDef of ``code`` (a lambda is rewritten into one).

    ``line_zero`` is the file line number of line 1 of the parsed text.
    """
    if code.co_name != "<lambda>":
        # The source is the def's own lines: it stands at the top, which the walk below
        # (breadth first) would reach first; a long body is not walked to find it.
        found = _def_at(tree.body, code, line_zero)
        if found is not None:
            return found
        defs = [
            n for n in gast.walk(tree) if isinstance(n, gast.FunctionDef) and n.name == code.co_name
        ]
        return _def_at(defs, code, line_zero) or (defs[0] if len(defs) == 1 else None)
    wanted = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    candidates = []
    for node in gast.walk(tree):
        if isinstance(node, gast.Lambda):
            names = tuple(a.id for a in node.args.posonlyargs + node.args.args)
            names += tuple(a.id for a in node.args.kwonlyargs)
            if names == wanted:
                candidates.append(node)
    if len(candidates) > 1:
        candidates = _lambdas_at(candidates, code, line_zero, indent)
    if len(candidates) > 1:
        raise TransformError(
            "several lambdas with the same parameters stand on this line; "
            "s2s_ad cannot tell which one it is given",
            where,
            "define the function with `def`, or put each lambda on its own line",
        )
    if not candidates:
        return None
    node = candidates[0]
    ret = gast.Return(value=node.body)
    gast.copy_location(ret, node.body)
    fields = dict(name="<lambda>", args=node.args, body=[ret], decorator_list=[])
    # Other fields differ between gast versions (type_params arrived with 3.12).
    for name in gast.FunctionDef._fields:
        fields.setdefault(name, [] if name == "type_params" else None)
    fdef = gast.FunctionDef(**fields)
    return gast.copy_location(fdef, node)


def _def_at(nodes: List[gast.AST], code, line_zero: int) -> Optional[gast.FunctionDef]:
    """The first of ``nodes`` that defines ``code``: a def of its name at its first line."""
    for node in nodes:
        if not isinstance(node, gast.FunctionDef) or node.name != code.co_name:
            continue
        # Decorators move co_firstlineno to the first decorator line.
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if first + line_zero - 1 == code.co_firstlineno:
            return node
    return None


def _lambdas_at(candidates: list, code, line_zero: int, indent: int) -> list:
    """The lambdas whose body holds the code's first source position (Python 3.11+)."""
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return candidates
    for line, _, col, end_col in positions():
        if line is None or col is None or col == end_col:  # RESUME and friends
            continue
        line, col = line - line_zero + 1, col - indent
        return [
            node
            for node in candidates
            if (node.body.lineno, node.body.col_offset)
            <= (line, col)
            <= (node.body.end_lineno, node.body.end_col_offset)
        ]
    return candidates


def dotted_name(node: gast.AST) -> Optional[Tuple[str, ...]]:
    """``np.linalg.norm`` as ('np', 'linalg', 'norm'), or None if not a pure chain."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return None
