"""cs231n/blas.py: matmul_add (out += a @ b) and axpy (y += alpha * x), through numpy's OpenBLAS or through
numpy, checked against sums done by einsum or in Python."""

import os
import subprocess
import sys

import numpy as np
import pytest

from cs231n import blas
from cs231n.blas import matmul_add

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def expected(a, b, out):
    """out + a @ b, summed in float64 by einsum without BLAS."""
    return out.astype(np.float64) + np.einsum("ik,kj->ij", a.astype(np.float64), b.astype(np.float64), optimize=False)


def rel_error(x, y):
    return float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300))


def operands(M, K, N, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in ((M, K), (K, N), (M, N))]


def numpy_openblas():
    """True when numpy runs on the scipy-openblas of its wheels (the library matmul_add calls)."""
    blas_info = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    return (
        blas_info.get("name") == "scipy-openblas"
        and sys.platform.startswith("linux")
        and os.environ.get("CS231N_NUMPY_MATMUL_ADD") != "1"
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["a b", "a.T b", "a b.T", "a.T b.T"])
@pytest.mark.parametrize("out_order", ["C", "F"])
@pytest.mark.parametrize("size", [(7, 13, 5), (300, 13, 120)])  # the larger out goes to BLAS (36000 entries)
def test_adds_the_product_in_every_layout(dtype, layout, out_order, size):
    M, K, N = size
    a, b, out = operands(M, K, N, dtype)
    if "a.T" in layout:
        a = np.ascontiguousarray(a.T).T  # same values, F-ordered: what x.T looks like
    if "b.T" in layout:
        b = np.ascontiguousarray(b.T).T
    out = np.asarray(out, order=out_order)
    want = expected(a, b, out)
    result = matmul_add(a, b, out)
    assert result is out
    assert out.dtype == dtype
    assert out.flags[f"{out_order}_CONTIGUOUS"]
    assert rel_error(out, want) < TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out_order", ["C", "F"])
@pytest.mark.parametrize("size", [(7, 13, 5), (300, 13, 120)])  # numpy, then BLAS
@pytest.mark.parametrize("route", ["found", "numpy only"])
def test_scales_the_product_and_the_old_out(monkeypatch, dtype, out_order, size, route):
    if route == "numpy only":
        monkeypatch.setattr(blas, "_GEMMS", {})
    M, K, N = size
    a, b, out = operands(M, K, N, dtype, seed=2)
    a = np.ascontiguousarray(a.T).T  # x.T's layout, as in a weight gradient
    out = np.asarray(out, order=out_order)
    want = 0.5 * out.astype(np.float64) + expected(a, b, np.zeros_like(out)) * -0.25
    assert matmul_add(a, b, out, alpha=-0.25, beta=0.5) is out
    assert out.flags[f"{out_order}_CONTIGUOUS"]
    assert rel_error(out, want) < TOL[dtype]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": "2"}, "alpha must be a real number, got '2'"),
        ({"beta": None}, "beta must be a real number, got None"),
        ({"beta": True}, "beta must be a real number, got True"),
    ],
)
def test_bad_scale_factors_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        matmul_add(np.ones((2, 2)), np.ones((2, 2)), np.zeros((2, 2)), **kwargs)


@pytest.mark.skipif(not numpy_openblas(), reason="numpy is not built on its wheels' scipy-openblas here")
def test_uses_numpys_openblas_when_numpy_has_it():
    assert set(blas._GEMMS) == {np.dtype(np.float32), np.dtype(np.float64)}
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((200, 300)), rng.standard_normal((200, 40)), rng.standard_normal((300, 40))
    out = c.copy()
    assert blas._blas_matmul_add(a.T, b, out)
    assert rel_error(out, expected(a.T, b, c)) < 1e-12
    out_f = np.asfortranarray(c)  # an F-ordered out goes to BLAS as well, as the transposed product
    assert blas._blas_matmul_add(a.T, b, out_f)
    assert rel_error(out_f, expected(a.T, b, c)) < 1e-12
    assert not blas._blas_matmul_add(a, b, out)  # shapes that do not match never reach BLAS


@pytest.mark.parametrize(
    "case", ["mixed dtypes", "integers", "strided a", "out is a", "strided out", "K = 0", "byte-swapped"]
)
def test_falls_back_to_numpy_and_still_adds(case):
    a, b, out = operands(6, 6, 6, np.float64)
    if case == "mixed dtypes":
        a = a.astype(np.float32)
    elif case == "integers":
        a, b, out = (np.arange(36).reshape(6, 6) % 5 for _ in range(3))
    elif case == "strided a":
        a = np.repeat(a, 2, axis=1)[:, ::2]
    elif case == "out is a":
        a = out
    elif case == "strided out":  # neither C- nor F-ordered
        out = np.repeat(out, 2, axis=1)[:, ::2]
    elif case == "K = 0":
        a, b = a[:, :0], b[:0]
    elif case == "byte-swapped":
        a, b, out = (m.astype(m.dtype.newbyteorder()) for m in (a, b, out))
    want = expected(a, b, out)
    assert not blas._blas_matmul_add(a, b, out)  # False: nothing was done
    matmul_add(a, b, out)
    assert rel_error(out, want) < 1e-12


def test_numpy_fallback_alone_gives_the_same_sums(monkeypatch):
    monkeypatch.setattr(blas, "_GEMMS", {})
    for dtype in DTYPES:
        a, b, out = operands(9, 4, 3, dtype, seed=3)
        want = expected(a.T.copy().T, b, out)
        matmul_add(a, b, out)
        assert rel_error(out, want) < TOL[dtype]


@pytest.mark.parametrize(
    "a_shape, b_shape, out_shape, message",
    [
        ((3, 4), (5, 2), (3, 2), r"a \(3, 4\), b \(5, 2\), out \(3, 2\)"),
        ((3, 4), (4, 2), (2, 3), r"expected out \(3, 2\)"),
        ((3, 4), (4,), (3,), r"2-D arrays, got a \(3, 4\), b \(4,\)"),
    ],
)
def test_mismatched_shapes_are_named(a_shape, b_shape, out_shape, message):
    with pytest.raises(ValueError, match=message):
        matmul_add(np.ones(a_shape), np.ones(b_shape), np.zeros(out_shape))


def test_out_must_be_a_writeable_array():
    with pytest.raises(ValueError, match="out must be a numpy array"):
        matmul_add(np.ones((2, 2)), np.ones((2, 2)), [[0, 0], [0, 0]])
    out = np.zeros((2, 2))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        matmul_add(np.ones((2, 2)), np.ones((2, 2)), out)


def test_a_gemm_that_gives_wrong_numbers_is_not_used():
    calls = []

    def wrong_gemm(*args):
        calls.append(args)  # leaves C as it was

    before = blas._GEMMS
    assert not blas._works({np.dtype(np.float64): wrong_gemm})
    assert calls
    assert blas._GEMMS is before


def test_the_environment_can_turn_blas_off():
    env = dict(os.environ, CS231N_NUMPY_MATMUL_ADD="1")
    code = "from cs231n import blas; print(len(blas._GEMMS), len(blas._AXPYS))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 0"


@pytest.mark.parametrize("layout", ["C", "F", "strided", "1-D", "float32", "list"])
def test_sum_of_squares_matches_a_sum_done_in_python(layout):
    w = np.random.default_rng(4).standard_normal((6, 5))
    if layout == "F":
        w = np.asfortranarray(w)
    elif layout == "strided":
        w = w[::2, 1:]
    elif layout == "1-D":
        w = w[:, 0].copy()
    elif layout == "float32":
        w = w.astype(np.float32)
    elif layout == "list":
        w = w.tolist()
    want = sum(float(v) ** 2 for v in np.asarray(w, dtype=np.float64).flat)
    assert abs(float(blas.sum_of_squares(w)) - want) < 1e-6 * want


def test_sum_of_squares_makes_no_copy_of_an_f_ordered_array():
    import tracemalloc

    w = np.asfortranarray(np.random.default_rng(5).standard_normal((500, 400)))  # 1.6 MB
    tracemalloc.start()
    blas.sum_of_squares(w)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < w.nbytes / 10, f"{peak} bytes allocated for a {w.nbytes}-byte array"


@pytest.mark.parametrize(
    "kernels, dtype, order",
    [
        ("SkylakeX", np.float64, "F"),
        ("SkylakeX", np.float32, "C"),
        ("Haswell", np.float32, "F"),
        ("Haswell", np.float64, "C"),
        ("Sandybridge", np.float32, "C"),
        ("Nehalem", np.float64, "C"),
        ("Neoverse", np.float64, "C"),
        ("", np.float64, "C"),
        ("SkylakeX", np.int64, "C"),
    ],
)
def test_weight_order_follows_the_measured_table(monkeypatch, kernels, dtype, order):
    monkeypatch.setattr(blas, "_KERNELS", kernels)
    monkeypatch.setattr(blas, "_GEMMS", {np.dtype(np.float32): None, np.dtype(np.float64): None})
    assert blas.weight_order(dtype) == order


def test_weight_order_is_c_without_the_blas_call(monkeypatch):
    monkeypatch.setattr(blas, "_KERNELS", "SkylakeX")
    monkeypatch.setattr(blas, "_GEMMS", {})  # matmul_add falls back to numpy: no reason for F
    assert blas.weight_order(np.float64) == blas.weight_order(np.float32) == "C"


@pytest.mark.skipif(not numpy_openblas(), reason="numpy is not built on its wheels' scipy-openblas here")
def test_the_kernel_name_is_read_from_openblas():
    import ctypes

    # A second source: OpenBLAS's configuration string names the kernels it picked at run time too.
    path = next(line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.rsplit("/", 1)[-1])
    config = ctypes.CDLL(path).scipy_openblas_get_config64_
    config.restype = ctypes.c_char_p
    assert blas._KERNELS and blas._KERNELS in config().decode().split()


# ---------------------------------------------------------------------------------------------
# axpy: y += alpha * x
# ---------------------------------------------------------------------------------------------


def python_axpy(alpha, x, y):
    """y + alpha * x entry by entry in Python floats."""
    return np.array([float(b) + alpha * float(a) for a, b in zip(x.ravel().tolist(), y.ravel().tolist())]).reshape(
        y.shape
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C C", "F F", "C F", "F C", "strided y", "strided x", "1-D", "int x"])
@pytest.mark.parametrize("size", [(3, 5), (150, 121)])  # 18150 entries: the larger goes to BLAS, which threads it
def test_axpy_adds_in_place_in_every_layout(dtype, layout, size):
    rng = np.random.default_rng(7)
    x, y = (rng.standard_normal(size).astype(dtype) for _ in range(2))
    if layout in ("C C", "F F", "C F", "F C"):
        x, y = (np.asarray(a, order=o) for a, o in zip((x, y), layout.split()))
    elif layout == "strided y":
        y = np.repeat(y, 2, axis=1)[:, ::2]
    elif layout == "strided x":
        x = np.repeat(x, 2, axis=0)[::2]
    elif layout == "1-D":
        x, y = x.ravel(), y.ravel()
    else:
        x = np.arange(x.size).reshape(x.shape) % 7
    want = python_axpy(-0.25, x, y)
    result = blas.axpy(-0.25, x, y)
    assert result is y and y.dtype == dtype
    assert rel_error(y, want) < TOL[dtype]


@pytest.mark.skipif(not numpy_openblas(), reason="numpy is not built on its wheels' scipy-openblas here")
def test_axpy_uses_blas_for_arrays_in_the_same_order_and_numpy_otherwise():
    assert set(blas._AXPYS) == {np.dtype(np.float32), np.dtype(np.float64)}
    x, y = np.ones((40, 30)), np.zeros((40, 30))
    assert blas._blas_axpy(2.0, x, y) and np.all(y == 2.0)
    assert blas._blas_axpy(2.0, np.asfortranarray(x), np.asfortranarray(y))
    strided_y = np.zeros((40, 60))[:, ::2]  # the shape of x, every other column of a wider array
    for x_, y_ in ((np.asfortranarray(x), y), (x.astype(np.float32), y), (x, strided_y), (y, y)):
        assert not blas._blas_axpy(2.0, x_, y_)


@pytest.mark.skipif(not numpy_openblas(), reason="numpy is not built on its wheels' scipy-openblas here")
def test_small_arrays_go_through_numpy_and_large_ones_through_blas(monkeypatch):
    calls = []

    def spy(real):
        def call(*args, **kwargs):
            calls.append(args[-1].size)  # the array written into
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(blas, "_blas_axpy", spy(blas._blas_axpy))
    monkeypatch.setattr(blas, "_blas_matmul_add", spy(blas._blas_matmul_add))
    small, large = np.ones((100, 10)), np.ones((400, 100))
    blas.axpy(1.0, small, small.copy())
    blas.matmul_add(np.ones((100, 200)), np.ones((200, 10)), small.copy())
    assert calls == []
    blas.axpy(1.0, large, large.copy())
    blas.matmul_add(np.ones((400, 200)), np.ones((200, 100)), large.copy())
    assert calls == [40000, 40000]


@pytest.mark.parametrize("alpha", [np.float32(0.75), np.float64(0.75), np.int64(3), 3])
def test_axpy_takes_numpy_and_python_scalars(alpha):
    x, y = np.full((50, 40), 2.0), np.ones((50, 40))
    blas.axpy(alpha, x, y)
    np.testing.assert_array_equal(y, np.full((50, 40), 1.0 + 2.0 * float(alpha)))


def test_axpy_fallback_alone_gives_the_same_sums(monkeypatch):
    monkeypatch.setattr(blas, "_AXPYS", {})
    x, y = np.random.default_rng(8).standard_normal((2, 20, 30))
    want = python_axpy(3.0, x, y)
    assert rel_error(blas.axpy(3.0, x, y), want) < 1e-14


def test_axpy_adding_an_array_into_itself_doubles_it():
    y = np.arange(6.0).reshape(2, 3)
    blas.axpy(1.0, y, y)  # overlapping operands go through numpy
    np.testing.assert_array_equal(y, [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]])


@pytest.mark.parametrize(
    "alpha, x, y, message",
    [
        (1.0, np.ones(3), np.ones(4), r"x must have the shape of y: x has shape \(3,\), y has shape \(4,\)"),
        (1.0, np.ones(3), np.arange(3), "float numpy array, got an array of int64"),
        (1.0, np.ones(3), [1.0, 2.0, 3.0], "float numpy array, got list"),
        ("0.5", np.ones(3), np.ones(3), "alpha must be a real number, got '0.5'"),
        (True, np.ones(3), np.ones(3), "alpha must be a real number, got True"),
    ],
)
def test_axpy_names_what_is_wrong(alpha, x, y, message):
    with pytest.raises(ValueError, match=message):
        blas.axpy(alpha, x, y)


def test_axpy_refuses_a_read_only_array():
    y = np.ones(3)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.axpy(1.0, np.ones(3), y)


def test_an_axpy_that_gives_wrong_numbers_is_not_used():
    calls = []

    def wrong_axpy(n, alpha, x, incx, y, incy):
        calls.append(n)  # adds nothing

    assert not blas._axpys_work({np.dtype(np.float64): wrong_axpy})
    assert calls
