"""The public suite stays a fast feedback loop: collecting it imports no plotting library.

Importing matplotlib takes 0.5 to 0.8 s, a sixth to a quarter of the whole public suite
(benchmarks/waits.py); the tests of the plots live here, in tests/staff.
"""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

COLLECT = """
import sys
import pytest
code = pytest.main(["tests", "--ignore=tests/staff", "--collect-only", "-q", "-p", "no:cacheprovider"])
print("exit", int(code))
print("matplotlib imported:", "matplotlib" in sys.modules)
"""


def test_collecting_the_public_tests_imports_no_matplotlib():
    done = subprocess.run([sys.executable, "-c", COLLECT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert "exit 0" in lines, done.stdout[-2000:] + done.stderr[-2000:]
    assert "matplotlib imported: False" in lines
