"""One argument binding for every transform (issue 17).

Every transform, called directly or through the decorator, binds its arguments
as Python binds a call of ``f``: positions, keywords, defaults, keyword-only
parameters, and ``functools.partial`` (nested, with frozen keywords).  The
matrix below runs each transform in each call form and compares with the
closed forms of ``model``; the containers and size-1 outputs follow, then the
errors for wrong calls.
"""

import functools

import numpy as np
import pytest

import s2s_ad as ad

X = np.array([0.7, -1.3, 2.1])
Y = np.array([0.4, 1.5, -0.8])
V = np.array([0.3, -0.2, 1.1])
C, SCALE = 1.7, 0.9  # differ from the defaults 2.0 and 0.5


def model(x, y, c=2.0, *, scale=0.5):
    return scale * np.sum(x**3 * y) + c * np.sum(x) * np.sum(y)


def shifted(c, x, y, *, scale=0.5):  # model with c first (second order through calls is
    return scale * np.sum(x**3 * y) + c * np.sum(x) * np.sum(y)  # issue 17's closure part)


# Closed forms of model with respect to x.
def value(x, y, c, scale):
    return scale * np.sum(x**3 * y) + c * np.sum(x) * np.sum(y)


def gradient(x, y, c, scale):
    return 3 * scale * x**2 * y + c * np.sum(y)


def hessian_xx(x, y, c, scale):
    return np.diag(6 * scale * x * y)


# Call forms: (callable, positional arguments, keywords, the (c, scale) they mean).
# In every form the first parameter left to the call is x.
FORMS = {
    "positional": (model, (X, Y, C), {"scale": SCALE}, (C, SCALE)),
    "keywords": (model, (), {"x": X, "y": Y, "c": C, "scale": SCALE}, (C, SCALE)),
    "defaults left out": (model, (X, Y), {}, (2.0, 0.5)),
    "keyword-only given": (model, (X, Y), {"scale": SCALE}, (2.0, SCALE)),
    "partial, frozen keywords": (
        functools.partial(model, y=Y, scale=SCALE),
        (X,),
        {},
        (2.0, SCALE),
    ),
    "partial, frozen position": (functools.partial(shifted, C), (X, Y), {}, (C, 0.5)),
    "partial of a partial": (
        functools.partial(functools.partial(shifted, C, scale=SCALE), y=Y),
        (X,),
        {},
        (C, SCALE),
    ),
    "keyword overriding a frozen one": (
        functools.partial(model, c=99.0),
        (X, Y),
        {"c": C},
        (C, 0.5),
    ),
}


def expected_and_args(form):
    fn, args, kwargs, (c, scale) = FORMS[form]
    return fn, args, kwargs, (X, Y, c, scale)


def keywords_frozen(fn, kwargs):
    """jvp and vjp take primals by position: keywords go into a partial, as users write it."""
    return functools.partial(fn, **kwargs) if kwargs else fn


def positional_primals(fn, args, kwargs):
    """For the all-keywords form: what jvp and vjp are given instead (x and y by position)."""
    if args:
        return keywords_frozen(fn, kwargs), args
    rest = {k: v for k, v in kwargs.items() if k not in ("x", "y")}
    return keywords_frozen(fn, rest), (kwargs["x"], kwargs["y"])


def run_grad(fn, args, kwargs):
    return ad.grad(fn)(*args, **kwargs)


def run_value_and_grad(fn, args, kwargs):
    return ad.value_and_grad(fn)(*args, **kwargs)


def run_vjp(fn, args, kwargs):
    fn, primals = positional_primals(fn, args, kwargs)
    out, pullback = ad.vjp(fn, *primals, wrt=0)
    return out, pullback(1.0)[0]


def run_jvp(fn, args, kwargs):
    fn, primals = positional_primals(fn, args, kwargs)
    return ad.jvp(fn, primals, (V,) + (None,) * (len(primals) - 1))


def run_hvp(fn, args, kwargs):
    return ad.hvp(fn)(*args, V, **kwargs)


def run_hessian(fn, args, kwargs):
    return ad.hessian(fn)(*args, **kwargs)


def run_jacobian(mode):
    def run(fn, args, kwargs):
        return ad.jacobian(fn, mode=mode)(*args, **kwargs)

    return run


def run_laplacian(fn, args, kwargs):
    return ad.laplacian(fn)(*args, **kwargs)


def run_check_grad(fn, args, kwargs):
    fn, primals = positional_primals(fn, args, kwargs)
    return ad.check_grad(fn, *primals)


TRANSFORMS = {
    "grad": (run_grad, lambda *p: gradient(*p)),
    "value_and_grad": (run_value_and_grad, lambda *p: (value(*p), gradient(*p))),
    "vjp": (run_vjp, lambda *p: (value(*p), gradient(*p))),
    "jvp": (run_jvp, lambda *p: (value(*p), gradient(*p) @ V)),
    "hvp": (run_hvp, lambda *p: hessian_xx(*p) @ V),
    "hessian": (run_hessian, lambda *p: hessian_xx(*p)),
    "jacobian forward": (run_jacobian("forward"), lambda *p: gradient(*p)),
    "jacobian reverse": (run_jacobian("reverse"), lambda *p: gradient(*p)),
    "laplacian": (run_laplacian, lambda *p: np.trace(hessian_xx(*p))),
}


def assert_matches(result, expected):
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected)
        for r, e in zip(result, expected):
            assert_matches(r, e)
        return
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_transform_binds_every_call_form(transform, form):
    run, closed_form = TRANSFORMS[transform]
    fn, args, kwargs, point = expected_and_args(form)
    assert_matches(run(fn, args, kwargs), closed_form(*point))


@pytest.mark.parametrize("form", FORMS)
def test_check_grad_binds_every_call_form(form):
    fn, args, kwargs, _ = expected_and_args(form)
    assert run_check_grad(fn, args, kwargs) < 1e-6


def test_a_gradient_with_respect_to_a_frozen_keyword():
    frozen = functools.partial(model, X, scale=SCALE)  # visible: y, c, scale
    result = ad.grad(frozen, wrt=("c", "scale"))(Y, c=C)
    np.testing.assert_allclose(result, (np.sum(X) * np.sum(Y), np.sum(X**3 * Y)))


def test_a_keyword_only_parameter_by_name_in_wrt():
    dscale = ad.grad(model, wrt="scale")(X, Y, scale=SCALE)
    np.testing.assert_allclose(dscale, np.sum(X**3 * Y))
    hessian = ad.hessian(model, wrt=("x", "c"))(X, Y, C, scale=SCALE)
    np.testing.assert_allclose(hessian[0][0], hessian_xx(X, Y, C, SCALE))
    np.testing.assert_allclose(hessian[0][1], np.full(3, np.sum(Y)))  # d grad_x / dc
    np.testing.assert_allclose(hessian[1][1], 0.0)


def test_the_derivative_of_a_partial():
    def cubic(x, a, *, b=1.0):
        return a * x**3 + b * x

    third = functools.partial(cubic, a=2.0, b=5.0)
    assert ad.derivative(third)(1.5) == pytest.approx(6.0 * 1.5**2 + 5.0, rel=1e-14)
    assert ad.derivative(third, order=2)(1.5) == pytest.approx(12.0 * 1.5, rel=1e-14)


def test_a_transform_of_a_partial_is_transformed_again():
    frozen = functools.partial(model, y=Y, scale=SCALE)
    grad_of_partial = ad.grad(frozen)
    gradient_value, hvp_value = ad.jvp(grad_of_partial, (X,), (V,))
    np.testing.assert_allclose(gradient_value, gradient(X, Y, 2.0, SCALE), rtol=1e-12)
    np.testing.assert_allclose(hvp_value, hessian_xx(X, Y, 2.0, SCALE) @ V, rtol=1e-12)
    np.testing.assert_allclose(
        ad.jacobian(grad_of_partial)(X), hessian_xx(X, Y, 2.0, SCALE), rtol=1e-12
    )


def test_source_trace_and_graph_of_a_partial_show_its_function():
    frozen = functools.partial(model, y=Y)
    assert ad.source(frozen) == ad.source(model)
    assert ad.source(frozen, mode="hvp", wrt="c") == ad.source(model, mode="hvp", wrt="c")
    assert ad.trace(frozen) == ad.trace(model)
    assert str(ad.graph(frozen)) == str(ad.graph(model))


@ad.differentiate
def decorated(x, y, c=2.0, *, scale=0.5):
    return scale * np.sum(x**3 * y) + c * np.sum(x) * np.sum(y)


def test_the_decorators_methods_bind_like_the_transforms():
    np.testing.assert_allclose(decorated.grad(X, Y, scale=SCALE), gradient(X, Y, 2.0, SCALE))
    np.testing.assert_allclose(decorated.grad(y=Y, x=X, c=C), gradient(X, Y, C, 0.5))
    out, dout = decorated.value_and_grad(X, Y)
    np.testing.assert_allclose((out, *dout), (value(X, Y, 2.0, 0.5), *gradient(X, Y, 2.0, 0.5)))
    out, tangent = decorated.jvp((X, Y), (V, None))  # c and scale left at their defaults
    np.testing.assert_allclose(
        (out, tangent), (value(X, Y, 2.0, 0.5), gradient(X, Y, 2.0, 0.5) @ V)
    )
    out, pullback = decorated.vjp(X, Y)
    np.testing.assert_allclose(pullback(1.0)[0], gradient(X, Y, 2.0, 0.5))


def test_jvp_leaves_defaulted_parameters_out_with_zero_tangent():
    out, tangent = ad.jvp(model, (X, Y), (V, Y))
    directional = gradient(X, Y, 2.0, 0.5) @ V + (0.5 * X**3 + 2.0 * np.sum(X)) @ Y
    np.testing.assert_allclose((out, tangent), (value(X, Y, 2.0, 0.5), directional))
    out, tangent = ad.jvp(model, (X, Y, C), (None, None, 1.0))
    np.testing.assert_allclose(tangent, np.sum(X) * np.sum(Y))


# ------------------------------------------------------------- containers


def pair_loss(p, c=1.0):
    a, b = p[0], p[1]
    return b * np.sum(a**3) + c * b**2


A = np.array([0.5, -1.2, 2.0])
B = 1.3


def pair_gradient(a, b, c):
    return 3 * b * a**2, np.sum(a**3) + 2 * c * b


def pair_hessian(a, b, c):
    """Blocks (aa, ab, ba, bb)."""
    return np.diag(6 * b * a), 3 * a**2, 3 * a**2, 2 * c


@pytest.mark.parametrize("container", [tuple, list])
def test_hessian_of_a_sequence_argument_has_its_structure_twice(container):
    p = container([A, B])
    result = ad.hessian(pair_loss)(p, c=C)
    aa, ab, ba, bb = pair_hessian(A, B, C)
    assert type(result) is container and all(type(row) is container for row in result)
    np.testing.assert_allclose(result[0][0], aa)
    np.testing.assert_allclose(result[0][1], ab)
    np.testing.assert_allclose(result[1][0], ba)
    assert result[1][1] == pytest.approx(bb, rel=1e-14)


def test_hessian_of_a_dict_argument_is_a_dict_of_dicts():
    def loss(params):
        return params["b"] * np.sum(params["a"] ** 3) + params["b"] ** 2

    result = ad.hessian(loss)({"a": A, "b": B})
    aa, ab, ba, bb = pair_hessian(A, B, 1.0)
    assert set(result) == {"a", "b"} and set(result["a"]) == {"a", "b"}
    np.testing.assert_allclose(result["a"]["a"], aa)
    np.testing.assert_allclose(result["a"]["b"], ab)
    np.testing.assert_allclose(result["b"]["a"], ba)
    assert result["b"]["b"] == pytest.approx(bb, rel=1e-14)


def test_hessian_blocks_between_a_tuple_and_a_float_argument():
    """``wrt=(0, 1)``: H[i][j] is argument i's structure holding argument j's."""
    result = ad.hessian(pair_loss, wrt=(0, 1))((A, B), C)
    np.testing.assert_allclose(result[0][1][0], np.zeros(3))  # d grad_a / dc
    assert result[0][1][1] == pytest.approx(2 * B, rel=1e-14)  # d grad_b / dc
    assert type(result[1][0]) is tuple
    assert result[1][0][1] == pytest.approx(2 * B, rel=1e-14)
    assert result[1][1] == 0.0


@pytest.mark.parametrize("container", [tuple, list])
def test_hvp_of_a_sequence_argument(container):
    va, vb = np.array([1.0, 0.5, -2.0]), 0.7
    product = ad.hvp(pair_loss)(container([A, B]), container([va, vb]))
    aa, ab, ba, bb = pair_hessian(A, B, 1.0)
    assert type(product) is container
    np.testing.assert_allclose(product[0], aa @ va + ab * vb)
    assert product[1] == pytest.approx(ba @ va + bb * vb, rel=1e-14)


def test_hvp_of_a_dict_argument_with_a_tuple_wrt():
    def loss(params, c):
        return params["b"] * np.sum(params["a"] ** 3) + c * params["b"] ** 2

    v = ({"a": np.array([1.0, 0.0, 0.0]), "b": 0.5}, 1.0)
    product, product_c = ad.hvp(loss, wrt=(0, 1))({"a": A, "b": B}, C, v)
    np.testing.assert_allclose(product["a"], np.diag(6 * B * A)[:, 0] + 3 * A**2 * 0.5)
    assert product["b"] == pytest.approx(3 * A[0] ** 2 + 2 * C * 0.5 + 2 * B, rel=1e-14)
    assert product_c == pytest.approx(2 * B * 0.5, rel=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_a_tuple_argument(mode):
    def scaled(p):
        return p[0] * p[1]

    da, db = ad.jacobian(scaled, mode=mode)((A, B))
    np.testing.assert_allclose(da, B * np.eye(3))
    np.testing.assert_allclose(db, A)
    ga, gb = ad.jacobian(pair_loss, mode=mode)([A, B])
    np.testing.assert_allclose(ga, pair_gradient(A, B, 1.0)[0])
    assert gb == pytest.approx(pair_gradient(A, B, 1.0)[1], rel=1e-14)


def test_laplacian_of_a_list_argument():
    assert ad.laplacian(pair_loss)([A, B]) == pytest.approx(np.sum(6 * B * A) + 2.0, rel=1e-14)


# ------------------------------------------------------------ size-1 outputs


def summed_keepdims(x):
    return np.sum(x**3, keepdims=True)


def product_as_matrix(x):
    return (x[:1] * x[1:2]).reshape(1, 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grad_of_a_size_1_output_is_that_of_the_scalar(dtype):
    x = np.array([1.5, -2.0], dtype=dtype)
    g = ad.grad(summed_keepdims)(x)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, 3 * x.astype(float) ** 2, rtol=1e-6)
    np.testing.assert_allclose(ad.grad(product_as_matrix)(x), [x[1], x[0]], rtol=1e-6)


def test_value_and_grad_of_a_size_1_output_keeps_the_value_as_returned():
    x = np.array([1.5, -2.0])
    out, g = ad.value_and_grad(product_as_matrix)(x)
    assert out.shape == (1, 1) and out[0, 0] == x[0] * x[1]
    np.testing.assert_allclose(g, [x[1], x[0]])


def test_second_order_of_a_size_1_output():
    x = np.array([1.5, -2.0])
    np.testing.assert_allclose(ad.hessian(summed_keepdims)(x), np.diag(6 * x))
    np.testing.assert_allclose(ad.hvp(product_as_matrix)(x, np.array([1.0, 0.0])), [0.0, 1.0])


def test_a_size_2_output_is_still_refused():
    with pytest.raises(TypeError, match=r"scalar output, but it returned an array of shape \(2,\)"):
        ad.grad(lambda x: x * 2.0)(np.array([1.0, 2.0]))


# ------------------------------------------------------------------ errors


SPELLED = r"model\(x, y, c=2\.0, \*, scale=0\.5\)"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ad.grad(model)(X), SPELLED + r" cannot take 1 positional .*'y'"),
        (lambda: ad.grad(model)(X, Y, C, SCALE), r"grad: .*too many positional arguments"),
        (lambda: ad.hessian(model)(X, Y, z=1.0), r"hessian: .*unexpected keyword argument 'z'"),
        (lambda: ad.hvp(model)(), r"hvp: hvp\(f\) takes the arguments of .* and then v"),
        (lambda: ad.hvp(model)(X, V), r"missing a required argument: 'y' \(hvp\(f\) takes"),
        (lambda: ad.hvp(model)(X, Y, np.ones(4)), r"v for 'x' must have the argument's shape"),
        (
            lambda: ad.hvp(model, wrt=(0, 1))(X, Y, V),
            r"with wrt=\(0, 1\), v must be a tuple of 2 values",
        ),
        (
            lambda: ad.hvp(pair_loss)((A, B), (V, 1.0, 2.0)),
            r"v for 'p' must be a tuple or list of 2 items",
        ),
        (
            lambda: ad.jvp(model, (X, Y, C, SCALE), (V, None, None, None)),
            SPELLED + r" takes at most 3 positional argument\(s\), got 4 primal",
        ),
        (lambda: ad.jvp(model, (X,), (V,)), r"missing .*'y'; jvp passes the primals by position"),
        (
            lambda: ad.jvp(lambda x, *, a: a * x, (1.0,), (1.0,)),
            r"give keyword-only ones with functools\.partial",
        ),
        (lambda: ad.jvp(model, (X, Y), (np.ones(4), None)), r"tangent of 'x' must have"),
        (
            lambda: ad.grad(functools.partial(model, X), wrt="x"),
            r"model has no parameter 'x' to differentiate; "
            r"its parameters are \('y', 'c', 'scale'\)",
        ),
        (
            lambda: ad.hessian(functools.partial(shifted, C), wrt=3),
            r"wrt=3 is out of range for shifted\(x, y, \*, scale=0\.5\)",
        ),
        (lambda: ad.hessian(model)(["a"], Y), r"the argument 'x' is a list; expected a float"),
        (lambda: ad.check_grad(model, X, Y, wrt="c"), r"not 'c': pass the arguments"),
        (
            lambda: ad.jvp(np.sin, (1.0,), (1.0,)),
            r"or a functools\.partial of one, or a bound method, got ufunc",
        ),
        (
            lambda: ad.hvp(functools.partial(np.add, 1.0)),
            r"or a functools\.partial of one, or a bound method, got partial",
        ),
    ],
)
def test_wrong_calls_say_what_was_expected(call, message):
    with pytest.raises(TypeError, match=message):
        call()
