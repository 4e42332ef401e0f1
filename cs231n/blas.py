"""``out += a @ b`` and ``y += alpha * x`` in one pass: two BLAS calls numpy does not expose.

numpy's ``a @ b`` always writes a new array, so ``c += a @ b`` costs the product plus three sweeps
over an array of c's size besides it: zeroing the new array, reading it back, and reading and
writing c. BLAS ``gemm`` computes ``C = alpha * A @ B + beta * C``, which with beta = 1 adds the
product into C as it is computed. ``matmul_add`` calls the ``gemm`` of the OpenBLAS that numpy itself
was built with (the one in numpy's wheels) and falls back to plain numpy, ``out += a @ b``, wherever
that is not possible: another BLAS, a dtype other than float32/float64, mixed dtypes, operands that
are not contiguous, ``out`` overlapping an operand, an empty dimension, or an ``out`` so small that
numpy is faster anyway. Either way the result is the same up to rounding. It also takes gemm's two
scale factors, ``out = beta * out + alpha * (a @ b)``: a training step can then add a weight's SGD
update into the weight itself, with no gradient array in between.

The reference solutions use it to save time on large products; nothing in the assignment needs it.

``axpy(alpha, x, y)`` does ``y += alpha * x`` the same way, through BLAS ``axpy``: one pass instead of
numpy's two, on OpenBLAS's threads. The given ``sgd`` updates the weights with it.

Set the environment variable ``CS231N_NUMPY_MATMUL_ADD=1`` before importing to always use numpy.

Two more helpers go with them:

- ``weight_order(dtype)``: the memory order, "C" or "F", in which this OpenBLAS adds ``x.T @ dout``
  into a first-layer weight (D, H) fastest. The reference nets store their first weight that way, and
  its gradient and updates follow (numpy keeps the layout of same-layout operands).
- ``sum_of_squares(w)``: ``sum(w**2)`` without a squared copy, in either layout (``np.vdot`` copies
  an F-ordered array first).
"""

import ctypes
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# Arrays smaller than this (entries of the array written into) go through numpy: the few microseconds
# the BLAS route spends on its checks and its ctypes call cost more than the sweeps it saves there
# (measured with timeit at N=200: axpy breaks even near 16k entries, matmul_add near 32k).
_AXPY_MIN_SIZE = 1 << 14
_MATMUL_ADD_MIN_SIZE = 1 << 15


# Where a training step of a two-layer net is faster with its first weight F-ordered: the kernel set
# OpenBLAS picked for this CPU (openblas_get_corename) and the dtype. Measured on CIFAR-10-shaped steps
# (N=200, D=3072, H=100 and 512); every other pair is C-ordered (the Sandybridge and Nehalem sets were
# measured too: C is as fast there). The product that adds x.T @ dout into the weight's gradient makes
# the difference. numpy's OpenBLAS runs AMD Zen CPUs on its Haswell kernels (OPENBLAS_CORETYPE=Zen
# reports Haswell), so they need no entry of their own.
_F_ORDER_FASTER = {("SkylakeX", np.dtype(np.float64)), ("Haswell", np.dtype(np.float32))}


def _find_blas():
    """Return ({dtype: cblas gemm}, {dtype: cblas axpy}, kernel name) from the OpenBLAS loaded in this
    process, or ({}, {}, "")."""
    try:
        with open("/proc/self/maps") as f:  # Linux; elsewhere matmul_add and axpy use numpy
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:
        return {}, {}, ""
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        # numpy's wheels ship scipy-openblas with 64-bit integers: its symbols are prefixed and suffixed.
        names = ("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", "scipy_cblas_saxpy64_", "scipy_cblas_daxpy64_")
        sgemm, dgemm, saxpy, daxpy = (getattr(lib, name, None) for name in names)
        if None in (sgemm, dgemm, saxpy, daxpy):
            continue
        gemms, axpys = {}, {}
        for dtype, gemm, axpy_, scalar in (
            (np.float32, sgemm, saxpy, ctypes.c_float),
            (np.float64, dgemm, daxpy, ctypes.c_double),
        ):
            gemm.restype = axpy_.restype = None
            gemm.argtypes = [
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_int,
                i64,
                i64,
                i64,
                scalar,
                ptr,
                i64,
                ptr,
                i64,
                scalar,
                ptr,
                i64,
            ]
            axpy_.argtypes = [i64, scalar, ptr, i64, ptr, i64]  # n, alpha, x, incx, y, incy
            gemms[np.dtype(dtype)], axpys[np.dtype(dtype)] = gemm, axpy_
        corename = getattr(lib, "scipy_openblas_get_corename64_", None)
        if corename is None:
            return gemms, axpys, ""
        corename.restype, corename.argtypes = ctypes.c_char_p, []
        return gemms, axpys, (corename() or b"").decode("ascii", "replace")
    return {}, {}, ""


def _layout(m):
    """(transpose flag, leading dimension) of a 2-D array BLAS can read in place, or None."""
    if m.flags.c_contiguous:
        return _NO_TRANS, m.shape[1]
    if m.flags.f_contiguous:  # the transpose of a C-contiguous array, such as x.T
        return _TRANS, m.shape[0]
    return None


def _blas_matmul_add(a, b, out, gemms=None, alpha=1.0, beta=1.0):
    """out = beta * out + alpha * a @ b through BLAS (``gemms``, default the ones found); False (nothing
    done) when it cannot."""
    gemm = (_GEMMS if gemms is None else gemms).get(out.dtype)
    if gemm is None or a.dtype != out.dtype or b.dtype != out.dtype or 0 in a.shape or 0 in b.shape:
        return False
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or out.shape != (a.shape[0], b.shape[1]):
        return False  # matmul_add has said why; never hand BLAS arrays it would read past
    if not out.flags.c_contiguous and out.flags.f_contiguous:
        a, b, out = b.T, a.T, out.T  # (a @ b).T = b.T @ a.T: BLAS writes out in the layout it has
    layout_a, layout_b = _layout(a), _layout(b)
    if (
        layout_a is None
        or layout_b is None
        or not out.flags.c_contiguous
        or not out.flags.writeable
        or np.may_share_memory(out, a)
        or np.may_share_memory(out, b)
    ):
        return False
    (M, K), N = a.shape, b.shape[1]
    gemm(
        _ROW_MAJOR,
        layout_a[0],
        layout_b[0],
        M,
        N,
        K,
        alpha,
        a.ctypes.data,
        layout_a[1],
        b.ctypes.data,
        layout_b[1],
        beta,
        out.ctypes.data,
        N,
    )
    return True


def matmul_add(a, b, out, alpha=1.0, beta=1.0):
    """Add the matrix product ``a @ b`` to ``out`` in place: ``out = beta * out + alpha * (a @ b)``.

    Parameters
    ----------
    a : ndarray, shape (M, K)
    b : ndarray, shape (K, N)
    out : ndarray, shape (M, N)
        Updated in place: ``out += a @ b`` with the defaults. C- or F-ordered for the BLAS call.
    alpha, beta : float, default 1.0
        Scale the product and ``out``'s old value. With beta != 1, BLAS first scales ``out`` in a pass
        of its own.

    Returns
    -------
    out : ndarray
        The same array, for convenience.

    Raises
    ------
    ValueError
        If the arguments are not 2-D arrays of matching shapes, ``out`` is read-only, or alpha or beta
        is not a real number.
    """
    alpha, beta = _real(alpha, "alpha"), _real(beta, "beta")
    a, b = np.asarray(a), np.asarray(b)
    if not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a numpy array to add into, got {type(out).__name__}")
    if a.ndim != 2 or b.ndim != 2 or out.ndim != 2:
        raise ValueError(f"matmul_add takes 2-D arrays, got a {a.shape}, b {b.shape}, out {out.shape}")
    if a.shape[1] != b.shape[0] or out.shape != (a.shape[0], b.shape[1]):
        raise ValueError(
            f"shapes do not match for out += a @ b: a {a.shape}, b {b.shape}, out {out.shape} "
            f"(expected out {(a.shape[0], b.shape[1])})"
        )
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if out.size < _MATMUL_ADD_MIN_SIZE or not _blas_matmul_add(a, b, out, alpha=alpha, beta=beta):
        if beta != 1.0:
            out *= beta
        out += a @ b if alpha == 1.0 else alpha * (a @ b)
    return out


def _real(value, name):
    """``value`` as a Python float; ValueError naming ``name`` unless it is a real number (not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _works(gemms):
    """True if ``gemms`` give numpy's products on small arrays in every layout matmul_add uses (out C or F)."""
    rng = np.random.default_rng(0)
    for dtype in gemms:
        a, b, c = (rng.standard_normal(s).astype(dtype) for s in ((3, 4), (4, 5), (3, 5)))
        for a_, b_, order in ((a, b, "C"), (np.asfortranarray(a), b, "C"), (a, np.asfortranarray(b), "C"), (a, b, "F")):
            out = c.copy(order=order)
            if not _blas_matmul_add(a_, b_, out, gemms) or not np.allclose(out, c + a @ b, rtol=1e-4, atol=1e-5):
                return False
    return True


def _blas_axpy(alpha, x, y, axpys=None):
    """y += alpha * x through BLAS (``axpys``, default the ones found); False (nothing done) when it cannot."""
    axpy_ = (_AXPYS if axpys is None else axpys).get(y.dtype)
    if axpy_ is None or x.dtype != y.dtype or x.shape != y.shape or y.size == 0 or not y.flags.writeable:
        return False
    # One pass over both arrays as flat memory: they must lie in memory in the same order.
    same_order = (x.flags.c_contiguous and y.flags.c_contiguous) or (x.flags.f_contiguous and y.flags.f_contiguous)
    if not same_order or np.may_share_memory(x, y):
        return False
    axpy_(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def axpy(alpha, x, y):
    """Add ``alpha * x`` to ``y`` in place, in one pass.

    numpy's ``y += alpha * x`` makes two passes on one thread: it writes ``alpha * x`` into a new array,
    then reads it back to add it into y. BLAS ``axpy`` does it in one pass (and OpenBLAS splits a
    large one over its threads). It is used when both arrays have the same float32/float64 dtype and lie
    in memory in the same order (both C- or both F-ordered) without overlapping, and y is large enough
    for the call to pay off; numpy does it otherwise. The results agree up to rounding (BLAS may fuse
    the multiply and the add).

    Parameters
    ----------
    alpha : float
    x : ndarray
    y : ndarray of float, same shape as x
        Updated in place: ``y += alpha * x``.

    Returns
    -------
    y : ndarray
        The same array, for convenience.

    Raises
    ------
    ValueError
        If y is not a writeable float array, x does not have y's shape, or alpha is not a real number.
    """
    alpha = _real(alpha, "alpha")
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.floating):
        what = f"an array of {y.dtype}" if isinstance(y, np.ndarray) else type(y).__name__
        raise ValueError(f"the array to update in place (y) must be a float numpy array, got {what}")
    if not y.flags.writeable:
        raise ValueError("the array to update in place (y) is read-only")
    x = np.asarray(x)
    if x.shape != y.shape:
        raise ValueError(f"x must have the shape of y: x has shape {x.shape}, y has shape {y.shape}")
    if y.size < _AXPY_MIN_SIZE or not _blas_axpy(alpha, x, y):
        y += alpha * x
    return y


def _axpys_work(axpys):
    """True if ``axpys`` give numpy's ``y + alpha * x`` on small arrays, C- and F-ordered."""
    rng = np.random.default_rng(0)
    for dtype in axpys:
        x, y = (rng.standard_normal((3, 4)).astype(dtype) for _ in range(2))
        for order in "CF":
            x_, out = np.asarray(x, order=order), y.copy(order=order)
            if not _blas_axpy(-0.5, x_, out, axpys) or not np.allclose(out, y - 0.5 * x, rtol=1e-5, atol=1e-6):
                return False
    return True


def weight_order(dtype):
    """The memory order, "C" or "F", for a first-layer weight (D, H) of ``dtype``.

    It is the order in which ``matmul_add(x.T, dout, dW)`` runs fastest with this process's BLAS (see
    ``_F_ORDER_FASTER``); "C" whenever matmul_add falls back to numpy. The results agree up to
    rounding either way (BLAS may sum in another order); the speed differs.
    """
    dtype = np.dtype(dtype)
    return "F" if dtype in _GEMMS and (_KERNELS, dtype) in _F_ORDER_FASTER else "C"


def sum_of_squares(w):
    """``sum(w**2)`` of an array in either memory order, without a squared copy (a BLAS dot product)."""
    flat = np.asarray(w).ravel(order="K")  # a view for C- and F-ordered arrays; np.vdot would copy the latter
    return np.vdot(flat, flat)


_GEMMS, _AXPYS, _KERNELS = {}, {}, ""
if os.environ.get("CS231N_NUMPY_MATMUL_ADD") != "1":  # set it to 1 to always use the numpy fallbacks
    _found_gemms, _found_axpys, _KERNELS = _find_blas()
    _GEMMS = _found_gemms if _found_gemms and _works(_found_gemms) else {}
    _AXPYS = _found_axpys if _found_axpys and _axpys_work(_found_axpys) else {}
