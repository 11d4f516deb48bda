"""The compiler: parse -> lower -> analyse -> forward / taylor / reverse -> optimize -> emit.

:mod:`.pipeline` runs the stages in order and caches the emitted code;
:mod:`.derived` holds the transform of one user function that the API calls.
Importing the package registers that cache with :mod:`.hooks`, which the
code emitted for calls into other user functions reads.
"""

from . import derived  # noqa: F401  (registers the derived-function cache)
