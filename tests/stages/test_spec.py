"""The spec every stage receives: strings coerce to Mode and Kind, and order belongs to one mode."""

import pytest

from s2s_ad.compiler.spec import (
    COTANGENTS,
    DERIVATIVE,
    GRAD,
    JVP,
    MODES,
    SERIES,
    TANGENT,
    VALUE_AND_GRAD,
    VJP,
    Mode,
    Spec,
)
from s2s_ad.rules.kinds import ARRAY, SCALAR, UNKNOWN, Kind


def test_strings_coerce_to_mode_and_kinds():
    spec = Spec("vjp", ["x", "w"], ["scalar", "array"])
    assert spec.mode is VJP
    assert spec.wrt == ("x", "w")
    assert spec.kinds == (SCALAR, ARRAY)
    assert all(type(kind) is Kind for kind in spec.kinds)


def test_a_spec_from_strings_equals_one_from_enums_and_hashes_alike():
    """The pipeline caches emitted code by spec: both spellings must find one entry."""
    from_strings = Spec("grad", ["x"], ["unknown"])
    from_enums = Spec(GRAD, ("x",), (UNKNOWN,))
    assert from_strings == from_enums
    assert hash(from_strings) == hash(from_enums)
    assert from_strings != Spec(GRAD, ("x",), (UNKNOWN,), optimize=False)


def test_a_spec_is_frozen():
    spec = Spec("grad", ("x",), ("scalar",))
    with pytest.raises(AttributeError):
        spec.mode = JVP


@pytest.mark.parametrize(
    "mode, kinds",
    [("hessian", ("scalar",)), ("grad", ("matrix",)), ("GRAD", ("scalar",))],
    ids=["unknown mode", "unknown kind", "mode names are lowercase"],
)
def test_unknown_names_are_refused(mode, kinds):
    with pytest.raises(ValueError):
        Spec(mode, ("x",), kinds)


@pytest.mark.parametrize("mode", [m for m in MODES if m not in (DERIVATIVE, SERIES)])
def test_order_above_one_is_only_for_derivative_and_series(mode):
    with pytest.raises(ValueError, match="only for modes 'derivative' and 'series'"):
        Spec(mode, ("x",), ("scalar",), order=2)


def test_order_above_one_of_derivative_is_taylor_mode():
    assert Spec("derivative", ("x",), ("scalar",), order=3).taylor
    assert not Spec("derivative", ("x",), ("scalar",)).taylor
    assert not Spec("jvp", ("x",), ("scalar",)).taylor
    assert Spec("series", ("x",), ("scalar",), order=2).taylor  # what Taylor-mode code calls


def test_mode_is_its_name_as_a_string():
    assert Mode("value_and_grad") is VALUE_AND_GRAD
    assert VALUE_AND_GRAD == "value_and_grad"
    assert str(TANGENT) == "tangent"
    assert f"{JVP}" == "jvp"
    assert f"f_{GRAD}" == "f_grad"  # how emitted functions are named


def test_reverse_modes():
    assert {m for m in MODES if m.is_reverse} == {GRAD, VALUE_AND_GRAD, VJP, COTANGENTS}


def test_param_kinds_pairs_names_with_kinds_in_order():
    spec = Spec("jvp", ("w",), ("scalar", "array", "unknown"))
    assert spec.param_kinds(("x", "w", "b")) == {"x": SCALAR, "w": ARRAY, "b": UNKNOWN}
