"""Writing files so that nothing is lost: every file the kit writes goes through ``atomic_write``.

``atomic_write(path)`` hands out a temporary file beside ``path`` (named ``.<name>.<random>.tmp``) and
moves it over ``path`` with ``os.replace`` only once it is complete. A write that fails or is killed at
any moment leaves the previous ``path`` whole; the temporary file of a killed write is removed by the
next write to the same ``path``. New files get the usual permissions of the user (the umask applies).
"""

import contextlib
import errno
import glob
import os
import secrets
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no locks, so every leftover temporary file counts as stale
    fcntl = None


def _temporaries(path):
    """The temporary files that writes to ``path`` create (or left behind), as a list of Paths."""
    pattern = os.path.join(glob.escape(str(path.parent)), glob.escape(f".{path.name}.") + "*.tmp")
    return [Path(p) for p in glob.glob(pattern)]


def _lock(fd):
    """Lock the open file ``fd`` for this process; return False when another process holds it."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def remove_stale_temporaries(path):
    """Remove the temporary files of earlier writes to ``path`` that were killed before they finished.

    A write in progress holds a lock on its temporary file, so a write running in another process at
    the same time keeps its file.
    """
    for tmp in _temporaries(Path(path)):
        with contextlib.suppress(OSError):
            fd = os.open(tmp, os.O_RDONLY)
            try:
                if _lock(fd):
                    os.unlink(tmp)
            finally:
                os.close(fd)


def _naming(error, path, tmp):
    """``error`` with ``path`` named instead of the temporary file ``tmp`` (or added when none is named)."""
    if error.errno is None or (error.filename is not None and os.fspath(error.filename) != os.fspath(tmp)):
        return error
    return type(error)(error.errno, error.strerror or os.strerror(error.errno), str(path))


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None):
    """Open a file to write ``path`` so that ``path`` is replaced only by a complete new file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    mode : str
        ``"wb"`` (bytes) or ``"w"`` (text).
    encoding : str, optional
        Text encoding in mode ``"w"`` (default UTF-8).

    Yields
    ------
    file
        An open file; write the whole content to it inside the ``with`` block.

    Raises
    ------
    OSError
        The file cannot be written (its subclasses: ``PermissionError``, ``IsADirectoryError``,
        ``FileNotFoundError`` for a missing folder, ...), naming ``path``. ``path`` is unchanged.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # os.open with mode 0o666 lets the umask decide the permissions, as for any new file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise _naming(e, path, tmp) from None
    try:
        _lock(fd)
        with open(fd, mode, encoding="utf-8" if mode == "w" and encoding is None else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _naming(e, path, tmp) from None
        raise
    _sync_folder(path.parent)


def _sync_folder(folder):
    """Make the rename durable (POSIX); a folder that cannot be opened (Windows) is left alone."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable_folder(folder, what):
    """Raise an error unless files can be written in ``folder`` (or in the folder that would hold it, when
    ``folder`` does not exist yet; nothing is created).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to write into.
    what : str
        The setting it comes from, to start the message: ``"--output-dir out"``, ``"checkpoint_name 'out/run'"``.

    Raises
    ------
    NotADirectoryError
        ``folder``, or a folder above it, is a file.
    PermissionError, OSError
        Nothing can be written there.
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{what}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise type(e)(f"{what}: cannot write in {existing} ({e.strerror or e})") from None
