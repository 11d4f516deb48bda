"""Installing the package as a new user does: a clean copy, a fresh venv, the README's commands.

The copy holds the project's files as git sees them (tracked, plus new files not ignored), so
nothing left in the working tree (a ``.venv``, ``build/``, an egg-info) helps the install.
pip runs with ``-v`` so that the build backend's own output (setuptools' deprecation
warnings, which older pips hide) is part of what is checked. The test needs the package
index for setuptools, numpy and gast; it skips when pip cannot reach it.
"""

import os
import re
import shutil
import subprocess
import venv

import pytest

from conftest import ROOT

# What `git ls-files` leaves out; used only where the project is not a git checkout.
JUNK = (".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")
INDEX_TIMEOUT = "20"  # seconds pip waits for one answer from the index


def project_files():
    """The project's files relative to ``ROOT``, as git lists them, or None without git."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def clean_copy(destination):
    """Copy the project into ``destination`` without virtual environments or build output."""
    names = project_files()
    if names is None:
        shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*JUNK))
        return
    for name in names:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)


def clean_environment():
    """This process's environment without what would point Python at the source tree."""
    environment = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONNOUSERSITE"):
        environment.pop(name, None)
    return environment


def pip(python, *args, cwd, timeout=600):
    """Run ``python -m pip ARGS``; returns the completed process, output and errors merged."""
    return subprocess.run(
        [str(python), "-m", "pip", *args],
        cwd=cwd,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def run_python(python, code, cwd):
    """The standard output of ``python -c CODE`` (which must succeed)."""
    return subprocess.run(
        [str(python), "-c", code],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def skip_unless_index_reachable(python, workdir):
    """Skip the test when pip cannot fetch the build backend from the package index."""
    try:
        probe = pip(
            python,
            *("download", "--no-deps", "--dest", str(workdir / "probe"), "setuptools>=77"),
            *("--timeout", INDEX_TIMEOUT, "--retries", "1"),
            cwd=workdir,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("pip did not reach the package index within 180 s")
    if probe.returncode != 0:
        pytest.skip(f"pip cannot reach the package index: {probe.stdout.strip()[-300:]}")


def assert_no_deprecation(result, command):
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}"
    warned = [line for line in result.stdout.splitlines() if "deprecat" in line.lower()]
    assert not warned, f"{command} printed deprecation warnings:\n" + "\n".join(warned)


METADATA_SCRIPT = """
from importlib.metadata import metadata
meta = metadata("s2s_ad")
print("License-Expression:", meta["License-Expression"])
print("Requires-Python:", meta["Requires-Python"])
print(*meta.get_all("Classifier"), sep="\\n")
"""


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A clean copy of the project and a fresh venv of this interpreter: (source, python)."""
    workdir = tmp_path_factory.mktemp("packaging")
    source = workdir / "s2s_ad_source"
    clean_copy(source)
    venv.create(workdir / "venv", with_pip=True)
    python = workdir / "venv" / "bin" / "python"
    skip_unless_index_reachable(python, workdir)
    return source, python


@pytest.mark.slow
def test_pip_install_prints_no_deprecation_and_the_cli_runs(fresh_venv):
    source, python = fresh_venv
    result = pip(python, "install", "-v", "--timeout", INDEX_TIMEOUT, ".", cwd=source)
    assert_no_deprecation(result, "pip install .")
    cli = subprocess.run(
        [str(python.parent / "s2s-ad"), "examples/lectures.py:normal_pdf"],
        cwd=source,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "def normal_pdf_grad(x, mu, sigma):" in cli.stdout
    metadata = run_python(python, METADATA_SCRIPT, cwd=source.parent).splitlines()
    assert metadata[:2] == ["License-Expression: MIT", "Requires-Python: >=3.9"]
    # recent setuptools refuses a license classifier beside an SPDX expression
    assert not [line for line in metadata if line.startswith("License ::")]


@pytest.mark.slow
def test_editable_install_prints_no_deprecation(fresh_venv):
    source, python = fresh_venv
    result = pip(python, "install", "-v", "--timeout", INDEX_TIMEOUT, "-e", ".", cwd=source)
    assert_no_deprecation(result, "pip install -e .")
    imported = run_python(python, "import s2s_ad; print(s2s_ad.__file__)", cwd=source.parent)
    assert imported.strip() == str(source / "s2s_ad" / "__init__.py")


def test_readme_and_pyproject_name_the_same_pythons():
    """requires-python is the oldest classified version; the README says both ends."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    classified = re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', pyproject)
    minors = sorted(int(minor) for minor in classified)
    assert minors == list(range(minors[0], minors[-1] + 1)), "a version missing in between"
    oldest, newest = f"3.{minors[0]}", f"3.{minors[-1]}"
    assert f'requires-python = ">={oldest}"' in pyproject
    readme = (ROOT / "README.md").read_text()
    assert f"Python {oldest} or newer" in readme
    assert f"supports Python {oldest} to {newest}" in readme
