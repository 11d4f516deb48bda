"""Errors through the Python API: ``ad.TransformError``, ``TypeError`` and runtime errors.

Functions live in real files written into ``tmp_path`` (s2s_ad reads source
through :mod:`inspect`).  Every refused construct is marked with a comment
``# <name>`` so the tests can find the exact line and column they expect.
"""

import functools
import importlib.util
import linecache
import math
import os
import re
import sys
import textwrap
import traceback

import numpy as np
import pytest

import s2s_ad as ad

REFUSED = textwrap.dedent(
    """\
    import math

    import numpy as np


    class Doubler:
        def __call__(self, x):
            return x * 2.0


    helper = Doubler()


    def f_del(x):
        y = x * x
        z = y
        del z  # <del>
        return y


    def f_shift(x):
        y = x * x
        return y * (3 << 1)  # <shift>


    def f_raise(x):
        y = x * 3.0
        if y > 100.0:
            raise ValueError("too big")  # <raise>
        return y


    def f_try(x):
        try:  # <try>
            y = x * x
        except ValueError:
            y = x
        return y


    def f_with(x):
        y = x + 1.0
        with open(__file__) as fh:  # <with>
            y = y * x
        return y


    def f_yield(x):
        y = x * x
        yield y  # <yield>


    def f_lambda(x):
        y = x * 2.0
        return sorted([x, y], key=lambda t: t * y)[0]  # <lambda>


    def f_def(x):
        y = x * 2.0
        if y > 0:
            def g(t):  # <def>
                return t * t
            y = g(y)
        return y


    def f_comp(x):
        ys = {x * k for k in (1.0, 2.0)}  # <comp>
        return len(ys) * x


    def f_genexp(x):
        gen = (x * k for k in (1.0, 2.0))  # <genexp>
        return sum(gen)


    def f_attr(x):
        y = x * 2.0
        return (y +
                y.tolist())  # <attr>


    class Holder:
        def method(x):
            y = x * 2.0
            import math as m  # <method-import>
            return m.sin(y)


    def f_helper(x):
        y = x * x
        return helper(y) + x  # <helper>


    def f_bessel(x):
        return 1.0 + np.i0(x)  # <bessel>


    def f_undefined(x):
        y = x * 2.0
        return y * undefined_thing  # <undefined>
    """
)

# The generic hint: what to do about a construct without a hint of its own.
REWRITE = "rewrite"

# construct -> (function name, text at the construct's column, what the message talks
# about, what the hint says to do)
CONSTRUCTS = {
    "del": ("f_del", "del", "del", REWRITE),
    "shift": ("f_shift", "3 << 1", "operator `<<`", REWRITE),
    "raise": ("f_raise", "raise", "raise", REWRITE),
    "try": ("f_try", "try", "try", "move the code that may raise out"),
    "with": ("f_with", "with", "with", "open the resource outside"),
    "yield": ("f_yield", "yield", "yield", "return a list"),
    "lambda": ("f_lambda", "lambda", "lambda", "call local functions directly"),
    "def": ("f_def", "def g", "function", "move the `def`"),
    "comp": ("f_comp", "{x * k", "set comprehension", "list comprehension"),
    "genexp": ("f_genexp", "(x * k for", "generator", "list comprehension"),
    "attr": ("f_attr", "y.tolist()", "method", "call the numpy function"),
    "method-import": ("method", "import", "import", REWRITE),
}

RUNTIME = textwrap.dedent(
    """\
    import math

    import numpy as np


    def divide(x, y):
        return x / y  # <divide>


    def log_times_two(x):
        return math.log(x) * 2.0  # <log>


    def root(x):
        return math.sqrt(x)  # <root>


    def vector(x):
        return x * 2.0


    def scalar(x, y):
        return x * y + y
    """
)


def marker(source, name):
    """(1-based line, the line's text) of the line carrying ``# <name>``."""
    hits = [
        (i + 1, line) for i, line in enumerate(source.splitlines()) if line.endswith(f"# <{name}>")
    ]
    assert len(hits) == 1, (name, hits)
    return hits[0]


class Module:
    def __init__(self, module, path, source):
        self.module = module
        self.path = str(path)
        self.source = source

    def __getattr__(self, name):
        return getattr(self.module, name)


@pytest.fixture
def write_module(tmp_path):
    """Write source to tmp_path and import it as a fresh module."""
    names = []

    def write(source, stem):
        name = f"s2s_ad_errors_{stem}_{abs(hash(str(tmp_path)))}"
        path = tmp_path / f"{stem}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return Module(module, path, source)

    yield write
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def refused(write_module):
    return write_module(REFUSED, "refused")


@pytest.fixture
def runtime(write_module):
    return write_module(RUNTIME, "runtime_errors")


def function(mod, name):
    return mod.Holder.method if name == "method" else getattr(mod, name)


def check_location(err, mod, name, column_text):
    """The error points at the marked line and column, and quotes that line."""
    lineno, line = marker(mod.source, name)
    assert isinstance(err, ad.TransformError)
    assert os.path.samefile(err.filename, mod.path), (err.filename, mod.path)
    assert err.lineno == lineno, (err.lineno, lineno, str(err))
    assert err.col_offset == line.index(column_text), (err.col_offset, line, str(err))
    quoted = line.split("  # <")[0].strip()
    assert quoted in str(err), str(err)
    assert str(err).startswith(f"{err.filename}:{err.lineno}:"), str(err)


# ------------------------------------------------------ refused syntax


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_refused_construct_source(refused, construct):
    fname, column_text, topic, hint = CONSTRUCTS[construct]
    with pytest.raises(ad.TransformError) as info:
        ad.source(function(refused, fname))
    check_location(info.value, refused, construct, column_text)
    assert topic in str(info.value).lower(), str(info.value)
    # It says what to do about it, after the quoted line.
    assert hint in str(info.value).lower().split("^", 1)[1], str(info.value)


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_refused_construct_grad_no_later_than_first_call(refused, construct):
    fname, column_text, _, _ = CONSTRUCTS[construct]
    f = function(refused, fname)
    with pytest.raises(ad.TransformError) as info:
        g = ad.grad(f)
        g(1.5)
    check_location(info.value, refused, construct, column_text)
    # A second attempt fails the same way: nothing half-built was cached.
    with pytest.raises(ad.TransformError) as again:
        ad.grad(f)(1.5)
    assert again.value.lineno == info.value.lineno


TRANSFORMS = {
    "grad": lambda f: ad.grad(f)(1.5),
    "value_and_grad": lambda f: ad.value_and_grad(f)(1.5),
    "derivative": lambda f: ad.derivative(f)(1.5),
    "jvp": lambda f: ad.jvp(f, (1.5,), (1.0,)),
    "vjp": lambda f: ad.vjp(f, 1.5)[1](1.0),
    "differentiate": lambda f: ad.differentiate(f).grad(1.5),
    "source forward": lambda f: ad.source(f, mode="forward"),
    "source unoptimized": lambda f: ad.source(f, optimize=False),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_every_transform_raises_transform_error(refused, transform):
    with pytest.raises(ad.TransformError) as info:
        TRANSFORMS[transform](refused.f_raise)
    check_location(info.value, refused, "raise", "raise")


def test_vjp_raises_before_returning_a_pullback(refused):
    with pytest.raises(ad.TransformError):
        ad.vjp(refused.f_del, 1.5)


# -------------------------------------------------------- no rule, names


def test_call_of_a_user_callable_without_rule(refused):
    """A callable object is not looked inside (plain functions are): it needs a rule."""
    with pytest.raises(ad.TransformError) as info:
        ad.grad(refused.f_helper)(1.5)
    check_location(info.value, refused, "helper", "helper(y)")
    message = str(info.value)
    assert "helper" in message.split("\n")[0], message
    assert "defvjp" in message, message


def test_call_of_np_i0_without_rule(refused):
    with pytest.raises(ad.TransformError) as info:
        ad.source(refused.f_bessel)
    check_location(info.value, refused, "bessel", "np.i0")
    message = str(info.value)
    assert "np.i0" in message.split("\n")[0], message
    assert "defvjp" in message, message


def test_call_of_np_i0_without_rule_first_call(refused):
    with pytest.raises(ad.TransformError) as info:
        ad.grad(refused.f_bessel)(2.5)
    assert info.value.lineno == marker(refused.source, "bessel")[0]


def test_undefined_name(refused):
    with pytest.raises(ad.TransformError) as info:
        ad.grad(refused.f_undefined)(1.5)
    check_location(info.value, refused, "undefined", "undefined_thing")
    assert "undefined_thing" in str(info.value).split("\n")[0]


def test_source_not_available():
    namespace = {}
    exec("def made_by_exec(x):\n    return x * x\n", namespace)
    with pytest.raises(ad.TransformError) as info:
        ad.grad(namespace["made_by_exec"])(1.0)
    assert info.value.lineno == 1
    assert info.value.filename is not None
    assert str(info.value).startswith(f"{info.value.filename}:{info.value.lineno}:")
    assert "made_by_exec" in str(info.value)


def test_source_not_available_says_where_s2s_ad_works_and_what_to_do():
    namespace = {}
    exec("def made_by_exec(x):\n    return x * x\n", namespace)
    with pytest.raises(ad.TransformError) as info:
        ad.source(namespace["made_by_exec"])
    where, what = info.value.hint.splitlines()
    for place in (
        "files or modules",
        "IPython and Jupyter cells",
        "from Python 3.13 on at the REPL",
    ):
        assert place in where, place
    for place in ("python -c", "exec()"):
        assert place in where, place
    assert what.startswith("Move the function into a file")
    assert what.endswith("`from model import made_by_exec`.")
    assert str(info.value).endswith(what)


def test_source_not_available_for_a_lambda_suggests_a_name():
    with pytest.raises(ad.TransformError) as info:
        ad.grad(eval("lambda x: x * x"))(1.0)
    assert info.value.hint.endswith("`from model import f`.")


def test_transform_error_attributes_and_str():
    err = ad.TransformError("no rule", ad.compiler.errors.Loc("model.py", 7, 11, "    return g(x)"))
    assert (err.filename, err.lineno, err.col_offset) == ("model.py", 7, 11)
    assert str(err).startswith("model.py:7: no rule")
    assert "return g(x)" in str(err)
    assert isinstance(err, Exception)


# ------------------------------------------------------------ TypeError


@pytest.mark.parametrize(
    "value",
    [3, "f", np.sin, math.sin, functools.partial(math.pow, 2.0), None],
    ids=["int", "str", "ufunc", "builtin", "partial", "None"],
)
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "derivative", "source", "trace"])
def test_non_function_is_a_type_error(transform, value):
    with pytest.raises(TypeError) as info:
        getattr(ad, transform)(value)
    assert not isinstance(info.value, ad.TransformError)
    assert type(value).__name__ in str(info.value)


@pytest.mark.parametrize("wrt", [2, -3, (0, 5), 10])
def test_wrt_out_of_range(runtime, wrt):
    with pytest.raises(TypeError) as info:
        ad.grad(runtime.scalar, wrt=wrt)
    message = str(info.value)
    assert "range" in message, message
    bad = wrt if isinstance(wrt, int) else wrt[1]
    assert str(bad) in message, message


@pytest.mark.parametrize("wrt", ["z", ("x", "nope")])
def test_wrt_names_a_missing_parameter(runtime, wrt):
    missing = wrt if isinstance(wrt, str) else wrt[1]
    for transform in (ad.grad, ad.value_and_grad):
        with pytest.raises(TypeError) as info:
            transform(runtime.scalar, wrt=wrt)
        assert repr(missing) in str(info.value), str(info.value)


def test_wrt_bad_types(runtime):
    for wrt in [1.0, (), None, True, ("x", "x")]:
        with pytest.raises(TypeError):
            ad.grad(runtime.scalar, wrt=wrt)


def test_source_wrt_and_mode_are_checked(runtime):
    with pytest.raises(TypeError):
        ad.source(runtime.scalar, wrt="z")
    with pytest.raises(TypeError):
        ad.source(runtime.scalar, wrt=2)
    with pytest.raises(TypeError) as info:
        ad.source(runtime.scalar, mode="sideways")
    assert "sideways" in str(info.value)


@pytest.mark.parametrize("wrt, args", [(0, ("a", 2.0)), ("y", (2.0, "b")), (1, (2.0, "b"))])
def test_string_in_a_differentiated_position(runtime, wrt, args):
    name = "x" if wrt == 0 else "y"
    for transform in (ad.grad, ad.value_and_grad):
        with pytest.raises(TypeError) as info:
            transform(runtime.scalar, wrt=wrt)(*args)
        assert repr(name) in str(info.value), str(info.value)
        assert "str" in str(info.value), str(info.value)


def test_string_tangent_in_jvp(runtime):
    with pytest.raises(TypeError):
        ad.jvp(runtime.scalar, (1.0, 2.0), ("a", None))


def test_grad_of_a_function_returning_an_array(runtime):
    with pytest.raises(TypeError) as info:
        ad.grad(runtime.vector)(np.array([1.0, 2.0]))
    assert "scalar" in str(info.value), str(info.value)
    with pytest.raises(TypeError) as info:
        ad.value_and_grad(runtime.vector)(np.array([1.0, 2.0]))
    assert "scalar" in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "primals, tangents", [((1.0, 2.0), (1.0,)), ((1.0,), (1.0, 0.0)), ((1.0, 2.0), ())]
)
def test_jvp_with_mismatched_lengths(runtime, primals, tangents):
    with pytest.raises(TypeError) as info:
        ad.jvp(runtime.scalar, primals, tangents)
    assert str(len(primals)) in str(info.value) and str(len(tangents)) in str(info.value)


def test_jvp_needs_tuples(runtime):
    with pytest.raises(TypeError):
        ad.jvp(runtime.scalar, 1.0, 1.0)


# -------------------------------------------- errors inside emitted code


# Exception notes (BaseException.add_note) arrived with Python 3.11; before it s2s_ad adds
# none, and the traceback's emitted line with its `# line N:` comment is what points back.
HAS_NOTES = sys.version_info >= (3, 11)
needs_notes = pytest.mark.skipif(not HAS_NOTES, reason="exception notes arrived with 3.11")


def notes_of(exc):
    notes = getattr(exc, "__notes__", None)
    assert notes, f"{type(exc).__name__} carries no note pointing at the user's source"
    return notes


def assert_points_at(exc, mod, name):
    if not HAS_NOTES:
        assert not hasattr(exc, "__notes__"), "notes that this Python would never show"
        return
    lineno, _ = marker(mod.source, name)
    notes = notes_of(exc)
    assert any(mod.path in note and re.search(rf"\b{lineno}\b", note) for note in notes), notes


def emitted_frame(exc, mod):
    """The innermost traceback frame, which must be the emitted code's."""
    frames = traceback.extract_tb(exc.__traceback__)
    inner = frames[-1]
    package = os.path.dirname(ad.__file__)
    assert inner.filename != __file__
    assert inner.filename != mod.path
    assert not inner.filename.startswith(package), inner.filename
    return inner


def assert_emitted_frame_has_text(exc, mod, must_contain):
    inner = emitted_frame(exc, mod)
    assert inner.line and inner.line.strip(), (inner.filename, inner.lineno, inner.line)
    assert must_contain in inner.line, inner.line
    cached = linecache.getline(inner.filename, inner.lineno)
    assert cached.strip() == inner.line.strip()


def test_zero_division_in_gradient_points_at_user_line(runtime):
    with pytest.raises(ZeroDivisionError) as info:
        ad.grad(runtime.divide, wrt=(0, 1))(1.0, 0.0)
    assert_points_at(info.value, runtime, "divide")
    assert_emitted_frame_has_text(info.value, runtime, "/")


def test_log_at_zero_in_gradient_points_at_user_line(runtime):
    with pytest.raises((ZeroDivisionError, ValueError)) as info:
        ad.grad(runtime.log_times_two)(0.0)
    assert_points_at(info.value, runtime, "log")
    inner = emitted_frame(info.value, runtime)
    assert inner.line and inner.line.strip()


RUNTIME_CALLS = {
    "value_and_grad": lambda m: ad.value_and_grad(m.divide)(1.0, 0.0),
    "derivative": lambda m: ad.derivative(m.divide)(1.0, 0.0),
    "jvp": lambda m: ad.jvp(m.divide, (1.0, 0.0), (1.0, None)),
    "vjp": lambda m: ad.vjp(m.divide, 1.0, 0.0),
    "differentiate": lambda m: ad.differentiate(m.divide).grad(1.0, 0.0),
}


@pytest.mark.parametrize("transform", sorted(RUNTIME_CALLS))
def test_runtime_error_note_for_every_transform(runtime, transform):
    with pytest.raises(ZeroDivisionError) as info:
        RUNTIME_CALLS[transform](runtime)
    assert_points_at(info.value, runtime, "divide")
    assert_emitted_frame_has_text(info.value, runtime, "/")


def test_runtime_error_in_pullback_points_at_user_line(runtime):
    out, pullback = ad.vjp(runtime.root, 0.0)
    assert out == 0.0
    with pytest.raises(ZeroDivisionError) as info:
        pullback(1.0)
    assert_points_at(info.value, runtime, "root")
    assert_emitted_frame_has_text(info.value, runtime, "/")


@needs_notes
def test_note_is_not_duplicated_on_repeated_failures(runtime):
    g = ad.grad(runtime.divide)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError) as info:
            g(1.0, 0.0)
        notes = notes_of(info.value)
        assert len(notes) == len(set(notes)), notes


def test_each_variant_of_emitted_code_keeps_its_own_lines(write_module):
    """Scalar and array code of one function are registered under different names."""
    from s2s_ad.compiler import pipeline

    module = write_module("def f(x):\n    return 1.0 / x\n", "variants")
    scalar = pipeline.build(module.f, pipeline.Spec("grad", ("x",), ("scalar",)))
    array = pipeline.build(module.f, pipeline.Spec("grad", ("x",), ("array",)))
    assert scalar.filename != array.filename
    for emitted in (scalar, array):
        registered = "".join(linecache.getlines(emitted.filename))
        assert registered.count("def f_grad") == 1
        assert emitted.text.splitlines()[-2].strip() in registered
    assert "seed_cotangent" in "".join(linecache.getlines(array.filename))
    assert "seed_cotangent" not in "".join(linecache.getlines(scalar.filename))


def reverse_only(x):
    return np.log1p(np.exp(x))


ad.defvjp(reverse_only, lambda g, ans, x: g / (1 + np.exp(-x)))


def squared_reverse_only(x):
    return np.sum(reverse_only(x) ** 2)  # MARK: user rule


def test_a_missing_rule_at_second_order_is_reported_at_the_users_line():
    """The Hessian transforms the emitted gradient, where the missing forward rule is met:
    the error names the user's line, and quotes the emitted statement only in passing."""
    with pytest.raises(ad.TransformError) as info:
        ad.hessian(squared_reverse_only)(np.array([0.3, -0.4]))
    error = info.value
    assert error.filename == __file__
    assert "MARK: user rule" in error.source_line
    assert "no forward-mode rule" in str(error) and "ad.defjvp(reverse_only" in str(error)
    assert "the derivative code s2s_ad made from this line" in str(error)
