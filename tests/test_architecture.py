"""The package's layers: imports point one way, with no cycle, and no private name crosses
a module boundary (tests/harness/architecture.py prints the layer of every module)."""

import architecture


def test_every_module_is_in_a_layer():
    layers = {architecture.layer_of(m) for m in architecture.modules()}
    assert layers == {"package", *architecture.LAYERS}
    package_level = {m for m in architecture.modules() if architecture.layer_of(m) == "package"}
    assert package_level == {"s2s_ad", "s2s_ad.__main__"}


def test_no_import_cycle():
    assert architecture.cycles(architecture.graph()) == []


def test_the_cycle_check_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert architecture.cycles(edges) == [["a", "b", "c"]]


def test_imports_point_down_the_layers():
    assert architecture.upward_imports(architecture.graph()) == []


def test_the_layer_check_finds_an_upward_import():
    edges = {"s2s_ad.rules.core": {"s2s_ad.compiler.ir"}, "s2s_ad.compiler.ir": set()}
    assert architecture.upward_imports(edges) == [("s2s_ad.rules.core", "s2s_ad.compiler.ir")]


def test_no_private_name_is_imported_from_another_module():
    assert architecture.private_imports() == []


def test_imports_inside_functions_count(tmp_path, monkeypatch):
    package = tmp_path / "s2s_ad"
    (package / "runtime").mkdir(parents=True)
    (package / "api").mkdir()
    (package / "__init__.py").write_text("")
    (package / "runtime" / "__init__.py").write_text("def f():\n    from ..api import g\n")
    (package / "api" / "__init__.py").write_text("from ..runtime import f\ng = 1\n")
    monkeypatch.setattr(architecture, "PACKAGE", package)
    edges = architecture.graph()
    assert edges["s2s_ad.runtime"] == {"s2s_ad.api"}
    assert architecture.cycles(edges) == [["s2s_ad.api", "s2s_ad.runtime"]]
