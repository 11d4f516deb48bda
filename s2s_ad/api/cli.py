"""The ``s2s-ad`` command: print the derivative code s2s_ad emits for a function.

s2s-ad PATH.py:FUNC [--mode forward|reverse] [--wrt x,y] [--trace] [--no-optimize]
                    [--graph [--format dot|svg|png] [-o FILE]]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import os
import sys
from typing import List, Optional

from ..compiler.derived import parameters, signature
from ..compiler.errors import TransformError
from . import transforms as api
from .graph import graph as draw_graph

EXIT_OK, EXIT_TRANSFORM, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2s-ad",
        description="Print the derivative source that s2s_ad emits for a Python function.",
    )
    parser.add_argument("target", metavar="PATH.py:FUNC", help="the file and the function in it")
    parser.add_argument(
        "--mode", choices=("forward", "reverse"), default="reverse", help="default: reverse"
    )
    parser.add_argument(
        "--wrt",
        help="comma-separated parameter names or positions "
        "(default: every parameter not annotated int or bool)",
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
        real = tuple(name for name in names if not _annotated_integer(fn, name))
        return real or tuple(names)
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise _Usage("--wrt needs at least one parameter")
    return tuple(int(item) if item.lstrip("-").isdigit() else item for item in items)


def _annotated_integer(fn, name: str) -> bool:
    """Whether a parameter is annotated ``int`` or ``bool``: a count or a flag."""
    annotation = signature(fn).parameters[name].annotation
    return annotation in (int, bool, "int", "bool")


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
