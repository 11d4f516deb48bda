"""Stage 6, emit: IR as Python source, compiled, registered and bound to the user's function.

What goes in is a transformed IR function with the parsed user function;
what must come out is readable text (single-use temporaries folded into the
expression that reads them, user and derivative variables on lines of their
own, ``# line N:`` comments quoting the user's lines, imports of the helpers
at the top, a docstring naming the original) and code compiled from it,
registered with :mod:`linecache` so that tracebacks show it, running in the
user's globals and closure without writing into the user's module.
"""

import ast
import linecache
import math
import os
import re
import traceback

import numpy as np
import pytest

from s2s_ad.compiler import emit as emit_module
from s2s_ad.compiler import pipeline
from s2s_ad.compiler.emit import emit
from s2s_ad.compiler.forward import forward
from s2s_ad.compiler.lower import lower_function
from s2s_ad.compiler.optimize import optimize
from s2s_ad.compiler.reverse import reverse
from s2s_ad.compiler.spec import Spec

from conftest import import_source

SOURCE = """
import math

import numpy as npx


def fold(x, a):
    y = math.sin(x)
    return y * a + x * a


def logarithm(x):
    y = math.log(x)
    return y * y


def arrays(x, w):
    return npx.sum(npx.exp(x) * w)


def loop(x, n):
    for i in range(n):
        x = math.sin(x) * x
    return x


def until_large(x):
    while x < 10.0:
        x = x * 1.7
    return x


def make_scaled(scale):
    def scaled(x):
        return x * x * scale

    return scaled
"""

LINE_COMMENT = re.compile(r"^\s*# line (\d+): (.*)$")


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return import_source(SOURCE, tmp_path_factory.mktemp("emit"))


def build(fn, mode, wrt, kinds, optimize=True):
    return pipeline.build(fn, Spec(mode, wrt, kinds, optimize=optimize))


def emitted_by_hand(fn, spec, inline):
    """The stages run one by one, as the pipeline does, with folding chosen separately."""
    low = lower_function(fn)
    transform = reverse if spec.mode.is_reverse else forward
    result = transform(low, spec)
    if spec.optimize:
        result = optimize(result)
    return emit(result, low.parsed, low.names, inline=inline)


def loads(text):
    """How often each name is read in ``text``."""
    counts = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def assigned(text):
    return [
        target.id
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]


def temporaries(text):
    return [name for name in assigned(text) if re.fullmatch(r"t\d+", name)]


# ------------------------------------------------------------------ folding


def derivative_temporaries(text):
    """Temporaries that hold derivatives: their value reads a derivative (``dx``, ``dt2``) or
    another such temporary.  Derivatives keep their own lines (one chain-rule step a line);
    the naming stage gives those of folded values plain ``tK`` names."""
    values = {
        node.targets[0].id: {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    found = set()
    for name, reads in values.items():  # in order of definition
        if re.fullmatch(r"t\d+", name) and any(
            r in found or re.fullmatch(r"d[a-z_]\w*", r) for r in reads
        ):
            found.add(name)
    return found


@pytest.mark.parametrize("mode", ["jvp", "grad", "vjp"])
def test_single_use_temporaries_are_folded_into_their_reader(m, mode):
    emitted = build(m.fold, mode, ("x", "a"), ("scalar", "scalar"))
    reads = loads(emitted.text)
    derivatives = derivative_temporaries(emitted.text)
    primal = [name for name in temporaries(emitted.text) if name not in derivatives]
    for name in primal:
        assert reads.get(name, 0) >= 2, (name, emitted.text)


def test_without_folding_every_temporary_keeps_its_line(m):
    spec = Spec("jvp", ("x", "a"), ("scalar", "scalar"))
    folded = emitted_by_hand(m.fold, spec, inline=True)
    plain = emitted_by_hand(m.fold, spec, inline=False)
    assert len(temporaries(plain.text)) > len(temporaries(folded.text))
    assert any(loads(plain.text).get(t) == 1 for t in temporaries(plain.text))
    args = (0.3, 1.7, 1.0, 0.5)
    assert folded.bind(m.fold)(*args) == pytest.approx(plain.bind(m.fold)(*args))


def test_user_and_derivative_variables_keep_their_lines(m):
    text = build(m.fold, "jvp", ("x", "a"), ("scalar", "scalar")).text
    assert re.search(r"^\s*y = math\.sin\(x\)$", text, re.M)
    assert re.search(r"^\s*dy = ", text, re.M)  # read once, but a derivative: not folded
    assert loads(text)["dy"] == 1


def test_a_while_test_of_one_expression_stays_in_the_header(m):
    text = build(m.until_large, "grad", ("x",), ("scalar",)).text
    assert re.search(r"^\s*while x < 10\.0:$", text, re.M)
    assert "while True" not in text


# ------------------------------------------------------------------ comments


@pytest.mark.parametrize("mode", ["jvp", "grad", "vjp"])
def test_line_comments_quote_the_users_lines(m, mode):
    text = build(m.loop, mode, ("x",), ("scalar", "scalar")).text
    quoted = [LINE_COMMENT.match(line) for line in text.splitlines()]
    quoted = [(int(q.group(1)), q.group(2)) for q in quoted if q]
    assert quoted
    for lineno, source in quoted:
        assert linecache.getline(m.__file__, lineno).strip() == source
    first = m.loop.__code__.co_firstlineno
    assert {lineno for lineno, _ in quoted} >= {first + 1, first + 2}


def test_a_comment_stands_above_the_statements_of_its_line(m):
    text = build(m.logarithm, "grad", ("x",), ("scalar",)).text
    lines = text.splitlines()
    k = next(k for k, line in enumerate(lines) if line.strip() == "y = math.log(x)")
    assert LINE_COMMENT.match(lines[k - 1]).group(2) == "y = math.log(x)"


# ------------------------------------------------------------------ the text


def test_helpers_are_imported_at_the_top_of_the_text(m):
    emitted = build(m.arrays, "grad", ("x", "w"), ("unknown", "unknown"))
    header, _, rest = emitted.text.partition("\n\ndef ")
    imports = [line for line in header.splitlines() if line.startswith("from ")]
    assert imports and all(line.startswith("from s2s_ad.runtime") for line in imports)
    imported = {name.strip() for line in imports for name in line.split(" import ")[1].split(",")}
    assert imported == set(emitted.helpers)
    assert rest.startswith(f"{emitted.name}(x, w):")


def test_no_helpers_only_the_users_modules_are_imported(m):
    text = build(m.fold, "jvp", ("x",), ("scalar", "scalar")).text
    assert text.startswith("import math\n\ndef fold_jvp(x, a, dx):\n")


def test_the_users_alias_is_used_and_imported_as_the_user_did(m):
    text = build(m.arrays, "jvp", ("x",), ("array", "array")).text
    assert "npx.exp(" in text
    assert text.splitlines()[0] == "import numpy as npx"
    assert "np." not in text


def test_a_module_the_user_did_not_import_is_imported_in_the_text(tmp_path):
    m = import_source("from math import sin\n\n\ndef f(x):\n    return sin(x)\n", tmp_path)
    before = dict(vars(m))
    emitted = build(m.f, "grad", ("x",), ("scalar",))
    assert "import math" in emitted.text.split("\n\ndef ")[0]
    assert "math.cos(x)" in emitted.text
    assert emitted.bind(m.f)(0.5) == pytest.approx(math.cos(0.5))
    assert vars(m).keys() == before.keys()  # nothing written into the user's module


@pytest.mark.parametrize("mode", ["jvp", "tangent", "derivative", "grad", "value_and_grad", "vjp"])
def test_the_text_as_shown_runs_like_the_bound_code(m, mode):
    wrt = ("x",)
    emitted = build(m.loop, mode, wrt, ("scalar", "scalar"))
    namespace = dict(vars(m))
    exec(compile(emitted.text, "<shown>", "exec"), namespace)
    args = (0.8, 3) + ((1.0,) if mode in ("jvp", "tangent") else ())
    shown, bound = namespace[emitted.name](*args), emitted.bind(m.loop)(*args)
    if mode == "vjp":
        assert shown[0] == bound[0] and shown[1](1.0) == bound[1](1.0)
    else:
        assert shown == bound


@pytest.mark.parametrize("mode", ["jvp", "grad", "vjp"])
@pytest.mark.parametrize("function", ["loop", "arrays"])
def test_the_text_as_shown_runs_in_a_namespace_of_its_own(m, mode, function):
    """Not in the user's module: the text imports math, numpy as npx and the helpers itself."""
    fn = getattr(m, function)
    emitted = build(fn, mode, ("x",), ("scalar", "scalar"))
    namespace = {}
    exec(compile(emitted.text, "<shown>", "exec"), namespace)
    args = (0.8, 3) + ((1.0,) if mode == "jvp" else ())
    shown, bound = namespace[emitted.name](*args), emitted.bind(fn)(*args)
    if mode == "vjp":
        assert shown[0] == bound[0] and shown[1](1.0) == bound[1](1.0)
    else:
        assert shown == bound


# ------------------------------------------------------------------ the function


@pytest.mark.parametrize(
    "mode, what",
    [
        ("grad", "Gradient"),
        ("value_and_grad", "Value and gradient"),
        ("vjp", "Value and pullback (vector-Jacobian product)"),
        ("jvp", "Value and Jacobian-vector product"),
        ("tangent", "Jacobian-vector product"),
        ("derivative", "Elementwise derivative"),
    ],
)
def test_the_docstring_names_the_original(m, mode, what):
    bound = build(m.fold, mode, ("x", "a"), ("scalar", "scalar")).bind(m.fold)
    where = f"{os.path.basename(m.__file__)}:{m.fold.__code__.co_firstlineno}"
    assert bound.__doc__.startswith(f"{what} of fold ({where}) with respect to x, a")
    assert bound.__name__ == bound.__qualname__ == f"fold_{mode}"
    assert bound.__module__ == m.__name__


def test_bound_code_reads_the_users_closure(m):
    three, five = m.make_scaled(3.0), m.make_scaled(5.0)
    assert three.__code__ is five.__code__
    assert build(three, "grad", ("x",), ("scalar",)).bind(three)(2.0) == 12.0
    assert build(five, "grad", ("x",), ("scalar",)).bind(five)(2.0) == 20.0


# ------------------------------------------------------------------ tracebacks


def test_the_text_is_registered_with_linecache(m):
    emitted = build(m.logarithm, "grad", ("x",), ("scalar",))
    lines = linecache.getlines(emitted.filename)
    assert any(line.strip() == "def logarithm_grad(x):" for line in lines)
    assert emitted.filename.startswith("<s2s_ad logarithm_grad of ")
    assert emit_module.EMITTED[emitted.filename] is emitted


def test_a_traceback_shows_the_emitted_line_and_leads_to_the_users(m):
    emitted = build(m.logarithm, "grad", ("x",), ("scalar",))
    with pytest.raises(ValueError) as info:
        emitted.bind(m.logarithm)(-1.0)
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert frame.filename == emitted.filename
    assert frame.line == "y = math.log(x)"
    user = emitted.line_locs[frame.lineno]
    assert (user.filename, user.lineno) == (m.__file__, m.logarithm.__code__.co_firstlineno + 1)


def test_different_texts_of_one_function_get_different_file_names(m):
    scalar = build(m.arrays, "grad", ("x",), ("scalar", "scalar"))
    array = build(m.arrays, "grad", ("x",), ("array", "array"))
    assert scalar.text != array.text
    assert scalar.filename != array.filename
    for emitted in (scalar, array):
        assert "".join(linecache.getlines(emitted.filename)).count("def arrays_grad") == 1
    x = np.linspace(0.0, 1.0, 3)
    assert np.allclose(array.bind(m.arrays)(x, x), np.exp(x) * x)
