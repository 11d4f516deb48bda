"""``has_aux=True``: ``f`` returns ``(output, aux)``; the output is differentiated, ``aux``
is passed through untouched, with JAX's return shapes.

Derivatives are checked against closed forms and central finite differences of the output
alone; ``aux`` against the value ``f`` itself returns.
"""

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference

SOURCE = """
import numpy as np

rng = np.random.default_rng(0)

def scalar_aux(x, a):
    y = x * a
    return y * y, y + 1.0

def array_aux(w, x):
    pred = np.tanh(w * x)
    return np.sum(pred ** 2), pred

def dict_aux(x, a):
    y = np.sin(x) * a
    return y * y, {"y": y, "name": "sine", "count": 3}

def vector_out(x):
    out = np.array([x[0] * x[1], x[0] + 2.0 * x[1], 3.0 * x[1] ** 2])
    return out, {"norm": np.sum(out ** 2)}

def branches(x):
    if x > 0:
        return x * x, "positive"
    return -x, "negative"

def returned_in_loop(x, n):
    for i in range(n):
        if x * i > 2.0:
            return x * i, i
    return x, -1

def tuple_variable(x):
    pair = (x ** 3, (x, "x"))
    return pair

def pair_of(x):
    return x * x, x + 1.0

def through_call(x):
    return pair_of(x)

def overwritten(x):
    y = x
    for i in range(3):
        y = np.sin(y) * x
    return y, y

def written_by_item(x):
    y = np.zeros(3)
    y[0] = x * 2.0
    y[1] = np.sin(y[0]) * x
    y[0] = y[1] * x
    return np.sum(y * y), {"y": y}

def drawn(x):
    noise = rng.normal()
    return x * noise, noise

def named_aux(x):
    aux = x + 1.0
    return x * x, aux

def single(x):
    return x * x

def three(x):
    return x, x * 2.0, x * 3.0

def constant(x):
    return 1.0

def cubed(x):
    return x ** 3, "cubed"

def uses_grad_with_aux(x):
    slope, label = ad.grad(cubed, has_aux=True)(x)
    return slope * x

import s2s_ad as ad
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    from conftest import import_source

    return import_source(SOURCE, tmp_path_factory.mktemp("has_aux"))


def output_of(f):
    """``f`` without its aux: the function whose derivative is checked."""
    return lambda *args: f(*args)[0]


def assert_same_aux(actual, expected):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys()
        for key in expected:
            assert_same_aux(actual[key], expected[key])
    elif isinstance(expected, (float, np.ndarray, np.floating)):
        np.testing.assert_allclose(actual, expected, rtol=1e-14)
        assert np.shape(actual) == np.shape(expected)
    else:
        assert actual == expected and type(actual) is type(expected)


# (function, arguments) of a scalar output, each aux of a different kind
SCALAR_OUTPUTS = [
    ("scalar_aux", (1.5, -0.7)),
    ("array_aux", (np.array([0.3, -1.2, 0.8]), np.array([1.0, 0.5, -2.0]))),
    ("dict_aux", (0.9, 1.7)),
    ("branches", (0.8,)),
    ("branches", (-0.8,)),
    ("returned_in_loop", (1.5, 4)),
    ("returned_in_loop", (0.2, 4)),
    ("through_call", (1.3,)),
    ("overwritten", (0.7,)),
    ("written_by_item", (0.7,)),
    ("named_aux", (2.5,)),
]


@pytest.mark.parametrize("name, args", SCALAR_OUTPUTS)
def test_grad_gives_gradient_and_aux(m, name, args):
    f = getattr(m, name)
    gradient, aux = ad.grad(f, has_aux=True)(*args)
    np.testing.assert_allclose(gradient, central_difference(output_of(f), args, 0), rtol=1e-6)
    assert_same_aux(aux, f(*args)[1])


@pytest.mark.parametrize("name, args", SCALAR_OUTPUTS)
def test_value_and_grad_gives_value_aux_and_gradient(m, name, args):
    f = getattr(m, name)
    (value, aux), gradient = ad.value_and_grad(f, has_aux=True)(*args)
    expected_value, expected_aux = f(*args)
    np.testing.assert_allclose(value, expected_value, rtol=1e-14)
    np.testing.assert_allclose(gradient, central_difference(output_of(f), args, 0), rtol=1e-6)
    assert_same_aux(aux, expected_aux)


@pytest.mark.parametrize("name, args", SCALAR_OUTPUTS)
def test_vjp_gives_output_pullback_and_aux(m, name, args):
    f = getattr(m, name)
    out, pullback, aux = ad.vjp(f, *args, wrt=0, has_aux=True)
    expected_out, expected_aux = f(*args)
    np.testing.assert_allclose(out, expected_out, rtol=1e-14)
    assert_same_aux(aux, expected_aux)
    (cotangent,) = pullback(2.0)
    expected = 2.0 * central_difference(output_of(f), args, 0)
    np.testing.assert_allclose(cotangent, expected, rtol=1e-6)


@pytest.mark.parametrize("name, args", SCALAR_OUTPUTS)
def test_jvp_gives_output_tangent_and_aux(m, name, args):
    f = getattr(m, name)
    tangent_in = np.ones_like(args[0]) if isinstance(args[0], np.ndarray) else 1.0
    tangents = (tangent_in,) + (None,) * (len(args) - 1)
    out, tangent, aux = ad.jvp(f, args, tangents, has_aux=True)
    expected_out, expected_aux = f(*args)
    np.testing.assert_allclose(out, expected_out, rtol=1e-14)
    expected = np.sum(central_difference(output_of(f), args, 0) * tangent_in)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6)
    assert_same_aux(aux, expected_aux)


def test_closed_forms_of_the_scalar_case(m):
    x, a = 1.5, -0.7  # y = x a, output y^2, aux y + 1
    assert ad.grad(m.scalar_aux, has_aux=True)(x, a) == pytest.approx((2 * x * a * a, x * a + 1))
    grads, aux = ad.grad(m.scalar_aux, wrt=(0, 1), has_aux=True)(x, a)
    assert grads == pytest.approx((2 * x * a * a, 2 * a * x * x))
    assert aux == pytest.approx(x * a + 1)
    grads, aux = ad.grad(m.scalar_aux, wrt=("a",), has_aux=True)(x, a)
    assert isinstance(grads, tuple) and grads == pytest.approx((2 * a * x * x,))
    (value, aux), grads = ad.value_and_grad(m.scalar_aux, wrt=(0,), has_aux=True)(x, a)
    assert value == pytest.approx((x * a) ** 2) and grads == pytest.approx((2 * x * a * a,))


def test_array_aux_is_the_prediction(m):
    w, x = np.array([0.3, -1.2]), np.array([1.0, 0.5])
    gradient, pred = ad.grad(m.array_aux, has_aux=True)(w, x)
    t = np.tanh(w * x)
    np.testing.assert_allclose(pred, t, rtol=1e-15)
    np.testing.assert_allclose(gradient, 2 * t * (1 - t**2) * x, rtol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_gives_jacobian_and_aux(m, mode):
    x = np.array([1.5, -0.5])
    jac, aux = ad.jacobian(m.vector_out, mode=mode, has_aux=True)(x)
    expected = np.array([[x[1], x[0]], [1.0, 2.0], [0.0, 6.0 * x[1]]])
    np.testing.assert_allclose(jac, expected, rtol=1e-12)
    assert_same_aux(aux, m.vector_out(x)[1])


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_scalar_with_aux(m, mode):
    jac, aux = ad.jacobian(m.dict_aux, mode=mode, has_aux=True)(0.9, 1.7)
    assert jac == pytest.approx(2 * np.sin(0.9) * 1.7 * np.cos(0.9) * 1.7)
    assert_same_aux(aux, m.dict_aux(0.9, 1.7)[1])


@pytest.mark.optimized_only  # the comparison with the unoptimized code would draw again
def test_aux_comes_from_the_same_run_as_the_derivative(m):
    # d(x * noise)/dx is the noise drawn; a second run of f would draw another
    for _ in range(3):
        gradient, noise = ad.grad(m.drawn, has_aux=True)(2.0)
        assert gradient == noise
        (value, noise), gradient = ad.value_and_grad(m.drawn, has_aux=True)(2.0)
        assert value == 2.0 * noise and gradient == noise
        out, pullback, noise = ad.vjp(m.drawn, 2.0, has_aux=True)
        assert out == 2.0 * noise and pullback(1.0) == (noise,)
        out, tangent, noise = ad.jvp(m.drawn, (2.0,), (1.0,), has_aux=True)
        assert out == 2.0 * noise and tangent == noise


def test_grad_with_aux_inside_a_differentiated_function(m):
    # uses_grad_with_aux(x) = 3 x^3: the emitted grad of cubed is differentiated again
    assert ad.grad(m.uses_grad_with_aux)(2.0) == pytest.approx(9 * 2.0**2)
    assert ad.jvp(m.uses_grad_with_aux, (2.0,), (1.0,)) == pytest.approx((24.0, 36.0))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_with_aux_and_several_inputs(m, mode):
    jac, aux = ad.jacobian(m.scalar_aux, wrt=(0, 1), mode=mode, has_aux=True)(1.5, -0.7)
    assert jac == pytest.approx((2 * 1.5 * 0.49, 2 * -0.7 * 1.5**2)) and aux == pytest.approx(
        1.5 * -0.7 + 1
    )


def test_decorator_binds_has_aux(m):
    f = ad.differentiate(m.scalar_aux, wrt="a", has_aux=True)
    x, a = 1.5, -0.7
    assert f(x, a) == m.scalar_aux(x, a)
    assert f.grad(x, a) == pytest.approx((2 * a * x * x, x * a + 1))
    (value, aux), gradient = f.value_and_grad(x, a)
    assert (value, aux, gradient) == pytest.approx(((x * a) ** 2, x * a + 1, 2 * a * x * x))
    out, pullback, aux = f.vjp(x, a)
    assert pullback(1.0) == pytest.approx((2 * a * x * x,)) and aux == pytest.approx(x * a + 1)
    out, tangent, aux = f.jvp((x, a), (0.0, 1.0))
    assert tangent == pytest.approx(2 * a * x * x) and aux == pytest.approx(x * a + 1)
    assert "aux passed through" in f.source()


def test_decorator_factory_form(m):
    f = ad.differentiate(has_aux=True)(m.branches)
    assert f.grad(-2.0) == (-1.0, "negative")


def test_source_shows_the_aux_returned_beside_the_gradient(m):
    text = ad.source(m.named_aux, has_aux=True)
    assert "aux passed through" in text
    assert text.rstrip().splitlines()[-1].strip() == "return (dx, aux)"  # the user's aux
    namespace = {}
    exec(text, namespace)
    assert namespace["named_aux_grad"](2.5) == (5.0, 3.5)


def test_without_has_aux_the_emitted_code_is_unchanged(m):
    assert ad.source(m.single) == ad.source(m.single, has_aux=False)
    assert "aux" not in ad.source(m.single)


def test_a_function_returning_no_pair_is_a_type_error(m):
    with pytest.raises(TypeError, match=r"has_aux=True needs .* returns a tuple of 3 items"):
        ad.grad(m.three, has_aux=True)(1.0)
    with pytest.raises(TypeError, match=r"has_aux=True needs .*returns 1.0"):
        ad.vjp(m.constant, 1.0, has_aux=True)
    with pytest.raises(TypeError, match=r"has_aux=True needs .*returned float"):
        ad.grad(m.single, has_aux=True)(1.0)
    with pytest.raises(TypeError, match=r"has_aux=True needs .*returned float"):
        ad.jvp(m.single, (1.0,), (1.0,), has_aux=True)


def test_the_error_without_has_aux_suggests_it(m):
    with pytest.raises(ad.TransformError, match="has_aux=True"):
        ad.grad(m.scalar_aux)(1.0, 2.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: ad.grad(f, has_aux=1),
        lambda f: ad.value_and_grad(f, has_aux="yes"),
        lambda f: ad.vjp(f, 1.0, has_aux=None),
        lambda f: ad.jvp(f, (1.0,), (1.0,), has_aux=0),
        lambda f: ad.jacobian(f, has_aux=1),
        lambda f: ad.differentiate(f, has_aux=1),
        lambda f: ad.source(f, has_aux=1),
    ],
)
def test_has_aux_must_be_a_bool(m, call):
    with pytest.raises(TypeError, match="has_aux must be True or False"):
        call(m.scalar_aux)


def test_source_refuses_has_aux_where_no_transform_takes_it(m):
    with pytest.raises(TypeError, match="has_aux=True is not available in mode 'hvp'"):
        ad.source(m.scalar_aux, mode="hvp", has_aux=True)
