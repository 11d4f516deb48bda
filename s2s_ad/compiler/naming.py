"""The names emitted code shows, chosen once the emitter knows what it shows.

The stages name variables as they create them: lowering numbers its
temporaries ``t0, t1, ...``, a derivative is named after its variable
(``dt4`` for ``t4``), and then the optimizer and the emitter's folding of
single-use temporaries remove most of those.  So the emitter writes the
code with stand-ins for those names (:class:`Naming`), sees which are left,
and puts in their final names:

* temporaries are numbered consecutively in order of first definition
  (``t0, t1, t2``, not ``t0, t2, t4, t5, t8``), after the highest ``tK`` the
  differentiated code itself has, so that none collides with it;
* the derivative of a shown temporary follows its renaming (``dt12`` becomes
  ``dt5`` when ``t12`` becomes ``t5``), and the derivative of a temporary
  that no longer appears is an ordinary temporary (``dt10`` becomes ``t9``):
  a ``dtK`` always has its ``tK`` in the code.  A pullback's parameter of
  that kind is ``dout``, as for a function returning a tuple;
* a temporary holding a value a stage named (the gradient of ``a`` that is
  the primal ``x + b``) is shown under that name, ``da``, when it is free.

Derivative names carry the level of the transform that made them
(:attr:`s2s_ad.compiler.ir.Names.prefix`).  At level 1, a derivative of the
user's code, the derivative of ``v`` is ``dv``: its tangent in forward
mode, its adjoint in reverse mode, as the lectures write ``dt4 += dt5 * t2``.
At level ``k`` >= 2, a transform of code s2s_ad emitted (forward mode over
the gradient behind ``hvp`` and ``hessian``), it is ``d{k}v`` for every
variable alike: in the Hessian-vector product of ``power``, ``d2A`` is the
direction for ``A``, ``d2result`` the tangent of ``result`` and ``d2dA`` the
tangent of the adjoint ``dA``, so ``dA += dresult * result`` has the
tangent ``d2dresult * result + d2result * dresult``: the lectures' rule, one
mark on each variable.  A second ``d`` would collide with the first level's
names (``dA`` is already the adjoint, so the tangent of ``A`` would be
``dA_1`` beside ``ddA``), another letter (``tA``) would read as a
temporary, and a numbered prefix serves any depth and either mode.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Set, Tuple

from . import ir
from .errors import Loc

Lines = List[Tuple[str, Optional[Loc]]]  # the emitter's lines of text and their user lines

_TEMPORARY = re.compile(r"t(\d+)")
_STAND_IN = re.compile(r"\b_s2s_ad_\d+_\b")


class Naming:
    """The temporaries of one function and their derivatives, renamed once they are written.

    :attr:`stand_in` gives the stand-in each such name is written under (the emitter
    writes the function with it; renaming the function's statements took a twentieth
    of a long function's transform); :meth:`finish` replaces the stand-ins of written
    lines by final names.
    """

    def __init__(self, fn: ir.Function, names: ir.Names):
        self.fn = fn
        self.names = names
        self.in_order, self.reads = _census(fn)
        every = set(self.in_order)
        self.derivatives = {
            n: names.primal_of[n] for n in every if names.primal_of.get(n) in names.generated
        }
        params = {p.name for p in fn.params}
        renamed = [n for n in self.in_order if n not in params]
        renamed = [n for n in renamed if n in names.generated or n in self.derivatives]
        self.stand_in = dict(zip(renamed, _stand_ins(len(renamed), names.taken)))
        self.kept = every - set(renamed)

    def generated(self) -> Set[str]:
        """The temporaries the emitter may fold (their own names, not the stand-ins)."""
        return {n for n in self.stand_in if n in self.names.generated}

    def finish(self, lines: Lines, reserved: Set[str]) -> Lines:
        """``lines`` of code (comments untouched) with final names for the stand-ins.

        ``reserved`` holds names the code uses besides the function's
        variables (the helpers it imports).
        """
        if not self.stand_in:
            return lines
        old_of = {new: old for old, new in self.stand_in.items()}
        shown = {old_of.get(m) for text, _ in lines for m in _STAND_IN.findall(text)}
        final = self.final_names(shown, self.kept | set(self.names.user) | reserved)

        def code(text: str) -> str:
            if text.lstrip().startswith("#"):
                return text
            return _STAND_IN.sub(lambda m: final.get(old_of.get(m[0]), m[0]), text)

        return [(code(text), loc) for text, loc in lines]

    def final_names(self, shown: Set[str], blocked: Set[str]) -> Dict[str, str]:
        """Old name -> final name of each shown temporary and derivative."""
        blocked = set(blocked)
        in_order = [n for n in self.in_order if n in shown]
        final: Dict[str, str] = {}
        has_shown_derivative = {p for d, p in self.derivatives.items() if d in shown}
        for old in in_order:
            wanted = self.names.suggested.get(old)
            if wanted and wanted not in blocked and old not in has_shown_derivative:
                final[old] = wanted
                blocked.add(wanted)
        counter = _first_free_number(self.names.user)
        cotangents = self._pullback_parameters() & set(self.derivatives)
        for old in in_order:
            if old in final or self.derivatives.get(old) in shown:
                continue  # a derivative of a shown temporary is named after it, below
            if old in cotangents:
                final[old] = _free("dout", blocked)
                continue
            while f"t{counter}" in blocked:
                counter += 1
            final[old] = f"t{counter}"
            blocked.add(final[old])
        for old in in_order:
            if old not in final:
                final[old] = _free(self.names.prefix + final[self.derivatives[old]], blocked)
        return final

    def _pullback_parameters(self) -> Set[str]:
        functions = (s for s in ir.walk(self.fn.body) if isinstance(s, ir.Function))
        return {p.name for f in functions for p in f.params}


def _stand_ins(count: int, taken: Set[str]) -> List[str]:
    """``count`` names ``_s2s_ad_K_``, none of them taken."""
    names: List[str] = []
    k = 0
    while len(names) < count:
        if f"_s2s_ad_{k}_" not in taken:
            names.append(f"_s2s_ad_{k}_")
        k += 1
    return names


def _free(name: str, blocked: Set[str]) -> str:
    """``name``, or ``name_1``, ``name_2``, ... if it is blocked; now blocked too."""
    candidate, k = name, 1
    while candidate in blocked:
        candidate, k = f"{name}_{k}", k + 1
    blocked.add(candidate)
    return candidate


def _first_free_number(user: Set[str]) -> int:
    """One more than the highest ``K`` of a ``tK`` in the differentiated code, else 0."""
    numbers = [int(m.group(1)) for m in map(_TEMPORARY.fullmatch, user) if m]
    return max(numbers) + 1 if numbers else 0


def _census(fn: ir.Function) -> Tuple[List[str], Dict[ir.Var, int]]:
    """Every variable of ``fn``, in the order the code first defines it (then reads it),
    and how often each variable is read (its parameters' defaults included).

    One walk for both: the emitter needs the counts, and a long function's walks add up.
    """
    defined: Dict[str, None] = dict.fromkeys(p.name for p in fn.params)
    read: Dict[str, None] = {}
    reads: Dict[ir.Var, int] = {}
    for atom in ir.atoms_read(fn):
        if atom.__class__ is ir.Var:
            reads[atom] = reads.get(atom, 0) + 1
    for stmt in ir.walk(fn.body):
        if stmt.__class__ is ir.Function:
            defined.update(dict.fromkeys(p.name for p in stmt.params))
        for var in ir.targets_written(stmt):
            defined.setdefault(var.name)
        for atom in ir.atoms_read(stmt):
            if atom.__class__ is ir.Var:
                read.setdefault(atom.name)
                reads[atom] = reads.get(atom, 0) + 1
    return list({**defined, **read}), reads
