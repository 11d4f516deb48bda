"""Stage 6: IR -> Python source -> a compiled function.

Statements are printed straight to text (:mod:`s2s_ad.compiler.printing`, which
writes what ``ast.unparse`` would).  Temporaries read exactly
once are folded into the expression that reads them, so ``t9 = cos(x)``
followed by ``dx = g * t9`` prints as ``dx = g * cos(x)``; variables named by
the user and derivative variables (``dx``) always keep their line.  The
temporaries are written under stand-in names, and those left get their
final names from :mod:`s2s_ad.compiler.naming` (``t0, t1, ...``).

A comment names the user's source line above the statements derived from
it, once in each stretch of a block: the adjoint sweep of a line that ends
the primal sweep goes on under that line's comment, and a statement whose
line was already named in its block (a loop's restore after its branch, the
final ``return``) adds no second one.

The text is compiled once and registered with :mod:`linecache`, so tracebacks
and debuggers show it.  The emitted function runs in the user function's own
module globals; the few objects it needs that the module does not name (our
runtime helpers, NumPy when the user imported it under another name, the
user's closure variables) are bound as free variables, never written into the
user's module.
"""

from __future__ import annotations

import ast
import functools
import itertools
import keyword
import linecache
import re
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .. import rules
from . import ir, naming, printing
from .errors import Loc
from .header import header_lines, home_module
from .parse import Parsed, Resolver

CONVENTIONAL_ALIASES = {"numpy": "np", "math": "math"}

# Every emitted function by the file name it is compiled under, so that an
# exception raised inside one can be traced back to the user's line.
EMITTED: Dict[str, Emitted] = {}


@dataclass
class Emitted:
    """Emitted source and its compiled code, ready to bind to a user function."""

    name: str
    def_text: str  # the function's definition, as compiled
    filename: str  # the name it is registered under in linecache
    code: types.CodeType
    helpers: Dict[str, Any]
    resolver: Resolver  # what the free names of the user's function denote
    line_locs: Dict[int, Loc] = field(default_factory=dict)  # compiled line -> user line
    level: int = 1  # 1 for a derivative of user code, 2 for one of such code, ...

    @functools.cached_property
    def text(self) -> str:
        """What users read: the imports and definitions the code needs, then the def.

        Made when first read (``ad.source``, the CLI): finding the names the
        text reads takes a symbol table of the whole text, which running the
        code never needs.
        """
        header = header_lines(self.def_text, self.helpers, self.resolver)
        return "\n".join(header + ([""] if header else []) + [self.def_text]) + "\n"

    def bind(self, fn: Callable) -> Callable:
        """A function running this code in ``fn``'s globals and closure."""
        user_cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        cells = tuple(
            types.CellType(self.helpers[name]) if name in self.helpers else user_cells[name]
            for name in self.code.co_freevars
        )
        bound = types.FunctionType(self.code, fn.__globals__, self.name, None, cells)
        bound.__qualname__ = self.name
        bound.__module__ = fn.__module__
        return bound


class References:
    """Spells objects the emitted code calls, preferring the user's own names."""

    def __init__(self, parsed: Parsed, taken: Set[str]):
        self.resolver = parsed.resolver
        self.taken = taken
        self.helpers: Dict[str, Any] = {}
        self._spelled: Dict[int, str] = {}

    def callee(self, call: ir.Call) -> str:
        """How the emitted code names what ``call`` calls: a dotted name."""
        fn = call.fn.fn if isinstance(call.fn, rules.Opaque) else call.fn
        return self.spell(fn, call.spelling)

    def spell(self, obj: Any, spelling: Optional[str] = None) -> str:
        if spelling and self._denotes(spelling, obj):
            return spelling
        if id(obj) not in self._spelled:
            self._spelled[id(obj)] = self._find(obj)
        return self._spelled[id(obj)]

    def _denotes(self, dotted: str, obj: Any) -> bool:
        head, *rest = dotted.split(".")
        if head in self.helpers:
            value = self.helpers[head]
        elif head in self.taken:
            value = self.resolver.lookup(head)
        else:
            return False
        for attr in rest:
            value = getattr(value, attr, None)
        return value is obj

    def _user_name_of(self, obj: Any) -> Optional[str]:
        name = getattr(obj, "__name__", None)
        if isinstance(name, str) and self.resolver.lookup(name) is obj:
            return name
        for cell_name in self.resolver.cells:
            if self.resolver.lookup(cell_name) is obj:
                return cell_name
        for global_name, value in self.resolver.globals.items():
            if value is obj and global_name.isidentifier():
                return global_name
        return None

    def _find(self, obj: Any) -> str:
        direct = self._user_name_of(obj)
        if direct:
            self.taken.add(direct)
            return direct
        name = getattr(obj, "__name__", None)
        module = home_module(obj)
        in_module = module is not None and name and getattr(module, name, None) is obj
        if in_module and module.__name__ in CONVENTIONAL_ALIASES:
            module_name = self._user_name_of(module) or self._helper(
                CONVENTIONAL_ALIASES[module.__name__], module
            )
            self.taken.add(module_name)
            return f"{module_name}.{name}"
        base = rules.PREFERRED_NAMES.get(id(obj)) or name
        if not (isinstance(base, str) and base.isidentifier()):
            base = "fn"
        return self._helper(base, obj)

    def _helper(self, base: str, obj: Any) -> str:
        for name, value in self.helpers.items():
            if value is obj:
                return name
        name = base
        k = 1
        while name in self.taken or keyword.iskeyword(name):
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        self.helpers[name] = obj
        return name


class _Writer:
    """Writes one IR function as lines of Python."""

    def __init__(self, refs: References, naming_: naming.Naming, inline: bool):
        self.refs = refs
        self.generated = naming_.generated()
        self.shown = naming_.stand_in  # the stand-in each renamed variable is written under
        self.inline = inline
        self.lines: List[Tuple[str, Optional[Loc]]] = []
        self.reads = naming_.reads  # how often each variable is read, anywhere
        # the atoms each block reads, its nested blocks included, by id (with the block,
        # which keeps the id its own): every enclosing block asks for them
        self._reads_within: Dict[int, Tuple[List[ir.Stmt], Set[ir.Atom]]] = {}

    def function(self, fn: ir.Function, indent: int) -> None:
        pad = "    " * indent
        params = ", ".join(
            self.shown.get(p.name, p.name)
            + ("" if p.default is None else f"={self.text(p.default)}")
            for p in fn.params
        )
        self.lines.append((f"{pad}def {fn.name}({params}):", fn.loc))
        if fn.doc:
            self.lines.append((f'{pad}    """{fn.doc}"""', fn.loc))
        self.block(fn.body, indent + 1)

    def block(self, body: List[ir.Stmt], indent: int) -> None:
        _Block(self, body, indent).write()

    def name(self, var: ir.Var) -> str:
        """What ``var`` is written as: its stand-in, if it has one."""
        return self.shown.get(var.name, var.name)

    def text(self, atom: ir.Atom) -> str:
        """What ``atom`` is written as (``str`` of a constant)."""
        return self.name(atom) if isinstance(atom, ir.Var) else str(atom)

    def foldable(self, body: List[ir.Stmt], extra_reads: tuple = ()) -> Set[ir.Var]:
        """Temporaries read once, in this block, by a statement that is not nested.

        Without inlining, only the iterables of loops (``for i in reversed(t3):``), so
        that code transformed again still sees what it iterates.
        """
        loop_iterables = {s.iter for s in body if isinstance(s, ir.For)}
        if not self.inline and not loop_iterables:
            return set()
        here: Dict[ir.Var, int] = {a: 1 for a in extra_reads if isinstance(a, ir.Var)}
        nested: Set[ir.Atom] = set()
        for stmt in body:
            for a in ir.atoms_read(stmt):
                if isinstance(a, ir.Var):
                    here[a] = here.get(a, 0) + 1
            for block in ir.blocks_of(stmt):
                nested |= self.reads_within(block)
        result = set()
        for stmt in body:
            if (
                isinstance(stmt, ir.Assign)
                and stmt.target.name in self.generated
                and here.get(stmt.target) == 1
                and self.reads.get(stmt.target, 0) <= 1
                and stmt.target not in nested
                and isinstance(stmt.value, ir.Call)
                and rules.is_pure(stmt.value.fn)
            ):
                result.add(stmt.target)
        return result if self.inline else result & loop_iterables

    def reads_within(self, block: List[ir.Stmt]) -> Set[ir.Atom]:
        """The atoms the statements of ``block`` read, nested blocks included.

        Worked out once per block: each block's folding asks it of every block nested
        in it, and walking them each time cost as much as the blocks nest deep.
        """
        known = self._reads_within.get(id(block))
        if known is not None:
            return known[1]
        found: Set[ir.Atom] = set()
        for stmt in block:
            found.update(ir.atoms_read(stmt))
            for inner in ir.blocks_of(stmt):
                found |= self.reads_within(inner)
        self._reads_within[id(block)] = (block, found)
        return found


class _Block:
    """One block of statements at one indentation, folding temporaries into their use."""

    def __init__(self, writer: _Writer, body: List[ir.Stmt], indent: int):
        self.writer = writer
        self.body = body
        self.indent = indent
        self.pad = "    " * indent
        self.foldable = writer.foldable(body)
        self.pending: Dict[ir.Var, printing.Text] = {}
        self.pending_locs: Dict[ir.Var, Optional[Loc]] = {}
        # the pending expressions by the names they read, and by when they were held
        self.pending_readers: Dict[str, Set[ir.Var]] = {}
        self.pending_order: Dict[ir.Var, int] = {}
        self.held = itertools.count()
        self.last_line: Optional[int] = None  # the line whose comment the code is under
        self.commented: Set[int] = set()  # lines named in this stretch of the block

    def atom(self, a: ir.Atom) -> printing.Text:
        if a.__class__ is ir.Var:
            if a in self.pending:
                return self.take(a)
            return printing.variable(self.writer.name(a))
        if isinstance(a.value, types.FunctionType):
            # a local function passed on as a value (`key=lambda i: ...`)
            return printing.variable(self.writer.refs.spell(a.value, a.spelling))
        if a.spelling:
            return _spelled(a.spelling)
        return printing.constant(a.value)

    def expr(self, value: ir.Expr) -> printing.Text:
        if isinstance(value, ir.Load):
            if value.home is not None:  # an inlined callee's global
                home = printing.variable(self.writer.refs.spell(value.home))
                return printing.attribute(home, value.attr)
            return printing.variable(value.name)
        if isinstance(value, (ir.Var, ir.Const)):
            return self.atom(value)
        return printing.call_of(value, self.writer.refs.callee, self.atom)

    def line(self, text: str, loc: Optional[Loc]) -> None:
        if loc is not None and loc.source_line.strip():
            if loc.lineno != self.last_line and loc.lineno not in self.commented:
                comment = f"{self.pad}# line {loc.lineno}: {loc.source_line.strip()}"
                self.writer.lines.append((comment, loc))
            self.last_line = loc.lineno
            self.commented.add(loc.lineno)
        self.writer.lines.append((self.pad + text, loc))

    def hold(self, var: ir.Var, text: printing.Text, loc: Optional[Loc]) -> None:
        """Keep ``var``'s expression to fold into the statement that reads it."""
        if var in self.pending:
            self.take(var)  # a new expression for a name still pending keeps its place
        else:
            self.pending_order[var] = next(self.held)
        self.pending[var] = text
        self.pending_locs[var] = loc
        for name in text.names:
            self.pending_readers.setdefault(name, set()).add(var)

    def take(self, var: ir.Var) -> printing.Text:
        """The pending expression of ``var``, no longer pending."""
        text = self.pending.pop(var)
        for name in text.names:
            self.pending_readers[name].discard(var)
        return text

    def flush_readers_of(self, var: ir.Var) -> None:
        """Write out pending expressions that read ``var`` before it changes."""
        waiting = self.pending_readers.get(self.writer.name(var))
        if not waiting:
            return
        for reader in sorted(waiting, key=self.pending_order.__getitem__):
            text = self.take(reader)
            self.line(f"{self.writer.name(reader)} = {printing.top(text)}", None)

    def write(self) -> None:
        for stmt in self.body:
            self.statement(stmt)
        if all(isinstance(stmt, ir.Comment) for stmt in self.body):  # a block needs a statement
            self.writer.lines.append((self.pad + "pass", None))

    def statement(self, stmt: ir.Stmt) -> None:
        if isinstance(stmt, ir.Comment):  # a new stretch: the adjoint sweep, ...
            self.writer.lines.append((f"{self.pad}# {stmt.text}", None))
            self.commented = set()
        elif isinstance(stmt, ir.Function):
            self.writer.function(stmt, self.indent)
        elif isinstance(stmt, ir.Assign):
            value = stmt.value
            target = self.writer.name(stmt.target)
            if isinstance(value, ir.Load) and value.name == target and value.home is None:
                return  # a parameter that is its own variable
            loc = stmt.loc
            if isinstance(stmt.value, ir.Var) and stmt.value in self.pending:
                loc = self.pending_locs[stmt.value] or loc  # a copy shows what it copies
            text = self.expr(stmt.value)
            self.flush_readers_of(stmt.target)
            if stmt.target in self.foldable:
                self.hold(stmt.target, text, loc)
            else:
                self.line(f"{target} = {printing.top(text)}", loc)
        elif isinstance(stmt, ir.Accum):
            value = printing.top(self.atom(stmt.value))
            target = printing.variable(self.writer.name(stmt.target))
            if stmt.index is not None:
                target = printing.subscript(target, self.atom(stmt.index))
            self.flush_readers_of(stmt.target)
            sign = "-=" if stmt.subtract else "+="
            self.line(f"{printing.top(target)} {sign} {value}", stmt.loc)
        elif isinstance(stmt, ir.SetItem):
            value = printing.top(self.atom(stmt.value))
            shown = printing.variable(self.writer.name(stmt.target))
            target = printing.subscript(shown, self.atom(stmt.index))
            self.flush_readers_of(stmt.target)
            self.line(f"{printing.top(target)} = {value}", stmt.loc)
        elif isinstance(stmt, ir.Push):  # a stack that is a folded item: `dxs[0].append(v)`
            stack = printing.top(self.atom(stmt.stack))
            self.flush_readers_of(stmt.stack)
            value = printing.top(self.atom(stmt.value))
            self.line(f"{stack}.append({value})", stmt.loc)
        elif isinstance(stmt, ir.Pop):
            stack = printing.top(self.atom(stmt.stack))
            self.flush_readers_of(stmt.target)
            self.flush_readers_of(stmt.stack)
            self.line(f"{self.writer.name(stmt.target)} = {stack}.pop()", stmt.loc)
        elif isinstance(stmt, ir.Return):
            value = ir.map_tree(stmt.value, self.atom)
            self.line(f"return {printing.top(_tree(value))}", stmt.loc)
        elif isinstance(stmt, ir.Break):
            self.line("break", stmt.loc)
        elif isinstance(stmt, ir.If):
            self.structured(stmt, f"if {printing.top(self.atom(stmt.cond))}:")
        elif isinstance(stmt, ir.For):
            iterable = printing.top(self.atom(stmt.iter))
            header = f"for {self.writer.name(stmt.target)} in {iterable}:"
            self.structured(stmt, header)
        elif isinstance(stmt, ir.While):
            self.while_loop(stmt)

    def flush_written_inside(self, stmt: ir.Stmt) -> None:
        for inner in ir.walk([stmt]):
            for var in ir.targets_written(inner):
                self.flush_readers_of(var)

    def structured(self, stmt: ir.Stmt, header: str) -> None:
        self.flush_written_inside(stmt)
        self.line(header, stmt.loc)
        self.last_line = stmt.loc.lineno if stmt.loc else None
        if isinstance(stmt, ir.If):
            self.writer.block(stmt.body, self.indent + 1)
            if stmt.orelse:
                self.writer.lines.append((f"{self.pad}else:", None))
                self.writer.block(stmt.orelse, self.indent + 1)
        else:
            self.writer.block(stmt.body, self.indent + 1)
        self.last_line = None

    def while_loop(self, stmt: ir.While) -> None:
        self.flush_written_inside(stmt)
        test = _Block(self.writer, stmt.test, self.indent + 1)
        test.foldable = self.writer.foldable(stmt.test, extra_reads=(stmt.cond,))
        mark = len(self.writer.lines)
        for inner in stmt.test:
            test.statement(inner)
        if len(self.writer.lines) == mark:  # the test folded into one expression
            self.line(f"while {printing.top(test.atom(stmt.cond))}:", stmt.loc)
        else:
            test_lines = self.writer.lines[mark:]
            del self.writer.lines[mark:]
            self.line("while True:", stmt.loc)
            self.writer.lines.extend(test_lines)
            cond = printing.top(test.atom(stmt.cond))
            self.writer.lines.append((f"{self.pad}    if not {cond}:", None))
            self.writer.lines.append((f"{self.pad}        break", None))
        self.writer.block(stmt.body, self.indent + 1)
        self.last_line = None


@functools.lru_cache(maxsize=1024)
def _spelled(spelling: str) -> printing.Text:
    """The text of a constant the user named (``math.pi``)."""
    return printing.from_syntax(ast.parse(spelling, mode="eval").body)


def _tree(value) -> printing.Text:
    if value.__class__ is tuple:  # a Text is a (named) tuple too
        return printing.tuple_of([_tree(v) for v in value])
    return value


def emit(fn: ir.Function, parsed: Parsed, names: ir.Names, *, inline: bool) -> Emitted:
    """Source text and compiled code of an IR function."""
    shown_names = naming.Naming(fn, names)
    taken = set(names.taken) | set(shown_names.in_order) | {fn.name}  # every IR name
    refs = References(parsed, set(taken))
    writer = _Writer(refs, shown_names, inline)
    writer.function(fn, 0)
    writer.lines = shown_names.finish(writer.lines, reserved=refs.taken - taken)
    def_lines = [text for text, _ in writer.lines]
    cell_names = sorted(_names_in(def_lines) & set(parsed.resolver.cells))
    factory_locals = list(refs.helpers) + cell_names
    prologue = ["def __s2s_ad_factory__():"]
    if factory_locals:
        prologue.append("    " + " = ".join(factory_locals) + " = None")
    compiled_lines = prologue + ["    " + line if line else line for line in def_lines]
    compiled_text = "\n".join(compiled_lines) + "\n"
    filename = _unique_filename(
        f"s2s_ad {fn.name} of {parsed.filename}:{parsed.first_lineno}", compiled_text
    )
    code = compile(compiled_text, filename, "exec")
    factory = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(
        c for c in factory.co_consts if isinstance(c, types.CodeType) and c.co_name == fn.name
    )
    linecache.cache[filename] = (
        len(compiled_text),
        None,
        [line + "\n" for line in compiled_lines],
        filename,
    )
    offset = len(prologue)
    line_locs = {i + 1 + offset: loc for i, (_, loc) in enumerate(writer.lines) if loc}
    helpers = dict(refs.helpers)
    emitted = Emitted(
        fn.name,
        "\n".join(def_lines),
        filename,
        inner,
        helpers,
        parsed.resolver,
        line_locs,
        names.level,
    )
    EMITTED[filename] = emitted
    return emitted


def _unique_filename(base: str, text: str) -> str:
    """``<base>``, or ``<base #k>`` if another text (a variant for other argument kinds) has it."""
    filename, k = f"<{base}>", 1
    while filename in linecache.cache and "".join(linecache.cache[filename][2]) != text:
        k += 1
        filename = f"<{base} #{k}>"
    return filename


def _names_in(lines: List[str]) -> Set[str]:
    """Identifiers in ``lines``: a superset of their names (attributes and comments count too).

    Only compared with the closure's names, where an extra name costs nothing;
    a regular expression is several times faster than parsing the text again.
    """
    return set(_IDENTIFIER.findall("\n".join(lines)))


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
