"""Provenance, hashing and atomic file output.

Every file the pipeline writes goes through :func:`atomic_write` (or the helpers built on
it): the content is written to a temporary name in the same folder and renamed into place,
so a killed job never leaves a file that looks finished.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

_PACKAGES = ("isingflow", "numpy", "scipy", "ase", "gpaw", "pymatgen", "snakemake", "matplotlib")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    The temporary name keeps the suffix of ``path`` so that writers which pick a format
    from the extension (matplotlib, ASE) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    world = _mpi_world()
    if world is not None and world.rank != 0:
        # under MPI, GPAW writes files from rank 0 only: the other ranks write (if at all) into a
        # scratch folder that is removed, and never rename anything into place
        scratch = Path(tempfile.mkdtemp(prefix=f".{path.stem}.rank{world.rank}.", suffix=".part", dir=path.parent))
        try:
            (scratch / path.name).touch()
            yield scratch / path.name
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        world.barrier()
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    if world is not None:
        world.barrier()  # no rank goes on before the file is in place


def _mpi_world():
    """GPAW's MPI communicator when GPAW is imported and runs on more than one rank, else None."""
    world = getattr(sys.modules.get("gpaw.mpi"), "world", None)
    return world if world is not None and world.size > 1 else None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented, strict JSON, atomically (NaN and ±inf become null)."""
    text = json.dumps(_finite(data), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    atomic_write_text(path, text + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file (null stays None)."""
    with open(path) as fh:
        return json.load(fh)


def _finite(obj: Any) -> Any:
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.ndarray, np.generic, os.PathLike)):
        return jsonable(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types, for records and for hashing settings.

    Dicts (keys as strings), lists and tuples recursively; NumPy arrays and scalars as lists and
    Python numbers; paths as strings; an ASE ``BandPath`` as ``{"path", "kpts"}``; an object with
    ``todict()`` (a GPAW occupation or mode object) as ``{"name": class name, **todict()}``;
    anything else as its ``repr``.
    """
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return float(obj)  # NumPy float64 is a float: a plain one prints the same in JSON
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "kpts") and hasattr(obj, "path"):  # ASE BandPath
        return {"path": obj.path, "kpts": np.asarray(obj.kpts).tolist()}
    if hasattr(obj, "todict"):
        return {"name": type(obj).__name__, **jsonable(obj.todict())}
    return repr(obj)


def hash_object(obj: Any) -> str:
    """SHA-256 of the canonical JSON form of ``obj`` (dicts sorted by key)."""
    blob = json.dumps(obj, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()


def hash_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(inputs: list[str | os.PathLike] | None = None, settings: Any = None, **extra: Any) -> dict:
    """A provenance record: versions, UTC time, input-file hashes and a settings hash."""
    record: dict[str, Any] = {
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
    }
    if inputs:
        record["inputs"] = {str(p): hash_file(p) for p in inputs if Path(p).is_file()}
    if settings is not None:
        record["settings_sha256"] = hash_object(settings)
    record.update(extra)
    return record
