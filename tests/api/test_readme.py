"""The README's quickstart prints what the README says it prints."""

import re
import subprocess
import sys

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_quickstart_prints_the_code_shown(tmp_path):
    quickstart, shown = _blocks("python")[:2]
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.strip() == shown.strip()


def test_the_two_setup_commands_are_the_ones_ci_runs():
    install_and_run, install_and_test = _blocks("sh")[:2]
    assert "s2s-ad examples/lectures.py:normal_pdf" in install_and_run
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_test.strip() in ci


def test_the_quickstart_in_python_c_says_where_s2s_ad_works(tmp_path):
    """Before Python 3.13 `python -c` keeps no source: the error says where s2s_ad works and
    what to do; from 3.13 on it keeps it, and the quickstart runs.  The README says the same
    places before the quickstart."""
    quickstart = _blocks("python")[0]
    result = subprocess.run(
        [sys.executable, "-c", quickstart], capture_output=True, text=True, cwd=tmp_path
    )
    if sys.version_info >= (3, 13):
        assert result.returncode == 0, result.stderr
        assert "def f_grad(x, a, b):" in result.stdout
    else:
        assert result.returncode != 0
        assert "TransformError" in result.stderr
        assert "source of 'f' is not available" in result.stderr
        assert "`from model import f`" in result.stderr
    said = " ".join(README.split("## Quickstart")[1].split("```python")[0].split())
    for place in ("files and modules", "IPython and Jupyter", "Python 3.13 on", "python -c"):
        assert place in said, place
    assert "move the function into a file" in said
