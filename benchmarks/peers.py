"""The peer libraries' derivatives of each workload, ready to time.

Each builder takes a workload and its NumPy arguments and returns the
callables to time, each with its arguments in the peer's own types.  Install
the peers with ``pip install -e ".[bench]"``; one that is missing is left out
of the table.
"""

from __future__ import annotations

import time
import types
from typing import Any, Callable, Dict, Tuple

import numpy as np
from workloads import Workload

Timed = Dict[str, Tuple[Callable, tuple]]  # label -> (function, its arguments)


def autograd_derivatives(workload: Workload, args: tuple) -> Timed:
    import autograd
    import autograd.numpy as anp
    from autograd.tracer import getval

    f = _peer_function(workload, anp, getval)
    if workload.hvp:
        return {"autograd": (autograd.hessian_vector_product(f), args)}
    return {"autograd": (autograd.grad(f, _argnum(workload)), args)}


def jax_derivatives(workload: Workload, args: tuple) -> Timed:
    import jax
    import jax.numpy as jnp

    f = _peer_function(workload, jnp, jax.lax.stop_gradient)
    derivative = _jax_derivative(workload, f)
    jitted = jax.jit(derivative, static_argnums=workload.static)
    inputs = tuple(a if i in workload.static else jnp.asarray(a) for i, a in enumerate(args))
    return {
        "JAX (no jit)": (_blocking(derivative), inputs),
        "JAX (jit)": (_blocking(jitted), inputs),
    }


def jax_first_call(workload: Workload, args: tuple) -> float:
    """Seconds of the first call of a freshly jitted derivative: tracing and compiling."""
    import jax
    import jax.numpy as jnp

    jax.clear_caches()
    f = _peer_function(workload, jnp, jax.lax.stop_gradient)
    jitted = jax.jit(_jax_derivative(workload, f), static_argnums=workload.static)
    inputs = tuple(a if i in workload.static else jnp.asarray(a) for i, a in enumerate(args))
    start = time.perf_counter()
    jax.block_until_ready(jitted(*inputs))
    return time.perf_counter() - start


def torch_derivatives(workload: Workload, args: tuple) -> Timed:
    import torch

    module = types.SimpleNamespace(
        sqrt=torch.sqrt,
        exp=torch.exp,
        log=torch.log,
        sin=torch.sin,
        tanh=torch.tanh,
        sum=torch.sum,
        max=torch.amax,
    )
    f = _peer_function(workload, module, lambda t: t.detach())
    inputs = tuple(
        a if i in workload.static else torch.tensor(a, dtype=torch.float64, requires_grad=True)
        for i, a in enumerate(args)
    )
    if workload.hvp:
        x, v = (a.detach() for a in inputs)

        def hvp(x, v):
            return torch.func.jvp(torch.func.grad(f), (x,), (v,))[1]

        return {"PyTorch": (hvp, (x, v))}
    wrt = [inputs[i] for i in workload.wrt]

    def gradient(*inputs):
        return torch.autograd.grad(f(*inputs), wrt)

    return {"PyTorch": (gradient, inputs)}


PEERS = {
    "autograd": autograd_derivatives,
    "jax": jax_derivatives,
    "torch": torch_derivatives,
}


def configure_threads() -> None:
    """One thread in every peer, as NumPy's BLAS gets (``run.py`` sets its environment)."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    except (ImportError, RuntimeError):
        pass


def versions() -> Dict[str, str]:
    from importlib import metadata

    found = {}
    for name in ("numpy", "autograd", "jax", "torch"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _peer_function(workload: Workload, module: Any, stop_gradient: Callable) -> Callable:
    if workload.name == "mlp":
        return workload.peer_function(module, stop_gradient)
    return workload.peer_function(module)


def _argnum(workload: Workload) -> Any:
    return workload.wrt if len(workload.wrt) > 1 else workload.wrt[0]


def _jax_derivative(workload: Workload, f: Callable) -> Callable:
    import jax

    if workload.hvp:
        return lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1]
    return jax.grad(f, argnums=_argnum(workload))


def _blocking(fn: Callable) -> Callable:
    import jax

    def call(*args):
        return jax.block_until_ready(fn(*args))

    return call


def as_numpy(value: Any) -> Any:
    """A peer's result as NumPy (tuples stay tuples), to check it against the hand-written one."""
    if isinstance(value, (tuple, list)):
        return tuple(as_numpy(v) for v in value)
    if hasattr(value, "detach"):
        value = value.detach()
    return np.asarray(value, dtype=float)
