"""Objects as containers of parameters (issue 18): dataclasses, NamedTuples and
SimpleNamespaces as arguments and results, read by attribute; bound methods; and
gradients that have the type of their argument (a tuple's is a tuple).

Every derivative is checked against central differences in float64 over the
floating fields (flattened by this file's own helpers, not s2s_ad's), in reverse
mode (``grad``, ``vjp``) and forward mode (``jvp`` along random directions).
"""

import collections
import copy
import dataclasses
import functools
import types
from typing import NamedTuple, Optional

import numpy as np
import pytest

import s2s_ad as ad

RNG = np.random.default_rng(1818)

# ------------------------------------------------------------ an independent oracle


def floating(value):
    """Whether a field is differentiated: floats and containers or records of them."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (float, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if isinstance(value, (list, tuple, dict)) or hasattr(value, "__dict__"):
        return bool(flat_leaves(value))
    return False


def fields(record):
    if isinstance(record, tuple) and hasattr(record, "_fields"):
        return dict(zip(record._fields, record))
    if dataclasses.is_dataclass(record):
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return dict(vars(record))


def flat_leaves(value):
    """The floating leaves of a tree of containers and records, depth first."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in flat_leaves(item)]
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return [leaf for item in value for leaf in flat_leaves(item)]
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, np.ndarray):
        return [value] if value.dtype.kind == "f" else []
    if isinstance(value, (int, str, bool, type(None))) or callable(value):
        return []
    return [leaf for item in fields(value).values() for leaf in flat_leaves(item)]


def flatten(value):
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=float)) for leaf in flat_leaves(value)])


def unflatten(like, vector):
    """``like`` with its floating leaves taken from ``vector`` (a new object)."""
    position = [0]

    def build(value):
        if isinstance(value, dict):
            return {k: build(v) for k, v in value.items()}
        if isinstance(value, list):
            return [build(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(build(v) for v in value)
        if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
            position[0] += 1
            return float(vector[position[0] - 1])
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            n = value.size
            position[0] += n
            return vector[position[0] - n : position[0]].reshape(value.shape)
        if isinstance(value, (int, str, bool, type(None))) or callable(value):
            return value
        new = {k: build(v) for k, v in fields(value).items()}
        if isinstance(value, tuple):
            return type(value)(**new)
        rebuilt = copy.copy(value)
        for k, v in new.items():
            object.__setattr__(rebuilt, k, v)
        return rebuilt

    return build(like)


def fd_gradient(f, args, position):
    base = flatten(args[position])
    h = 1e-6
    out = np.zeros_like(base)
    for i in range(base.size):
        values = []
        for sign in (1.0, -1.0):
            shifted = base.copy()
            shifted[i] += sign * h
            moved = list(args)
            moved[position] = unflatten(args[position], shifted)
            values.append(float(f(*moved)))
        out[i] = (values[0] - values[1]) / (2 * h)
    return out


def assert_same_structure(gradient, like, path="argument"):
    """The gradient has the argument's type at every level; constant fields are None."""
    if isinstance(like, dict):
        assert type(gradient) is dict and gradient.keys() == like.keys(), path
        for k in like:
            assert_same_structure(gradient[k], like[k], f"{path}[{k!r}]")
    elif isinstance(like, (list, tuple)) and not hasattr(like, "_fields"):
        assert type(gradient) is type(like), f"{path}: {type(gradient)} for {type(like)}"
        assert len(gradient) == len(like), path
        for k, (g, x) in enumerate(zip(gradient, like)):
            assert_same_structure(g, x, f"{path}[{k}]")
    elif isinstance(like, np.ndarray):
        assert isinstance(gradient, np.ndarray) and gradient.shape == like.shape, path
    elif isinstance(like, float):
        assert type(gradient) is float, f"{path}: {type(gradient)}"
    elif isinstance(like, (int, str, type(None))) or callable(like):
        assert gradient is None, f"{path}: a constant field's gradient is None"
    else:
        assert type(gradient) is type(like), f"{path}: {type(gradient)} for {type(like)}"
        theirs = fields(gradient)
        for k, v in fields(like).items():
            assert_same_structure(theirs[k], v, f"{path}.{k}")


def check_reverse(f, args, position=0):
    """grad, and vjp, against central differences, with the argument's type."""
    gradient = ad.grad(f, wrt=position)(*args)
    assert_same_structure(gradient, args[position])
    expected = fd_gradient(f, args, position)
    np.testing.assert_allclose(flatten(gradient), expected, rtol=1e-6, atol=1e-7)
    out, pullback = ad.vjp(f, *args, wrt=position)
    assert np.isclose(out, f(*args))
    (cotangent,) = pullback(1.0)
    assert_same_structure(cotangent, args[position])
    np.testing.assert_allclose(flatten(cotangent), flatten(gradient), rtol=1e-12)
    return gradient


def check_forward(f, args, position=0, directions=2):
    """jvp along random directions (tangents of the argument's type) against differences."""
    fd = fd_gradient(f, args, position)
    for _ in range(directions):
        v = RNG.normal(size=fd.size)
        tangents = [None] * len(args)
        tangents[position] = unflatten(args[position], v)
        out, tangent = ad.jvp(f, tuple(args), tuple(tangents))
        assert np.isclose(out, f(*args))
        np.testing.assert_allclose(tangent, fd @ v, rtol=1e-6, atol=1e-7)


def check_both_modes(f, args, position=0):
    check_forward(f, args, position)
    return check_reverse(f, args, position)


# ------------------------------------------------------------ a dataclass of parameters


@dataclasses.dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray


@dataclasses.dataclass
class MLP:
    layers: list
    scale: float
    activation: str = "tanh"
    depth: int = 2
    note: Optional[str] = None


def mlp_forward(params, x):
    h = x
    for layer in params.layers:
        h = np.tanh(layer.W @ h + layer.b)
    return params.scale * h


def mlp_loss(params, xs, ys):
    total = 0.0
    for i in range(len(ys)):
        residual = mlp_forward(params, xs[i]) - ys[i]
        total = total + np.sum(residual**2)
    return total / len(ys)


def make_mlp():
    sizes = [(4, 3), (2, 4)]
    layers = [Layer(RNG.normal(size=s) * 0.5, RNG.normal(size=s[0]) * 0.1) for s in sizes]
    return MLP(layers, 1.5)


XS = RNG.normal(size=(5, 3))
YS = RNG.normal(size=(5, 2))


def test_a_dataclass_of_parameters_gets_a_dataclass_gradient_in_both_modes():
    params = make_mlp()
    gradient = check_both_modes(mlp_loss, [params, XS, YS])
    assert isinstance(gradient, MLP) and isinstance(gradient.layers[0], Layer)
    assert gradient.activation is None and gradient.depth is None and gradient.note is None
    assert params.activation == "tanh"  # the argument is never changed


def test_training_a_dataclass_mlp_lowers_its_loss():
    params = make_mlp()
    value_and_grad = ad.value_and_grad(mlp_loss)
    losses = []
    for _ in range(30):
        loss, g = value_and_grad(params, XS, YS)
        losses.append(loss)
        params = MLP(
            [Layer(p.W - 0.1 * d.W, p.b - 0.1 * d.b) for p, d in zip(params.layers, g.layers)],
            params.scale - 0.1 * g.scale,
        )
    assert losses[-1] < 0.7 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))


@dataclasses.dataclass(frozen=True)
class Line:
    slope: float
    intercept: float


def linear_regression_loss(line, x, y):
    return np.mean((line.slope * x + line.intercept - y) ** 2)


def test_linear_regression_on_a_frozen_dataclass_converges_to_least_squares():
    x = np.linspace(-1.0, 2.0, 20)
    y = 3.0 * x - 0.5 + 0.1 * np.sin(7 * x)
    line = Line(0.0, 0.0)
    check_both_modes(linear_regression_loss, [Line(0.3, -0.2), x, y])
    grad = ad.grad(linear_regression_loss)
    for _ in range(500):
        g = grad(line, x, y)
        assert type(g) is Line and type(g.slope) is float
        line = Line(line.slope - 0.2 * g.slope, line.intercept - 0.2 * g.intercept)
    slope, intercept = np.polyfit(x, y, 1)
    assert np.isclose(line.slope, slope, atol=1e-4)
    assert np.isclose(line.intercept, intercept, atol=1e-4)


def test_the_gradient_source_reads_fields_by_attribute():
    text = ad.source(linear_regression_loss)
    assert "line.slope" in text and "as_structure(dline, line)" in text


# ------------------------------------------------------------ NamedTuples and namespaces


class Gaussian(NamedTuple):
    mean: np.ndarray
    log_sigma: float
    name: str = "prior"


Pair = collections.namedtuple("Pair", "a b")


def gaussian_nll(g, x):
    z = (x - g.mean) / np.exp(g.log_sigma)
    return 0.5 * np.sum(z**2) + x.size * g[1]  # by attribute and by position


def pair_product(p):
    a, b = p
    return a * np.sin(b) + p.a**2


def namespace_model(ns, x):
    h = np.tanh(ns.encoder.W @ x + ns.encoder.b)
    return np.sum(ns.heads["main"] * h) + ns.offset * ns.count


def test_a_namedtuple_gets_a_namedtuple_gradient_in_both_modes():
    g = check_both_modes(gaussian_nll, [Gaussian(RNG.normal(size=3), 0.3), RNG.normal(size=3)])
    assert type(g) is Gaussian and g.name is None
    assert type(check_both_modes(pair_product, [Pair(0.7, 1.2)])) is Pair


def test_a_simple_namespace_nested_with_a_dict_in_both_modes():
    ns = types.SimpleNamespace(
        encoder=types.SimpleNamespace(W=RNG.normal(size=(3, 2)), b=RNG.normal(size=3)),
        heads={"main": RNG.normal(size=3)},
        offset=0.25,
        count=3,
        label="model",
    )
    g = check_both_modes(namespace_model, [ns, RNG.normal(size=2)])
    assert isinstance(g, types.SimpleNamespace) and g.count is None and g.label is None


def dict_of_records(params, x):
    return np.sum(params["first"].W @ x) * params["second"][0].b ** 2


def test_records_nested_in_dicts_lists_and_tuples():
    params = {
        "first": Layer(RNG.normal(size=(2, 2)), RNG.normal(size=2)),
        "second": (Layer(np.eye(2), 0.5), Pair(1.0, 2.0)),
    }
    g = check_both_modes(dict_of_records, [params, RNG.normal(size=2)])
    assert type(g["second"]) is tuple and type(g["second"][1]) is Pair


# ------------------------------------------------------------ records made and replaced


def replaced_line(line, x):
    steeper = dataclasses.replace(line, slope=line.slope * 2.0)
    return np.sum(steeper.slope * x + steeper.intercept)


def replaced_pair(p):
    q = p._replace(b=p.a * p.b)
    return q.a + q.b**2


def made_layer(w, x):
    layer = Layer(W=w * 2.0, b=np.sin(w[0]))
    return np.sum(np.tanh(layer.W @ x + layer.b))


def made_namespace(a):
    ns = types.SimpleNamespace(a=a * 3.0, k=2)
    return ns.a**ns.k


@pytest.mark.parametrize(
    "f, args",
    [
        (replaced_line, [Line(0.5, 1.5), np.arange(3.0)]),
        (replaced_pair, [Pair(1.3, -0.4)]),
        (made_layer, [RNG.normal(size=(2, 2)), RNG.normal(size=2)]),
        (made_namespace, [0.7]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_records_made_and_replaced_inside_are_differentiated(f, args):
    check_both_modes(f, args)


class Normal(NamedTuple):
    mu: float
    sigma: float

    def logpdf(self, x):
        return -0.5 * self.z(x) ** 2 - np.log(self.sigma) - 0.5 * np.log(2 * np.pi)

    def z(self, x):
        return (x - self.mu) / self.sigma


@dataclasses.dataclass
class Affine:
    w: np.ndarray
    b: float = 0.5
    act: object = np.tanh

    @property
    def gain(self):
        return 1.0 + np.sum(self.w**2)

    def hidden(self, x):
        return np.tanh(x @ self.w + self.b)

    def predict(self, x):
        return self.gain * self.hidden(x)

    def through_field(self, x):
        return self.act(x @ self.w)


DATA = RNG.normal(size=(5, 3))


def log_likelihood(theta):
    # a method of a record made by its constructor call, and one it calls
    return np.sum(Normal(theta[0], np.exp(theta[1])).logpdf(DATA[:, 0]))


def model_made_inside(w):
    model = Affine(w)
    shifted = dataclasses.replace(model, b=-0.25)  # a replaced record keeps its methods
    return np.sum(model.predict(DATA) ** 2) + np.sum(shifted.hidden(DATA))


@pytest.mark.parametrize(
    "f, x",
    [(log_likelihood, np.array([0.3, -0.2])), (model_made_inside, np.array([0.1, -0.2, 0.3]))],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_methods_of_records_made_inside_are_inlined_to_second_order(f, x):
    check_both_modes(f, [x])
    gradient, h = ad.grad(f), 1e-5
    expected = np.array(
        [(gradient(x + h * e) - gradient(x - h * e)) / (2 * h) for e in np.eye(x.size)]
    )
    np.testing.assert_allclose(ad.hessian(f)(x), expected, rtol=1e-5, atol=1e-7)


def calls_a_function_field(w):
    return np.sum(Affine(w).through_field(DATA))


def method_of_a_record_bound_in_branches(w):
    if w[0] > 0:
        model = Affine(w)
    else:
        model = Affine(-w)
    return np.sum(model.predict(DATA))


def test_a_function_in_a_field_and_a_record_of_branches_are_refused():
    with pytest.raises(ad.TransformError, match="`act` is a field of Affine"):
        ad.grad(calls_a_function_field)(np.ones(3))
    with pytest.raises(ad.TransformError, match="method `.predict\\(\\)`"):
        ad.grad(method_of_a_record_bound_in_branches)(np.ones(3))


@dataclasses.dataclass
class State:
    pos: float
    vel: float
    steps: int = 0


def simulate(state, dt):
    for _ in range(5):
        state = dataclasses.replace(
            state,
            pos=state.pos + dt * state.vel,
            vel=state.vel - dt * np.sin(state.pos),
            steps=state.steps + 1,
        )
    return state.pos**2 + state.vel * state.steps


class Running(NamedTuple):
    total: float
    count: int


def running_mean_of_squares(xs):
    acc = Running(0.0, 0)
    for v in xs:
        acc = Running(acc.total + v * v, acc.count + 1)
    return acc.total / acc.count


def branch_on_a_field(state):
    if state.pos > 0:
        chosen = state
    else:
        chosen = dataclasses.replace(state, pos=-state.pos)
    return chosen.pos * chosen.vel**2


def test_records_replaced_in_loops_and_branches_in_both_modes():
    g = check_both_modes(simulate, [State(0.3, 0.2), 0.1])
    assert type(g) is State and g.steps is None
    check_both_modes(running_mean_of_squares, [RNG.normal(size=4)])
    check_both_modes(branch_on_a_field, [State(0.4, 0.3)])
    check_both_modes(branch_on_a_field, [State(-0.4, 0.3)])


def test_hvp_through_records_replaced_in_a_loop():
    state, direction = State(0.3, 0.2), State(0.6, -0.8)
    hv = ad.hvp(simulate)(state, 0.1, direction)
    gradient = ad.grad(simulate)
    h = 1e-5
    plus = flatten(gradient(State(0.3 + h * 0.6, 0.2 - h * 0.8), 0.1))
    minus = flatten(gradient(State(0.3 - h * 0.6, 0.2 + h * 0.8), 0.1))
    assert type(hv) is State
    np.testing.assert_allclose(flatten(hv), (plus - minus) / (2 * h), rtol=1e-6, atol=1e-8)


def record_out(line, t):
    return Line(line.slope * t, line.intercept + t**2)


def test_a_record_as_the_result():
    line = Line(0.8, -0.3)
    out, tangent = ad.jvp(record_out, (line, 2.0), (Line(1.0, 0.0), 0.5))
    assert out == Line(1.6, 3.7) and type(tangent) is Line
    assert np.allclose([tangent.slope, tangent.intercept], [2.0 + 0.8 * 0.5, 2.0 * 2.0 * 0.5])
    _, pullback = ad.vjp(record_out, line, 2.0)
    d_line, d_t = pullback(Line(1.0, 1.0))
    assert type(d_line) is Line and np.isclose(d_line.slope, 2.0) and np.isclose(d_t, 0.8 + 4.0)


# ------------------------------------------------------------ bound methods


class Regressor:
    """A model whose parameters are attributes, with methods calling one another."""

    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.name = "regressor"

    def forward(self, x):
        return np.tanh(self.W @ x + self.b)

    @property
    def weight_norm(self):
        return np.sum(self.W**2)

    @staticmethod
    def penalty(v):
        return 0.01 * np.sum(v**2)

    def loss(self, x, y):
        return np.sum((self.forward(x) - y) ** 2) + self.penalty(x) + 0.1 * self.weight_norm


class Doubled(Regressor):
    def forward(self, x):
        return 2.0 * (self.W @ x)


def make_regressor(cls=Regressor):
    return cls(RNG.normal(size=(2, 3)), RNG.normal(size=2))


X3, Y2 = RNG.normal(size=3), RNG.normal(size=2)


def test_a_bound_method_differentiates_its_arguments_with_self_constant():
    model = make_regressor()

    def as_function(x, y):
        return model.loss(x, y)

    check_both_modes(model.loss, [X3, Y2])  # self.forward, a staticmethod and a property inlined
    assert np.allclose(ad.grad(model.loss)(X3, Y2), fd_gradient(as_function, [X3, Y2], 0))
    assert np.allclose(ad.grad(model.loss, wrt="y")(X3, Y2), fd_gradient(as_function, [X3, Y2], 1))


def test_a_bound_method_differentiated_with_respect_to_self():
    model = make_regressor()

    def loss_of_model(m, x, y):
        return m.loss(x, y)

    g = ad.grad(model.loss, wrt="self")(X3, Y2)
    assert type(g) is Regressor and g.name is None
    expected = fd_gradient(loss_of_model, [model, X3, Y2], 0)
    np.testing.assert_allclose(flatten(g), expected, rtol=1e-6, atol=1e-7)
    g_self, g_x = ad.grad(model.loss, wrt=("self", 0))(X3, Y2)
    np.testing.assert_allclose(flatten(g_self), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g_x, fd_gradient(loss_of_model, [model, X3, Y2], 1), rtol=1e-6)
    assert model.name == "regressor" and isinstance(model.W, np.ndarray)


def test_a_subclass_overriding_a_method_gets_its_own_derivative():
    base, doubled = make_regressor(), make_regressor(Doubled)
    ad.grad(base.loss)(X3, Y2)  # the base class's derivative is built first
    g = ad.grad(doubled.loss)(X3, Y2)
    np.testing.assert_allclose(g, fd_gradient(lambda x: doubled.loss(x, Y2), [X3], 0), rtol=1e-6)


def test_hvp_and_hessian_of_a_bound_method():
    model = make_regressor()
    v = RNG.normal(size=3)
    hvp = ad.hvp(model.loss)(X3, Y2, v)
    gradient = ad.grad(model.loss)
    h = 1e-5
    fd = (gradient(X3 + h * v, Y2) - gradient(X3 - h * v, Y2)) / (2 * h)
    np.testing.assert_allclose(hvp, fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ad.hessian(model.loss)(X3, Y2) @ v, hvp, rtol=1e-10)


def test_jacobian_and_hessian_of_a_bound_method_with_respect_to_self():
    model = make_regressor()
    jac = ad.jacobian(model.forward, wrt="self")(X3)
    assert type(jac) is Regressor and jac.W.shape == (2, 2, 3) and jac.name is None

    def output(m, x, k):
        return m.forward(x)[k]

    for k in range(2):
        fd = fd_gradient(output, [model, X3, k], 0)
        np.testing.assert_allclose(flatten(Regressor(jac.W[k], jac.b[k])), fd, rtol=1e-6)
    hessian = ad.hessian(model.loss, wrt="self")(X3, Y2)
    assert type(hessian) is Regressor and type(hessian.W) is Regressor
    v = unflatten(model, RNG.normal(size=8))
    hv = ad.hvp(model.loss, wrt="self")(X3, Y2, v)
    blocks = np.block(
        [
            [hessian.W.W.reshape(6, 6), hessian.W.b.reshape(6, 2)],
            [hessian.b.W.reshape(2, 6), hessian.b.b.reshape(2, 2)],
        ]
    )
    np.testing.assert_allclose(blocks @ flatten(v), flatten(hv), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------ second order through objects


def test_hvp_through_a_dataclass_argument():
    params = make_mlp()
    v = unflatten(params, RNG.normal(size=flatten(params).size))
    hv = ad.hvp(mlp_loss)(params, XS, YS, v)
    assert type(hv) is MLP and type(hv.layers[1]) is Layer
    gradient = ad.grad(mlp_loss)
    h = 1e-5
    base, direction = flatten(params), flatten(v)
    plus = flatten(gradient(unflatten(params, base + h * direction), XS, YS))
    minus = flatten(gradient(unflatten(params, base - h * direction), XS, YS))
    np.testing.assert_allclose(flatten(hv), (plus - minus) / (2 * h), rtol=1e-5, atol=1e-7)


def test_hessian_of_a_namedtuple_is_nested_namedtuples():
    def f(p):
        return p.a**2 * p.b + np.sin(p.b)

    h = ad.hessian(f)(Pair(1.5, 0.5))
    assert type(h) is Pair and type(h.a) is Pair
    assert np.allclose([[h.a.a, h.a.b], [h.b.a, h.b.b]], [[1.0, 3.0], [3.0, -np.sin(0.5)]])


def layer_output(layer, x):
    return np.tanh(layer.W @ x) * layer.b


def test_jacobian_and_hessian_of_a_dataclass_have_its_structure():
    layer = Layer(RNG.normal(size=(2, 3)), RNG.normal(size=2))
    x = RNG.normal(size=3)
    for mode in ("forward", "reverse"):
        jac = ad.jacobian(layer_output, mode=mode)(layer, x)
        assert type(jac) is Layer and jac.W.shape == (2, 2, 3) and jac.b.shape == (2, 2)
        for k in range(2):  # row k of the Jacobian: the gradient of output k
            row = flatten(Layer(jac.W[k], jac.b[k]))
            fd = fd_gradient(lambda p, v, k=k: layer_output(p, v)[k], [layer, x], 0)
            np.testing.assert_allclose(row, fd, rtol=1e-6, atol=1e-8)

    def energy(p, v):
        return np.sum(layer_output(p, v) ** 2)

    hessian = ad.hessian(energy)(layer, x)
    assert type(hessian) is Layer and type(hessian.W) is Layer
    assert hessian.W.W.shape == (2, 3, 2, 3) and hessian.b.W.shape == (2, 2, 3)
    direction = RNG.normal(size=8)
    blocks = np.block(
        [
            [hessian.W.W.reshape(6, 6), hessian.W.b.reshape(6, 2)],
            [hessian.b.W.reshape(2, 6), hessian.b.b.reshape(2, 2)],
        ]
    )
    hv = ad.hvp(energy)(layer, x, unflatten(layer, direction))
    np.testing.assert_allclose(blocks @ direction, flatten(hv), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ tuple gradients are tuples


def summed(t):
    return sum(t) ** 2


def stacked(t):
    return np.sum(np.stack(t) ** 3)


def unpacked(t):
    a, b = t
    return a * b


TUPLE_CASES = [
    (summed, (2.0, 3.0)),
    (stacked, (np.ones(2), np.arange(2.0))),
    (unpacked, (2.0, 3.0)),
]


@pytest.mark.parametrize("f, t", TUPLE_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_a_tuple_argument_gets_a_tuple_gradient_in_every_transform(f, t):
    expected = fd_gradient(f, [t], 0)
    results = {
        "grad": ad.grad(f)(t),
        "value_and_grad": ad.value_and_grad(f)(t)[1],
        "vjp": ad.vjp(f, t)[1](1.0)[0],
        "grad wrt=(0,)": ad.grad(f, wrt=(0,))(t)[0],
        "hvp": ad.hvp(f)(t, t),
    }
    for name, gradient in results.items():
        assert type(gradient) is tuple, f"{name}: {type(gradient).__name__}"
    for name in ("grad", "value_and_grad", "vjp", "grad wrt=(0,)"):
        np.testing.assert_allclose(flatten(results[name]), expected, rtol=1e-6, atol=1e-8)
    assert type(ad.hessian(f)(t)) is tuple
    assert type(ad.jacobian(f)(t)) is tuple


def sum_and_item(t):
    return sum(t) ** 2 * t[0]


def stack_and_item(t):
    return np.sum(np.stack(t) ** 2) * t[0][0]


def array_and_item(t):
    return np.sum(np.array(t) ** 2) * t[0]


def hstack_and_item(t):
    return np.sum(np.hstack(t) ** 2) * t[0][1]


WHOLE_AND_ITEM = [
    (sum_and_item, (2.0, 3.0)),
    (sum_and_item, [2.0, 3.0]),
    (stack_and_item, (np.ones(2), np.arange(2.0))),
    (array_and_item, (2.0, 3.0)),
    (hstack_and_item, [np.ones(2), np.arange(2.0)]),
]


@pytest.mark.parametrize("f, t", WHOLE_AND_ITEM, ids=lambda v: getattr(v, "__name__", ""))
def test_a_container_read_whole_and_by_item_adds_both_cotangents(f, t):
    """The cotangent of `t[0]` and that of `sum(t)` (or `np.stack(t)`) add item by item
    (`+=` on the list of cotangents joined them: the gradient lost the second part)."""
    gradient = ad.grad(f)(t)
    assert type(gradient) is type(t)
    np.testing.assert_allclose(flatten(gradient), fd_gradient(f, [t], 0), rtol=1e-6, atol=1e-8)
    check_forward(f, [t])


def test_a_tuple_argument_beside_others_and_with_has_aux():
    def f(t, scale):
        return scale * sum(t), "aux"

    (g_t, g_scale), aux = ad.grad(f, wrt=(0, 1), has_aux=True)((1.0, 2.0), 3.0)
    assert g_t == (3.0, 3.0) and type(g_t) is tuple and g_scale == 3.0 and aux == "aux"
    (_, aux), g = ad.value_and_grad(f, has_aux=True)((1.0, 2.0), 3.0)
    assert type(g) is tuple


# ------------------------------------------------------------ what stays refused


def sets_an_attribute(p, x):
    p.W = p.W * x
    return np.sum(p.W)


class Counter:
    def __init__(self):
        self.calls = 0.0

    def step(self, x):
        self.calls = self.calls + 1.0
        return x * self.calls


def test_setting_an_attribute_of_an_argument_is_refused_in_the_users_words():
    with pytest.raises(ad.TransformError) as refused:
        ad.grad(sets_an_attribute)(Layer(np.ones(2), np.zeros(2)), 2.0)
    message = str(refused.value)
    assert "`p.W = ...` changes the object `p` in place" in message
    assert "dataclasses.replace(p, W=...)" in message and "p.W = p.W * x" in message


def test_a_method_setting_an_attribute_of_self_is_refused():
    with pytest.raises(ad.TransformError, match=r"`self\.calls = \.\.\.` changes the object"):
        ad.grad(Counter().step)(1.0)


def test_a_record_without_floating_fields_cannot_be_differentiated():
    config = types.SimpleNamespace(n=3, name="x")
    with pytest.raises(TypeError, match=r"it is a SimpleNamespace; expected a float"):
        ad.grad(lambda c, x: c.n * x)(config, 1.0)


def test_a_tangent_of_another_type_is_refused():
    with pytest.raises(TypeError, match=r"tangent of 'line' must be a Line like the argument"):
        args = (Line(1.0, 0.0), np.ones(2), np.ones(2))
        ad.jvp(linear_regression_loss, args, ((1.0, 0.0), None, None))


def test_wrt_self_only_for_a_bound_method():
    model = make_regressor()
    with pytest.raises(TypeError, match=r"has no parameter 'selff'.*\(and 'self', its object\)"):
        ad.grad(model.loss, wrt="selff")
    with pytest.raises(TypeError, match=r"no parameter 'self'"):
        ad.grad(functools.partial(mlp_loss, make_mlp()), wrt="self")


def test_the_decorator_refuses_a_bound_method_and_names_the_transforms():
    with pytest.raises(TypeError, match=r"ad\.grad\(model\.loss\)"):
        ad.differentiate(make_regressor().loss)


def test_source_and_trace_of_a_bound_method():
    model = make_regressor()
    text = ad.source(model.loss, wrt="self")
    assert "def loss_grad(self, x, y):" in text and "self.W" in text
    assert "as_structure(dself, self)" in text
    assert "load('self')" in ad.trace(model.loss)


def reads_mT(x):  # an array attribute without a rule (`.imag` has one: complex numbers)
    return np.sum(x * x.mT)


def test_an_attribute_of_an_array_that_is_not_a_field_is_refused_when_differentiated():
    with pytest.raises(TypeError, match=r"`\.mT` as a field of a dataclass.*not of a ndarray"):
        ad.grad(reads_mT)(np.ones((2, 2)))


def cubed_field(s):
    layer = Layer(W=s * 2.0, b=np.sin(s))
    return layer.W**3 + layer.b  # 8 s^3 + sin s


def test_taylor_mode_reads_the_fields_of_a_record():
    # reading a field is linear in the record: each coefficient goes through it
    s = 0.6
    assert ad.derivative(cubed_field, order=2)(s) == pytest.approx(48 * s - np.sin(s))
    assert ad.derivative(cubed_field, order=3)(s) == pytest.approx(48 - np.cos(s))
