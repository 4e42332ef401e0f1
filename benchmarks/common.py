"""What the benchmarks share: the data folder, the machine line, the BLAS numpy runs on, tables.

Every benchmark prints a Markdown table that can be pasted into the README as it is, preceded by
the command that produced it and one line describing the machine.
"""

import ctypes
import os
import platform
import sys
from pathlib import Path

import numpy as np

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
    """The BLAS library numpy is linked against, read from the loaded library itself.

    Returns
    -------
    dict
        ``name`` (file name of the library), ``core`` (the kernel set OpenBLAS chose, e.g.
        ``SkylakeX``, or None) and ``threads`` (its thread count, or None when unknown).
    """
    np.ones((2, 2)) @ np.ones((2, 2))  # the BLAS is loaded by now
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: fall back to what the environment says
        maps = ""
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.split()[-1].lower()})
    info = {"name": "unknown", "core": None, "threads": None}
    for path in paths:
        lib = ctypes.CDLL(path)
        info["name"] = os.path.basename(path)
        # scipy-openblas (numpy's wheels) prefixes and suffixes its symbols; a system OpenBLAS does not.
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")):
            get_threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
            get_core = getattr(lib, f"{prefix}get_corename{suffix}", None)
            if get_threads is not None:
                info["threads"] = int(get_threads())
                if get_core is not None:
                    get_core.restype = ctypes.c_char_p
                    info["core"] = get_core().decode()
                return info
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    info["threads"] = int(threads) if threads else None
    return info


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
