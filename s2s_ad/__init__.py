"""s2s_ad: source-to-source automatic differentiation for Python and NumPy.

>>> import s2s_ad as ad
>>> def f(x, a, b):
...     return (x + a) * (x + b)
>>> ad.grad(f, wrt=("a", "b"))(1.0, 2.0, 3.0)
(4.0, 3.0)
"""

from .api.checkpointing import checkpoint, checkpointed
from .api.custom import defjvp, defvjp, transparent
from .api.graph import graph
from .api.higher import curl, divergence, hessian, hvp, jacobian, laplacian
from .api.transforms import (
    check_grad,
    derivative,
    differentiate,
    grad,
    jvp,
    source,
    trace,
    value_and_grad,
    vjp,
)
from .compiler.errors import TransformError
from .runtime import stop_gradient

__version__ = "0.1.0"

__all__ = [
    "TransformError",
    "check_grad",
    "checkpoint",
    "checkpointed",
    "curl",
    "defjvp",
    "defvjp",
    "derivative",
    "differentiate",
    "divergence",
    "grad",
    "graph",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "laplacian",
    "source",
    "stop_gradient",
    "trace",
    "transparent",
    "value_and_grad",
    "vjp",
]
