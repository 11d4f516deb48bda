"""The ``s2s-ad`` command: print the derivative code s2s_ad emits for a function.

s2s-ad PATH.py:FUNC [--mode forward|reverse] [--wrt x,y] [--trace] [--no-optimize]
                    [--graph [--format dot|svg|png] [-o FILE]]

The printed code runs as printed next to PATH.py: it starts with the imports
it needs, the user's module among them by the stem of PATH.py.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import os
import re
import sys
import typing
from typing import Any, List, Optional

import numpy as np

from ..compiler.derived import differentiable, needs_real
from ..compiler.errors import TransformError
from ..compiler.signatures import parameters, signature
from . import transforms as api
from .graph import graph as draw_graph

EXIT_OK, EXIT_TRANSFORM, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2s-ad",
        description="Print the derivative source that s2s_ad emits for a Python function. "
        "The code runs as printed next to PATH.py: it starts with the imports it needs.",
    )
    parser.add_argument("target", metavar="PATH.py:FUNC", help="the file and the function in it")
    parser.add_argument(
        "--mode", choices=("forward", "reverse"), default="reverse", help="default: reverse"
    )
    parser.add_argument(
        "--wrt",
        help="comma-separated parameter names or positions (default: the parameters that "
        "are floats or arrays by annotation, such as float or np.ndarray, or by a float "
        "default value, and those with neither annotation nor default, which are usually "
        "arrays; never one annotated int or bool or whose default is None, a bool or an int)",
    )
    parser.add_argument(
        "--trace", action="store_true", help="print the three-address trace instead"
    )
    parser.add_argument(
        "--no-optimize", action="store_true", help="print the code before optimization"
    )
    _add_graph_options(parser)
    return parser


def _load_function(target: str):
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise _Usage(f"expected PATH.py:FUNC, got {target!r}")
    if not os.path.isfile(path):
        raise _Usage(f"no such file: {path}")
    module_name = "_s2s_ad_cli_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        # Whatever the module prints while importing is not emitted source.
        with contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except BaseException as exc:  # the user's module failed to import, or exited
        raise _Usage(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    fn = getattr(module, name, None)
    if fn is None:
        raise _Usage(f"{path} has no function {name!r}")
    if not inspect.isfunction(fn):
        raise _Usage(f"{name!r} in {path} is a {type(fn).__name__}, not a function")
    return fn


class _Usage(Exception):
    pass


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 cannot transform, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        _check_graph_options(args)
        fn = _load_function(args.target)
        if args.trace:
            text = api.trace(fn)
        elif args.graph:
            text = _graph(fn, args)
        else:
            wrt = _wrt(args.wrt, fn)
            text = api.source(fn, mode=args.mode, wrt=wrt, optimize=not args.no_optimize)
    except _Usage as exc:
        print(f"s2s-ad: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TransformError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_TRANSFORM
    except (TypeError, ImportError, RuntimeError) as exc:  # ImportError: graphviz is missing
        print(f"s2s-ad: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(text, bytes):  # a picture
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _wrt(text: Optional[str], fn):
    if text is None:
        names = parameters(fn)
        if not names:
            raise _Usage("the function has no parameters to differentiate")
        params = signature(fn).parameters
        real = tuple(name for name in names if _takes_derivative(params[name]))
        if not real:
            raise _Usage(
                f"none of the parameters of {fn.__name__} is a float or an array by its "
                "annotation or default value; name them with --wrt"
            )
        return real
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise _Usage("--wrt needs at least one parameter")
    return tuple(int(item) if item.lstrip("-").isdigit() else item for item in items)


# Annotations of floats and arrays, also as strings (``from __future__ import annotations``).
_REAL_TYPES = (float, complex, np.ndarray, np.floating, np.complexfloating)
_REAL_WORDS = {"float", "complex", "ndarray", "NDArray", "floating", "float64", "float32"}


def _takes_derivative(param: inspect.Parameter) -> bool:
    """Whether the CLI differentiates ``param`` by default.

    Its annotation decides if it has one (``float``, ``np.ndarray``, ``list[float]``
    yes; ``int``, ``bool``, ``str`` no), else its default value (a float or a
    float array); a parameter with neither is taken: it is usually an array.
    A default of None is never taken, whatever the annotation says.
    """
    if param.default is None:
        return False
    if param.annotation is not param.empty:
        return _real_annotation(param.annotation)
    if param.default is not param.empty:
        return differentiable(param.default) and not needs_real(param.default)
    return True


def _real_annotation(annotation: Any) -> bool:
    """``float``, an array type, or a container or union of them (``Optional[float]``)."""
    if isinstance(annotation, str):
        return any(word in _REAL_WORDS for word in re.findall(r"\w+", annotation))
    if isinstance(annotation, type):
        return issubclass(annotation, _REAL_TYPES)
    parts = (typing.get_origin(annotation), *typing.get_args(annotation))
    return any(_real_annotation(part) for part in parts if part is not None)


# ------------------------------------------------- --graph: the picture of ad.graph


def _add_graph_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("computational graph (ad.graph)")
    group.add_argument(
        "--graph",
        action="store_true",
        help="print the computational graph as Graphviz DOT instead of code, with the "
        "adjoint (--mode reverse) or tangent (--mode forward) flow",
    )
    group.add_argument(
        "--format",
        choices=("dot", "svg", "png"),
        help="with --graph: DOT text (default), or a picture (needs the graphviz extra: "
        'pip install "s2s_ad[graph]")',
    )
    group.add_argument("-o", "--output", metavar="FILE", help="with --graph: write it to FILE")


def _check_graph_options(args: argparse.Namespace) -> None:
    if not args.graph and (args.format or args.output):
        raise _Usage("--format and -o/--output go with --graph")
    if args.graph and args.trace:
        raise _Usage("--graph and --trace are two outputs: choose one")
    if args.graph and args.format == "png" and not args.output and sys.stdout.isatty():
        raise _Usage("a PNG is not for a terminal: give -o FILE or redirect the output")


def _graph(fn, args: argparse.Namespace):
    """The DOT text or the picture's bytes; ``""`` once written to ``-o FILE``."""
    picture = draw_graph(fn, mode=args.mode, wrt=_wrt(args.wrt, fn))
    data = picture.pipe(args.format or "dot")
    if args.output:
        try:
            with open(args.output, "wb") as file:
                file.write(data)
        except OSError as exc:
            raise _Usage(f"cannot write {args.output}: {exc.strerror}") from None
        return ""
    return data.decode() if (args.format or "dot") == "dot" else data


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
