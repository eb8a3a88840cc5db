"""Atomic file writes (a temporary name in the same folder, then an atomic rename) and output checks.

Every write here removes its temporary file when it fails, whatever the error (a full disk,
a read-only folder, Ctrl-C): a failed write leaves the old file, never a half-written one and
never a stray ``.NAME.tmp<pid>``. ``writable_output`` lets a script refuse an output place it
cannot write before it starts any heavy work.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


class OutputError(OSError):
    """An output place that cannot be written; the message names it and says why."""


def temp_path(path: Path) -> Path:
    """The temporary sibling a write of `path` goes through (hidden, per process)."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def remove_quietly(path: Path) -> None:
    """Unlink `path` if it is there; never raise (a read-only or vanished folder included)."""
    try:
        path.unlink()
    except OSError:
        pass


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def finite_json(value: Any) -> Any:
    """`value` with every NaN or infinite float (numpy scalars included) replaced by None."""
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if isinstance(value, float) or type(value).__name__ in ("float16", "float32", "float64", "longdouble"):
        value = float(value)
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        return finite_json(value.item())  # numpy integer / bool scalars
    return value


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Strict JSON (never NaN or Infinity: those become null), written atomically."""
    return atomic_write_text(path, json.dumps(finite_json(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def describe_os_error(exc: OSError) -> str:
    """'disk full' for ENOSPC/EDQUOT, else the system's words ('Permission denied', ...)."""
    if is_disk_full(exc):
        return "disk full"
    return exc.strerror or type(exc).__name__


def writable_output(path: str | Path, kind: str = "file", label: str | None = None) -> Path:
    """Check that `path` can be written before any heavy work; return it, or raise OutputError.

    `kind` is "file" (a file to create or replace) or "directory" (a folder to create or
    write into). Missing folders are fine as long as the nearest existing one is a writable
    directory; nothing is created. The check writes and removes a probe file, so it also
    holds for root and for read-only mounts, where permission bits say nothing.
    """
    path = Path(path)
    name = f"{label} {path}" if label else str(path)
    if kind == "file":
        if path.is_dir():
            raise OutputError(f"{name} is a directory: give a file name")
        if path.name in ("", ".", ".."):
            raise OutputError(f"{name} is not a file name")
    elif path.exists() and not path.is_dir():
        raise OutputError(f"{name} exists and is not a directory")
    folder = path.parent if kind == "file" else path
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputError(f"cannot write {name}: {existing} is a file, not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".walklab_probe", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {name}: {existing} is not writable ({describe_os_error(exc)})") from exc
    return path
