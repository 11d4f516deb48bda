"""Collection of the package's doctests (``testpaths`` has ``s2s_ad``; the tests have their own
``tests/conftest.py``): the modules of the optional extra ``scipy`` import SciPy, so their
doctests are collected only where SciPy is installed."""

collect_ignore = []
try:
    import scipy.linalg  # noqa: F401
except ImportError:
    collect_ignore += ["s2s_ad/rules/scipy.py", "s2s_ad/runtime/scipy_lu.py"]
