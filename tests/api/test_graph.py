"""``ad.graph``: the computational graph of the trace as Graphviz DOT, and ``s2s-ad --graph``.

The DOT text is parsed back (a small parser below) and checked node by node and edge by
edge for the lecture's ``(x + a) * (x + b)``.  The labels are checked against independent
oracles too: the node statements, executed in order, compute ``f``; each partial label,
evaluated there, matches central differences of its node's statement; and the adjoint
(tangent) labels, executed as the statements they are, in reverse (forward) order, give
the gradient (the directional derivative) that finite differences give.  Rendering needs
the ``graphviz`` package and the program ``dot``; those tests skip without them.
"""

import importlib.util
import inspect
import math
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2s_ad as ad

from conftest import central_difference

SOURCE = """
import math
import numpy as np

def power_loop(x, n):
    y = x
    for i in range(n):
        y = y * x + 1.0
    return y

def branches(x):
    if x > 0:
        y = np.sin(x)
    else:
        y = x * x
    return y * 2.0

def counted(x):
    k = 0
    while k < 3:
        x = x - math.exp(-x)
        k = k + 1
    return x

def helper(x):
    return x * 2.0

def structures(x, y):
    p = (x, y)
    q = p[0] * helper(y)
    z = np.zeros(3)
    z[1] = q
    return np.sum(z, axis=0) + q

def quoted(x):
    return x * float(len('a"b'))
"""

HAS_GRAPHVIZ = importlib.util.find_spec("graphviz") is not None
CAN_RENDER = HAS_GRAPHVIZ and shutil.which("dot") is not None
needs_rendering = pytest.mark.skipif(
    not CAN_RENDER,
    reason="rendering needs the graphviz package (pip install 's2s_ad[graph]') and the "
    "Graphviz program `dot` on PATH",
)


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    from conftest import import_source

    return import_source(SOURCE, tmp_path_factory.mktemp("graph"))


# ------------------------------------------------------------ reading DOT back

ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]\s]+)')
NODE = re.compile(r'^\s*("(?:[^"\\]|\\.)*") \[(.*)\];$')
EDGE = re.compile(r'^\s*("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*") \[(.*)\];$')
CLUSTER = re.compile(r"^\s*subgraph cluster_\d+ \{$")
CLUSTER_LABEL = re.compile(r'^\s*label=("(?:[^"\\]|\\.)*");')


def unquote(text):
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text[1:-1])


def attributes(text):
    return {key: unquote(v) if v.startswith('"') else v for key, v in ATTRIBUTE.findall(text)}


class Dot:
    """Nodes (id -> attributes, with the labels of the clusters around it), and edges."""

    def __init__(self, text):
        assert text.startswith("digraph ") and text.rstrip().endswith("}")
        self.nodes, self.edges, clusters = {}, [], []
        for line in text.splitlines()[1:-1]:
            if CLUSTER.match(line):
                clusters.append(None)
            elif line.strip() == "}":
                clusters.pop()
            elif CLUSTER_LABEL.match(line) and clusters and clusters[-1] is None:
                clusters[-1] = unquote(CLUSTER_LABEL.match(line).group(1))
            elif EDGE.match(line):
                tail, head, attrs = EDGE.match(line).groups()
                self.edges.append((unquote(tail), unquote(head), attributes(attrs)))
            elif NODE.match(line):
                node, attrs = NODE.match(line).groups()
                self.nodes[unquote(node)] = {**attributes(attrs), "clusters": tuple(clusters)}
            else:
                assert re.match(r"^\s*(graph|node|edge) \[", line), line
        assert not clusters

    def labels(self, kind):
        """(tail, head) -> [labels] of the edges of one kind."""
        found = {}
        for tail, head, attrs in self.edges:
            if attrs["class"] == kind:
                found.setdefault((tail, head), []).append(attrs.get("label", ""))
        return found

    def node_labels(self, kind):
        return {n: a["label"] for n, a in self.nodes.items() if a["class"] == kind}


def dot_of(f, **options):
    return Dot(str(ad.graph(f, **options)))


# ------------------------------------------------------------ the lecture's product

LECTURE_PARTIALS = {
    ("x", "t2"): ["1"],
    ("a", "t2"): ["1"],
    ("x", "t4"): ["1"],
    ("b", "t4"): ["1"],
    ("t2", "t5"): ["t4"],
    ("t4", "t5"): ["t2"],
}


def test_nodes_are_the_values_labelled_by_their_statements(lectures):
    dot = dot_of(lectures.product, wrt=("x", "a", "b"))
    assert dot.node_labels("input") == {"x": "x", "a": "a", "b": "b"}
    assert dot.node_labels("value") == {"t2": "t2 = x + a", "t4": "t4 = x + b"}
    assert dot.node_labels("output") == {"t5": "t5 = t2 * t4"}
    assert dot.nodes["t5"]["tooltip"].endswith("(x + a) * (x + b)")  # the user's text


def test_edges_carry_the_local_partials(lectures):
    assert dot_of(lectures.product).labels("partial") == LECTURE_PARTIALS


def test_reverse_mode_shows_the_adjoint_flow_backwards(lectures):
    dot = dot_of(lectures.product, wrt=("x", "a", "b"))
    assert dot.labels("adjoint") == {
        ("x", "t2"): ["dx += dt2"],
        ("a", "t2"): ["da += dt2"],
        ("x", "t4"): ["dx += dt4"],
        ("b", "t4"): ["db += dt4"],
        ("t2", "t5"): ["dt2 += dt5 * t4"],
        ("t4", "t5"): ["dt4 += dt5 * t2"],
        # the seed, right of the output, and the gradients, left of the inputs
        ("t5", "t5:seed"): [""],
        ("x:gradient", "x"): [""],
        ("a:gradient", "a"): [""],
        ("b:gradient", "b"): [""],
    }
    adjoint = [attrs for _, _, attrs in dot.edges if attrs["class"] == "adjoint"]
    assert all(a["dir"] == "back" and a["style"] == "dashed" for a in adjoint)
    partial = [attrs for _, _, attrs in dot.edges if attrs["class"] == "partial"]
    assert not any("dir" in a or "style" in a for a in partial)
    assert dot.node_labels("derivative") == {
        "t5:seed": "dt5 = 1",
        "x:gradient": "dx",
        "a:gradient": "da",
        "b:gradient": "db",
    }
    assert dot.labels("tangent") == {}


def test_only_the_differentiated_inputs_get_adjoints(lectures):
    dot = dot_of(lectures.product, wrt=0)
    assert dot.node_labels("input") == {"x": "x"}
    assert dot.node_labels("constant") == {"a": "a", "b": "b"}
    adjoint = dot.labels("adjoint")
    assert ("a", "t2") not in adjoint and ("b", "t4") not in adjoint
    assert adjoint[("t2", "t5")] == ["dt2 += dt5 * t4"]
    assert dot.labels("partial") == LECTURE_PARTIALS  # the partials are there all the same


def test_forward_mode_shows_the_tangent_flow(lectures):
    dot = dot_of(lectures.product, mode="forward", wrt=("x", "a"))
    assert dot.labels("tangent") == {
        ("x", "t2"): ["dt2 += dx"],
        ("a", "t2"): ["dt2 += da"],
        ("x", "t4"): ["dt4 += dx"],
        ("t2", "t5"): ["dt5 += dt2 * t4"],
        ("t4", "t5"): ["dt5 += dt4 * t2"],
        ("t5", "t5:tangent"): [""],
        ("x:tangent", "x"): [""],
        ("a:tangent", "a"): [""],
    }
    assert dot.labels("adjoint") == {}
    assert dot.labels("partial") == LECTURE_PARTIALS
    assert not any(attrs.get("dir") == "back" for _, _, attrs in dot.edges)
    assert "forward mode with respect to x, a" in str(ad.graph(lectures.product, "forward", (0, 1)))


# ------------------------------------------------- the labels against oracles

LECTURE_POINTS = [
    ("product", (0.7, 2.0, -1.3)),
    ("normal_pdf", (0.5, 0.1, 1.3)),
    ("log_sqrt", (2.0, 1.5)),
    ("log_product_sine", (2.0, 5.0)),
]
NAMESPACE = {**vars(math), "math": math, "np": np}


def values_of(dot, args, params):
    """Run the node statements in the order the graph declares them."""
    env = dict(NAMESPACE, **dict(zip(params, args)))
    for attrs in dot.nodes.values():
        if attrs["class"] in ("value", "output"):
            exec(attrs["label"], env)
    return env


def run_flow(dot, kind, order, env):
    """Execute the statements on the edges of one kind, into each node in ``order``."""
    flow = dot.labels(kind)
    for node in order:
        for (_, head), labels in flow.items():
            for label in labels if head == node else ():
                if label:  # the edges from a seed or to a gradient have none
                    exec(label, env)


@pytest.mark.parametrize("name, args", LECTURE_POINTS)
def test_the_node_statements_compute_f(lectures, name, args):
    f = getattr(lectures, name)
    dot = dot_of(f, wrt=tuple(range(len(args))))
    params = list(inspect.signature(f).parameters)
    env = values_of(dot, args, params)
    (output,) = dot.node_labels("output")
    assert env[output] == pytest.approx(f(*args), rel=1e-14)


@pytest.mark.parametrize("name, args", LECTURE_POINTS)
def test_each_partial_is_the_derivative_of_its_node(lectures, name, args):
    f = getattr(lectures, name)
    dot = dot_of(f, wrt=tuple(range(len(args))))
    params = list(inspect.signature(f).parameters)
    env = values_of(dot, args, params)
    for (tail, head), labels in dot.labels("partial").items():
        statement = dot.nodes[head]["label"]
        target, expression = statement.split(" = ", 1)

        def node(value, expression=expression, tail=tail):
            return eval(expression, {**env, tail: value})

        (partial,) = set(labels)  # x * x would give two edges, each its own partial
        expected = central_difference(node, (env[tail],), 0)
        assert eval(partial, env) == pytest.approx(expected, rel=1e-6, abs=1e-9), statement


@pytest.mark.parametrize("name, args", LECTURE_POINTS)
def test_the_adjoint_statements_give_the_gradient(lectures, name, args):
    f = getattr(lectures, name)
    dot = dot_of(f, wrt=tuple(range(len(args))))
    params = list(inspect.signature(f).parameters)
    env = values_of(dot, args, params)
    env.update({f"d{node}": 0.0 for node in dot.nodes})
    (output,) = dot.node_labels("output")
    exec(dot.node_labels("derivative")[f"{output}:seed"], env)  # dt5 = 1
    run_flow(dot, "adjoint", reversed(list(dot.nodes)), env)  # the last node first
    gradient = [env[f"d{p}"] for p in params]
    expected = [central_difference(f, args, i) for i in range(len(args))]
    assert gradient == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name, args", LECTURE_POINTS)
def test_the_tangent_statements_give_the_directional_derivative(lectures, name, args):
    f = getattr(lectures, name)
    dot = dot_of(f, mode="forward", wrt=tuple(range(len(args))))
    params = list(inspect.signature(f).parameters)
    env = values_of(dot, args, params)
    direction = np.linspace(0.5, -1.0, len(args))
    env.update({f"d{node}": 0.0 for node in dot.nodes})
    env.update({f"d{p}": float(v) for p, v in zip(params, direction)})
    run_flow(dot, "tangent", dot.nodes, env)
    (output,) = dot.node_labels("output")
    expected = sum(v * central_difference(f, args, i) for i, v in enumerate(direction))
    assert env[f"d{output}"] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------ control flow


def test_a_loop_body_is_a_cluster_with_the_carried_value_fed_back(m):
    dot = dot_of(m.power_loop)
    loop = ("for i in range(n):",)
    assert dot.nodes["t3"]["label"] == "t3 = y * x" and dot.nodes["t3"]["clusters"] == loop
    assert dot.nodes["y#2"]["label"] == "y = t3 + 1.0" and dot.nodes["y#2"]["clusters"] == loop
    assert dot.nodes["y"]["label"] == "y = x" and dot.nodes["y"]["clusters"] == ()
    partial = dot.labels("partial")
    # t3 = y * x reads y from before the loop and from the previous trip
    assert partial[("y", "t3")] == ["x"] and partial[("y#2", "t3")] == ["x"]
    assert dot.labels("adjoint")[("y#2", "t3")] == ["dy += dt3 * x"]
    # zero trips return the first y: both are outputs, both seeded
    assert set(dot.node_labels("output")) == {"y", "y#2"}
    assert dot.node_labels("derivative")["y#2:seed"] == "dy = 1"
    assert dot.labels("zero") == {("n", "t2"): [""]}  # range(n) carries no derivative
    assert "i" not in dot.nodes  # the loop variable is not read


def test_branches_are_clusters_joined_where_they_meet(m):
    dot = dot_of(m.branches)
    assert dot.nodes["y"]["clusters"] == ("if x > 0:",)
    assert dot.nodes["y#2"]["clusters"] == ("else:",)
    assert dot.nodes["y"]["label"] == "y = np.sin(x)"
    partial = dot.labels("partial")
    assert partial[("x", "y")] == ["cos(x)"]
    assert partial[("x", "y#2")] == ["x", "x"]  # x * x: one edge per operand
    assert partial[("y", "t4")] == partial[("y#2", "t4")] == ["2.0"]
    assert dot.labels("adjoint")[("x", "y")] == ["dx += dy * cos(x)"]
    assert dot.labels("zero") == {("x", "t1"): [""]}  # x > 0


def test_a_while_loop_and_a_reassigned_parameter(m):
    dot = dot_of(m.counted)
    assert dot.nodes["t0"]["clusters"] == ("while k < 3:",)
    assert dot.nodes["x#2"]["label"] == "x = t3"
    adjoint = dot.labels("adjoint")
    assert adjoint[("x", "t1")] == adjoint[("x#2", "t1")] == ["dx -= dt1"]  # t1 = -x
    assert adjoint[("t1", "t2")] == ["dt1 += dt2 * t2"]  # exp: its result is its slope
    assert dot.node_labels("input") == {"x": "x"}


def test_containers_calls_and_arrays(m):
    dot = dot_of(m.structures, wrt=(0, 1))
    adjoint, partial = dot.labels("adjoint"), dot.labels("partial")
    assert adjoint[("x", "p")] == ["dx += dp[0]"]  # p = (x, y)
    assert adjoint[("p", "t2")] == ["dp[0] += dt2"]  # t2 = p[0]
    assert partial[("y", "t3")] == ["2.0"]  # a user function is inlined: its body's partial
    # z[1] = q is a new value, t5 = updated(t4, 1, q): the written item's cotangent goes to q
    assert adjoint[("q", "t5")] == ["dq += written_vjp(dt5, 1, q)"]
    assert partial[("q", "t5")] == ["dq ↦ unwritten(dq, t4, 1, q)"]
    # np.sum: a linear map, drawn by its JVP; the left-out keepdims is left out here too
    (sum_node,) = [n for n, a in dot.nodes.items() if a["label"].endswith("np.sum(t5, axis=0)")]
    assert partial[("t5", sum_node)] == ["dt5 ↦ np.sum(dt5, axis=0)"]
    assert "keepdims" not in str(ad.graph(m.structures))


def test_labels_with_quotes_survive_the_dot_text(m):
    dot = dot_of(m.quoted)
    assert "t1 = len('a\"b')" in {a["label"] for a in dot.nodes.values()}


# ------------------------------------------------------------ the Graph object


def test_the_graph_is_its_dot_text(lectures):
    picture = ad.graph(lectures.product)
    assert str(picture) == picture.source
    assert picture.source.startswith('digraph "product" {')
    assert "str() gives the DOT text" in repr(picture)
    assert picture.pipe("dot") == picture.source.encode()


def test_render_dot_needs_nothing(lectures, tmp_path):
    path = ad.graph(lectures.product).render(tmp_path / "product.dot")
    assert path.read_text() == str(ad.graph(lectures.product))


def test_rendering_without_graphviz_names_the_extra(lectures, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz fails
    picture = ad.graph(lectures.product)
    with pytest.raises(ImportError, match=r'pip install "s2s_ad\[graph\]"'):
        picture.render(tmp_path / "product.svg")
    with pytest.raises(ImportError, match="graphviz"):
        picture.pipe("png")
    assert picture._repr_svg_() is None
    assert picture._repr_mimebundle_() == {"text/plain": picture.source}


@needs_rendering
@pytest.mark.parametrize("format, magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_rendering_with_graphviz(lectures, tmp_path, format, magic):
    picture = ad.graph(lectures.product, wrt=(0, 1, 2))
    path = picture.render(tmp_path / f"product.{format}")
    assert path.read_bytes().startswith(magic)
    assert picture.pipe(format).startswith(magic)


@needs_rendering
def test_jupyter_shows_the_svg(lectures):
    picture = ad.graph(lectures.product)
    svg = picture._repr_svg_()
    assert "<svg" in svg and "dt2 += dt5 * t4" in svg
    bundle = picture._repr_mimebundle_()
    assert bundle["image/svg+xml"] == svg and "DOT text" in bundle["text/plain"]


@needs_rendering
@pytest.mark.parametrize("name", ["power_loop", "branches", "counted", "structures", "quoted"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_dot_accepts_every_graph(m, name, mode):
    svg = ad.graph(getattr(m, name), mode=mode).pipe("svg")
    assert b"<svg" in svg


def test_bad_arguments_are_type_errors(lectures):
    with pytest.raises(TypeError, match="mode must be one of"):
        ad.graph(lectures.product, mode="sideways")
    with pytest.raises(TypeError, match="no parameter 'c'"):
        ad.graph(lectures.product, wrt="c")
    with pytest.raises(TypeError, match="expects a Python function"):
        ad.graph(math.sin)
    with pytest.raises(TypeError, match="format must be one of"):
        ad.graph(lectures.product).pipe("jpeg")


def test_the_committed_readme_picture_is_the_lecture_graph(lectures):
    from conftest import ROOT

    svg = (ROOT / "docs" / "images" / "product_graph.svg").read_text()
    assert "![" in (ROOT / "README.md").read_text().split("## What is there")[0]
    assert "docs/images/product_graph.svg" in (ROOT / "README.md").read_text()
    for label in ("t5 = t2 * t4", "dt4 += dt5 * t2", "dt2 += dt5 * t4", "dt5 = 1"):
        assert label in svg


# ------------------------------------------------------------ the command line


def run_cli(*args, preamble=""):
    code = f"import sys; {preamble}from s2s_ad.api.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, timeout=120
    )


@pytest.fixture
def lecture_file(tmp_path):
    path = tmp_path / "lecture_mod.py"
    path.write_text(
        textwrap.dedent(
            """\
            def f(x, a, b):
                return (x + a) * (x + b)
            """
        )
    )
    return path


def test_cli_graph_prints_the_dot_text(lecture_file):
    proc = run_cli(f"{lecture_file}:f", "--graph", "--wrt", "x,a,b")
    assert proc.returncode == 0, proc.stderr
    dot = Dot(proc.stdout.decode())
    assert dot.labels("adjoint")[("t4", "t5")] == ["dt4 += dt5 * t2"]
    assert dot.labels("partial") == LECTURE_PARTIALS


def test_cli_graph_forward_mode(lecture_file):
    proc = run_cli(f"{lecture_file}:f", "--graph", "--mode", "forward", "--wrt", "a")
    assert proc.returncode == 0, proc.stderr
    tangent = Dot(proc.stdout.decode()).labels("tangent")
    assert tangent[("a", "t2")] == ["dt2 += da"] and ("x", "t2") not in tangent


def test_cli_graph_dot_to_a_file(lecture_file, tmp_path):
    out = tmp_path / "f.dot"
    proc = run_cli(f"{lecture_file}:f", "--graph", "-o", out)
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    assert Dot(out.read_text()).labels("partial") == LECTURE_PARTIALS


@needs_rendering
@pytest.mark.parametrize("format, magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_cli_graph_pictures(lecture_file, tmp_path, format, magic):
    out = tmp_path / f"f.{format}"
    proc = run_cli(f"{lecture_file}:f", "--graph", "--format", format, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(magic)
    proc = run_cli(f"{lecture_file}:f", "--graph", "--format", format)  # bytes to stdout
    assert proc.returncode == 0 and proc.stdout.startswith(magic), proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--format", "svg"), "--format and -o/--output go with --graph"),
        (("-o", "f.dot"), "--format and -o/--output go with --graph"),
        (("--graph", "--trace"), "choose one"),
        (("--graph", "--wrt", "c"), "no parameter 'c'"),
    ],
)
def test_cli_graph_bad_usage_exits_2(lecture_file, args, message):
    proc = run_cli(f"{lecture_file}:f", *args)
    assert proc.returncode == 2 and proc.stdout == b""
    assert message in proc.stderr.decode() and b"Traceback" not in proc.stderr


def test_cli_picture_without_graphviz_names_the_extra(lecture_file, tmp_path):
    proc = run_cli(
        f"{lecture_file}:f",
        "--graph",
        "--format",
        "svg",
        "-o",
        tmp_path / "f.svg",
        preamble="sys.modules['graphviz'] = None; ",
    )
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert 'pip install "s2s_ad[graph]"' in proc.stderr.decode()
    assert not (tmp_path / "f.svg").exists()


def test_cli_unknown_format_is_refused(lecture_file):
    proc = run_cli(f"{lecture_file}:f", "--graph", "--format", "jpeg")
    assert proc.returncode == 2 and b"invalid choice" in proc.stderr
