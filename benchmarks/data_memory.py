"""Data benchmark: time and peak memory of ``get_CIFAR10_data`` against the size of what it returns.

Each measurement runs in a fresh Python process, so nothing is cached or already allocated:

- peak RSS: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after the call minus the same number
  after the imports (numpy, ``cs231n.data_utils``): everything the process touched, including the
  raw batches and the unpickler's buffers; the time is measured in this run;
- tracemalloc: the peak of the allocations Python and numpy report to ``tracemalloc`` during the
  call (numpy arrays and Python objects, not the interpreter itself).

The ratio is peak / bytes returned (all six arrays). Defaults: 49,000 / 1,000 / 1,000 images.

    python benchmarks/data_memory.py                    float64 and float32, 3 runs each
    python benchmarks/data_memory.py --cifar10-dir ../shared/data/cifar-10-batches-py --repeat 5
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from common import REPO_ROOT, command_line, find_cifar10_dir, machine_line, markdown_table

MiB = 2**20


def measure(cifar10_dir, dtype, how):
    """Load CIFAR-10 once in this process; return seconds, bytes returned and the peak ``how`` measures."""
    from cs231n.data_utils import get_CIFAR10_data  # noqa: PLC0415 (measured in this process only)

    if how == "tracemalloc":
        tracemalloc.start()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    tic = time.perf_counter()
    data = get_CIFAR10_data(cifar10_dir=cifar10_dir, dtype=np.dtype(dtype))
    seconds = time.perf_counter() - tic
    if how == "tracemalloc":
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {"seconds": seconds, "returned": sum(v.nbytes for v in data.values()), "peak": peak}


def in_fresh_process(cifar10_dir, dtype, how):
    """Run ``measure`` in a new interpreter and return its result."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", dtype, how, "--cifar10-dir", str(cifar10_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar10-dir", type=Path, default=None)
    p.add_argument("--repeat", type=int, default=3, help="fresh processes per dtype and measure")
    p.add_argument("--child", nargs=2, metavar=("DTYPE", "HOW"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    cifar10_dir = find_cifar10_dir(args.cifar10_dir)
    if args.child:
        print(json.dumps(measure(cifar10_dir, *args.child)))
        return 0

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    where = os.path.relpath(cifar10_dir, REPO_ROOT)
    print(f"get_CIFAR10_data(dtype=...) from {where}; each number from a fresh process, medians of {args.repeat} runs")
    header = [
        "dtype",
        "time",
        "returned",
        "peak RSS over imports",
        "RSS / returned",
        "tracemalloc peak",
        "tracemalloc / returned",
    ]
    rows = []
    for dtype in ("float64", "float32"):
        rss = [in_fresh_process(cifar10_dir, dtype, "rss") for _ in range(args.repeat)]
        traced = [in_fresh_process(cifar10_dir, dtype, "tracemalloc") for _ in range(args.repeat)]
        returned = rss[0]["returned"]
        peak_rss = float(np.median([r["peak"] for r in rss]))
        peak_traced = float(np.median([r["peak"] for r in traced]))
        rows.append(
            [
                dtype,
                f"{np.median([r['seconds'] for r in rss]):.2f} s",
                f"{returned / MiB:.0f} MiB",
                f"{peak_rss / MiB:.0f} MiB",
                f"{peak_rss / returned:.2f}x",
                f"{peak_traced / MiB:.0f} MiB",
                f"{peak_traced / returned:.2f}x",
            ]
        )
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
