"""Golden files of the emitted code: the derivative source is the product.

Every file under tests/programs/test_golden/ is compared exactly.  After a deliberate
change to the emitted code, regenerate them with pytest-regressions' flag

    python -m pytest tests/programs/test_golden.py --force-regen

and review the diff like code.
"""

import inspect
import re
from pathlib import Path

import pytest

import s2s_ad as ad

LECTURE_EXAMPLES = ["normal_pdf", "log_product_sine", "product", "log_sqrt", "square_plus"]


def _all_parameters(fn):
    return tuple(inspect.signature(fn).parameters)


@pytest.mark.parametrize("name", LECTURE_EXAMPLES)
def test_trace(lectures, file_regression, name):
    fn = getattr(lectures, name)
    file_regression.check(ad.trace(fn), basename=f"{name}_trace", extension=".txt")


@pytest.mark.parametrize("name", LECTURE_EXAMPLES)
def test_forward_source(lectures, file_regression, name):
    fn = getattr(lectures, name)
    code = ad.source(fn, mode="forward", wrt=_all_parameters(fn))
    file_regression.check(code, basename=f"{name}_forward", extension=".py")


@pytest.mark.parametrize("name", LECTURE_EXAMPLES)
def test_reverse_source(lectures, file_regression, name):
    fn = getattr(lectures, name)
    code = ad.source(fn, mode="reverse", wrt=_all_parameters(fn))
    file_regression.check(code, basename=f"{name}_reverse", extension=".py")


def test_product_reverse_wrt_a_and_b(lectures, file_regression):
    code = ad.source(lectures.product, wrt=("a", "b"))
    file_regression.check(code, basename="product_reverse_wrt_a_b", extension=".py")


def test_product_reverse_unoptimized(lectures, file_regression):
    """The seed style: every primitive and adjoint on its own line."""
    code = ad.source(lectures.product, wrt=("a", "b"), optimize=False)
    file_regression.check(code, basename="product_reverse_unoptimized", extension=".py")


def test_normal_pdf_vjp(lectures, file_regression):
    code = ad.source(lectures.normal_pdf, mode="vjp", wrt=("x", "mu", "sigma"))
    file_regression.check(code, basename="normal_pdf_vjp", extension=".py")


def test_generic_code_for_unannotated_arrays(file_regression):
    """Without annotations the code also handles NumPy arrays: broadcasting is undone."""
    from conftest import load_example

    loss = load_example("fit_tanh").loss
    code = ad.source(loss, wrt=("a", "b"))
    file_regression.check(code, basename="fit_tanh_loss_reverse", extension=".py")


CONTROL_FLOW_EXAMPLES = ["power", "grow", "clip_sum"]


@pytest.mark.parametrize("name", CONTROL_FLOW_EXAMPLES)
def test_control_flow_reverse_source(file_regression, name):
    """A loop (the lecture's A**k), a `while` left by `break`, a branch inside a loop."""
    from conftest import load_example

    fn = getattr(load_example("control_flow"), name)
    file_regression.check(ad.source(fn), basename=f"{name}_reverse", extension=".py")


def test_control_flow_forward_source(file_regression):
    from conftest import load_example

    fn = load_example("control_flow").power
    code = ad.source(fn, mode="forward")
    file_regression.check(code, basename="power_forward", extension=".py")


PASTED_IN_DOCS = {
    "language.md": ["power_reverse", "grow_reverse", "clip_sum_reverse", "power_forward"],
    "higher-order.md": ["power_reverse", "power_hvp"],
    "memory.md": ["deep_reverse", "recurrence_checkpointed_reverse"],
}


@pytest.mark.parametrize("doc", sorted(PASTED_IN_DOCS))
def test_docs_show_the_emitted_code_of_today(doc):
    """The docs paste these golden files; a change to them must reach the docs."""
    from conftest import ROOT

    docs = (ROOT / "docs" / doc).read_text()
    golden = Path(__file__).resolve().with_suffix("")  # the data dir, named after this module
    for name in PASTED_IN_DOCS[doc]:
        code = (golden / f"{name}.py").read_text().strip()
        assert f"```python\n{code}\n```" in docs, f"docs/{doc} is out of date: {name}"


def test_hessian_vector_product_source(file_regression):
    """Forward mode over the emitted gradient: a tangent stack beside the stack."""
    from conftest import load_example

    power = load_example("control_flow").power
    code = ad.source(power, mode="hvp")
    file_regression.check(code, basename="power_hvp", extension=".py")


def test_second_order_through_a_call(file_regression):
    """The HVP of a price calling norm_cdf twice: both calls inlined, so forward mode
    runs over the gradient's whole computation (issue 17)."""
    from conftest import load_example

    price = load_example("closure").call_price
    code = ad.source(price, mode="hvp")
    file_regression.check(code, basename="closure_gamma_hvp", extension=".py")


def test_a_function_passed_as_an_argument(file_regression):
    """RK4 with a right-hand side lambda that captures alpha: the integrator and the
    lambda are inlined, and alpha gets its gradient (issue 17)."""
    from conftest import load_example

    decayed = load_example("closure").decayed
    code = ad.source(decayed, wrt=(0, 1))
    file_regression.check(code, basename="closure_rk4_reverse", extension=".py")


def _benchmark_workloads():
    from conftest import load_benchmark

    return load_benchmark("workloads")


# Workloads that time a lecture function: its golden file is the lecture's (normal_pdf_reverse,
# log_sqrt_reverse, log_product_sine_reverse), the same emitted code for the same kinds.
LECTURE_WORKLOADS = {"normal_pdf", "log_sqrt", "log_product_sine"}
BENCHMARKS = [w.name for w in _benchmark_workloads().WORKLOADS if w.name not in LECTURE_WORKLOADS]


def test_lecture_workloads_emit_the_lecture_golden_code():
    """What lets the benchmark goldens leave out the lecture functions: same code, same text."""
    import numpy as np

    from conftest import load_example

    lectures = load_example("lectures")
    workloads = _benchmark_workloads().WORKLOADS
    assert LECTURE_WORKLOADS <= {w.name for w in workloads}
    for workload in workloads:
        if workload.name in LECTURE_WORKLOADS:
            args = workload.arguments(np.random.default_rng(0))
            lecture = getattr(lectures, workload.name)
            wrt = _all_parameters(lecture)
            ours, theirs = (
                re.sub(r'# line \d+:|""".*"""', "", ad.source(g, wrt=wrt))
                for g in (workload.function, lecture)
            )  # the code but the docstring, whatever the lines of the two files
            assert ours == theirs, workload.name
            assert all(isinstance(a, float) for a in args), "scalar code, as the lecture's golden"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_source(file_regression, name):
    """The optimized code benchmarks/run.py times, for the kinds of its arguments."""
    import numpy as np

    from s2s_ad.compiler import analyse, pipeline
    from s2s_ad.compiler.pipeline import GRAD, TANGENT, Spec

    workload = next(w for w in _benchmark_workloads().WORKLOADS if w.name == name)
    args = workload.arguments(np.random.default_rng(0))
    f = workload.function
    params = _all_parameters(f)
    kinds = tuple(analyse.kind_of_value(a) for a in args[: len(params)])
    wrt = tuple(params[i] for i in workload.wrt)
    emitted = pipeline.build(f, Spec(GRAD, wrt, kinds))
    if workload.hvp:
        emitted = pipeline.build(emitted.bind(f), Spec(TANGENT, wrt, kinds))
    file_regression.check(emitted.text, basename=f"benchmark_{name}", extension=".py")


def test_checkpointed_loop_reverse_source(file_regression):
    """A checkpointed loop: the primal sweep saves snapshots and records only its last step;
    the adjoint sweep replays the schedule's actions (see docs/memory.md)."""
    from conftest import load_example

    fn = load_example("checkpointing").recurrence_checkpointed
    code = ad.source(fn, wrt=("x", "w"))
    file_regression.check(code, basename="recurrence_checkpointed_reverse", extension=".py")


def test_checkpointed_call_reverse_source(file_regression):
    """A call of an ad.checkpoint function: a plain call in the primal sweep, its VJP
    called in the adjoint sweep on the restored arguments."""
    from conftest import load_example

    fn = load_example("checkpointing").deep
    file_regression.check(ad.source(fn, wrt="W"), basename="deep_reverse", extension=".py")
