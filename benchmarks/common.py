"""What the benchmarks share: the data folder, the machine line, the BLAS numpy runs on, tables.

Every benchmark prints a Markdown table that can be pasted into the README as it is, preceded by
the command that produced it and one line describing the machine.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from cs231n.data_utils import default_cifar10_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR_DIR = REPO_ROOT.parent / "shared" / "data" / "cifar-10-batches-py"


def find_cifar10_dir(given):
    """The folder given, else ``$CIFAR10_DIR`` / the kit's datasets folder, else the shared offline copy."""
    if given is not None:
        return Path(given)
    for candidate in (default_cifar10_dir(), SHARED_CIFAR_DIR):
        if (candidate / "data_batch_1").is_file():
            return candidate
    return default_cifar10_dir()  # get_CIFAR10_data then says how to fetch the data


def numpy_blas():
    """The BLAS library numpy runs on, as threadpoolctl finds it loaded in this process.

    Returns
    -------
    dict
        ``name`` (file name of the library), ``core`` (the kernel set it chose for this CPU, e.g.
        ``SkylakeX``, or None) and ``threads`` (its thread count, or None when unknown).
    """
    np.ones((2, 2)) @ np.ones((2, 2))  # the BLAS is loaded by now
    found = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    # Other libraries (PyTorch's, say) may bring their own BLAS: prefer the one numpy ships with.
    found.sort(key=lambda lib: "numpy" not in lib["filepath"])
    if not found:
        return {"name": "unknown", "core": None, "threads": None}
    lib = found[0]
    return {"name": os.path.basename(lib["filepath"]), "core": lib.get("architecture"), "threads": lib["num_threads"]}


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo when there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(extra=""):
    """One line saying where the numbers come from: CPU, cores, numpy and its BLAS, the load."""
    blas = numpy_blas()
    core = f" ({blas['core']})" if blas["core"] else ""
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}, numpy "
        f"{np.__version__} on {blas['name']}{core} with {blas['threads']} threads{extra}; "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )


def command_line(script, argv=None):
    """The command that reproduces this run, relative to the repository root."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python", os.path.relpath(script, REPO_ROOT), *args])


def markdown_table(header, rows):
    """Format a Markdown table: ``header`` is a list of column names, ``rows`` lists of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def start_busy_processes(count):
    """Start ``count`` Python processes that spin forever (a busy machine); returns their Popen objects."""
    return [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL) for _ in range(count)
    ]


def stop(processes):
    """Stop the processes started by start_busy_processes, each through its own handle."""
    for p in processes:
        p.terminate()
    for p in processes:
        p.wait()
