"""The one error users see when a function cannot be transformed.

Defined in :mod:`s2s_ad.runtime.errors`, the lowest layer, because emitted code
raises it too: where only the values can tell (a write into an array that
another name still holds), the check runs when the derivative does.
"""

from ..runtime.errors import Loc, TransformError

__all__ = ["Loc", "TransformError"]
