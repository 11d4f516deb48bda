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
