"""The lecture notes' worked examples, with their numbers, in both modes."""

import math

import numpy as np
import pytest

import s2s_ad as ad


def normal_pdf_gradient(x, mu, sigma):
    """The lecture's closed forms for the normal density's partial derivatives."""
    e = math.exp(-((mu - x) ** 2) / (2 * sigma**2))
    c = math.sqrt(2 * math.pi)
    return (
        (mu - x) * e / (c * sigma**3),
        (x - mu) * e / (c * sigma**3),
        -(sigma - x + mu) * (sigma + x - mu) * e / (c * sigma**4),
    )


def test_normal_pdf_gradient_matches_the_lecture(lectures):
    grad = ad.grad(lectures.normal_pdf, wrt=(0, 1, 2))(0.5, 0.0, 1.0)
    assert np.round(grad, 3).tolist() == [-0.176, 0.176, -0.264]
    assert grad == pytest.approx(normal_pdf_gradient(0.5, 0.0, 1.0), rel=1e-12)


@pytest.mark.parametrize("point", [(0.5, 0.0, 1.0), (-1.3, 0.4, 0.7), (2.0, 1.5, 2.5)])
def test_normal_pdf_forward_equals_closed_form(lectures, point):
    expected = normal_pdf_gradient(*point)
    for i in range(3):
        tangents = tuple(1.0 if j == i else None for j in range(3))
        value, tangent = ad.jvp(lectures.normal_pdf, point, tangents)
        assert value == pytest.approx(lectures.normal_pdf(*point), rel=1e-14)
        assert tangent == pytest.approx(expected[i], rel=1e-12)


def test_log_product_sine_value_and_gradient(lectures):
    value, (d1, d2) = ad.value_and_grad(lectures.log_product_sine, wrt=(0, 1))(2.0, 5.0)
    assert round(value, 3) == 11.652
    assert d1 == pytest.approx(5.5, rel=1e-14)
    assert round(d2, 3) == 1.716
    assert d2 == pytest.approx(2.0 - math.cos(5.0), rel=1e-14)


def test_log_product_sine_forward_mode_gives_the_same_numbers(lectures):
    _, d1 = ad.jvp(lectures.log_product_sine, (2.0, 5.0), (1.0, 0.0))
    _, d2 = ad.jvp(lectures.log_product_sine, (2.0, 5.0), (0.0, 1.0))
    assert (d1, d2) == pytest.approx((5.5, 2.0 - math.cos(5.0)), rel=1e-14)


@pytest.mark.parametrize("x, a, b", [(1.0, 2.0, 3.0), (-0.5, 4.0, -7.25)])
def test_product_partials_are_x_plus_b_and_x_plus_a(lectures, x, a, b):
    da, db = ad.grad(lectures.product, wrt=("a", "b"))(x, a, b)
    assert (da, db) == (x + b, x + a)
    assert ad.grad(lectures.product)(x, a, b) == pytest.approx(2 * x + a + b)


def test_product_reverse_code_has_no_dx_when_x_is_not_differentiated(lectures):
    for optimize in (True, False):
        code = ad.source(lectures.product, wrt=("a", "b"), optimize=optimize)
        assert "dx" not in code
        assert "da" in code or optimize


def test_log_sqrt_gradient_matches_the_hand_derivation(lectures):
    w1, w2 = 2.0, 3.0
    v2 = w2 * math.log(w1)
    dv2 = 1 + 1 / (2 * math.sqrt(v2))  # dL/dv2 through both paths
    expected = (dv2 * w2 / w1, dv2 * math.log(w1))
    assert ad.grad(lectures.log_sqrt, wrt=(0, 1))(w1, w2) == pytest.approx(expected, rel=1e-14)
    for i in range(2):
        tangents = (1.0, 0.0) if i == 0 else (0.0, 1.0)
        assert ad.jvp(lectures.log_sqrt, (w1, w2), tangents)[1] == pytest.approx(expected[i])


def test_forward_mode_of_x_plus_x_squared_at_3_is_7(lectures):
    assert ad.jvp(lectures.square_plus, (3.0,), (1.0,)) == (12.0, 7.0)
    assert ad.derivative(lectures.square_plus)(3.0) == 7.0
    assert ad.grad(lectures.square_plus)(3.0) == 7.0
