"""Checks benchmark: how long the TA gradient report and the unit tests take.

- the gradient report on a full submission: the reference solution's student-owned files
  (``cs231n.gradient_report.STUDENT_FILES``) zipped under one top folder, as a student uploads
  them, then ``python -m cs231n.gradient_report submission.zip``;
- the unit tests: ``python -m pytest tests --ignore=tests/staff -q`` from the repository root.

Each command runs in a fresh process; the table gives the median wall time of ``--repeat`` runs
(the Python start-up and imports included) and the command's last line of output.

    python benchmarks/checks_time.py
    python benchmarks/checks_time.py --repeat 5
"""

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from common import REPO_ROOT, command_line, machine_line, markdown_table

from cs231n.gradient_report import STUDENT_FILES


def zip_submission(out_zip):
    """Zip the working copy's student-owned files under ``submission/``; return the zip's path."""
    with zipfile.ZipFile(out_zip, "w") as z:
        for rel in STUDENT_FILES:
            z.write(REPO_ROOT / rel, f"submission/{rel}")
    return out_zip


def run_timed(cmd, repeat):
    """Run ``cmd`` from the repository root ``repeat`` times; return (median seconds, last output line, codes)."""
    seconds, codes, last = [], set(), ""
    for _ in range(repeat):
        tic = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - tic)
        codes.add(done.returncode)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        last = lines[-1].strip("= ") if lines else "(no output)"
    return float(np.median(seconds)), last, sorted(codes)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per command")
    args = p.parse_args(argv)

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        submission = zip_submission(Path(tmp) / "submission.zip")
        checks = [
            (
                "gradient report, full submission (zip)",
                [sys.executable, "-m", "cs231n.gradient_report", str(submission)],
                "python -m cs231n.gradient_report submission.zip",
            ),
            (
                "unit tests",
                [sys.executable, "-m", "pytest", "tests", "--ignore=tests/staff", "-q", "-p", "no:cacheprovider"],
                "python -m pytest tests --ignore=tests/staff",
            ),
        ]
        for what, cmd, shown in checks:
            seconds, last, codes = run_timed(cmd, args.repeat)
            rows.append([what, f"`{shown}`", f"{seconds:.1f} s", last, ", ".join(map(str, codes))])
    print(markdown_table(["check", "command", f"median of {args.repeat}", "result", "exit code"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
