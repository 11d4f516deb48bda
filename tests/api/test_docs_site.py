"""The documentation site: ``mkdocs build --strict`` passes, the API reference shows
the public functions' docstrings with their examples as code, and a broken link
fails the build.  Needs the docs extra (``pip install -e ".[docs]"``)."""

import doctest
import html
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys

import pytest

import s2s_ad as ad

from conftest import ROOT

# mkdocs, mkdocs-material, mkdocstrings and its Python handler
MISSING = [
    name
    for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")
    if importlib.util.find_spec(name) is None
]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"the docs extra is not installed (no {', '.join(MISSING)})"
)


def build(project, site):
    """``mkdocs build --strict`` of the project folder ``project`` into ``site``."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )


def text_of(page):
    """The visible text of a built page, tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("docs") / "site"
    done = build(ROOT, site)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def test_every_page_of_docs_is_built(site):
    for page in (ROOT / "docs").glob("*.md"):
        stem = "" if page.stem == "index" else page.stem
        assert (site / stem / "index.html").is_file(), page.name


def test_api_reference_has_every_public_name_with_its_docstring(site):
    page = (site / "api" / "index.html").read_text()
    text = text_of(site / "api" / "index.html")
    for name in ad.__all__:
        assert f'id="s2s_ad.{name}"' in page, f"add '::: s2s_ad.{name}' to docs/api.md"
        summary = inspect.getdoc(getattr(ad, name)).splitlines()[0]
        assert summary.replace("``", "") in text, name


def test_docstring_examples_are_code_not_quotes(site):
    page = (site / "api" / "index.html").read_text()
    assert "<blockquote>" not in page
    examples = sum(">>>" in inspect.getdoc(getattr(ad, name)) for name in ad.__all__)
    assert page.count('<span class="gp">&gt;&gt;&gt; </span>') >= examples


def test_home_page_includes_the_readme_quickstart(site):
    readme = (ROOT / "README.md").read_text()
    quickstart = re.findall(r"```python\n(.*?)```", readme, flags=re.S)[0]
    home = text_of(site / "index.html")
    assert "--8<--" not in home
    for line in quickstart.splitlines():
        assert line in home


def test_links_to_repository_files_become_their_text(site):
    numpy_page = (site / "numpy" / "index.html").read_text()
    assert "<code>s2s_ad/runtime/arrays.py</code>" in numpy_page
    assert 'href="../../s2s_ad' not in numpy_page


@pytest.mark.parametrize("hook", ["links", "doctest_fences"])
def test_build_hook_examples(hook):
    spec = importlib.util.spec_from_file_location(
        f"s2s_ad_docs_{hook}", ROOT / "docs" / "hooks" / f"{hook}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failed, attempted = doctest.testmod(module)
    assert attempted and not failed


def test_a_broken_link_fails_the_strict_build(tmp_path):
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "s2s_ad").symlink_to(ROOT / "s2s_ad")
    (tmp_path / "examples").mkdir()
    language = tmp_path / "docs" / "language.md"
    broken = "[a](../examples/missing.py), [b](memroy.md), [c](memory.md#no-such-section)"
    language.write_text(language.read_text() + f"\nSee {broken}.\n")
    done = build(tmp_path, tmp_path / "site")
    assert done.returncode != 0
    for target in ("../examples/missing.py", "memroy.md", "#no-such-section"):
        assert target in done.stderr, target
