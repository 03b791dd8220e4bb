"""DFT stage: the normalised band file, the GPAW engine, and VASP / Quantum ESPRESSO I/O.

Per code a reader and a writer (``dft/qe/``, ``dft/vasp/``), GPAW in ``dft/gpaw/``, one
k-mesh / band-path module for all codes (:mod:`isingflow.dft.kpoints`), and
:class:`BandStructure` (:mod:`isingflow.dft.bandfile`) as the one seam between codes.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from isingflow.dft.bandfile import BandStructure, read_bandfile, write_bands

#: names re-exported lazily (their modules import GPAW, pymatgen or ASE readers on first use)
_LAZY = {"run_ground_state": "isingflow.dft.gpaw", "run_band_structure": "isingflow.dft.gpaw",
         "read_gpw_bands": "isingflow.dft.gpaw", "SCFNotConverged": "isingflow.dft.gpaw",
         "write_qe_inputs": "isingflow.dft.qe", "read_qe_bands": "isingflow.dft.qe",
         "write_vasp_inputs": "isingflow.dft.vasp", "read_vasp_bands": "isingflow.dft.vasp",
         "write_hpc_inputs": "isingflow.dft.hpc"}

__all__ = ["BandStructure", "read_bands", "read_bandfile", "write_bands", "guess_code", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'isingflow.dft' has no attribute {name!r}")


def read_bands(path: str | os.PathLike, code: str | None = None) -> BandStructure:
    """Read any supported DFT output (or a normalised ``.npz`` band file) into a BandStructure.

    ``code`` is one of ``"isingflow"`` (normalised file), ``"gpaw"``, ``"vasp"``, ``"qe"``;
    when ``None`` it is guessed from the file name and content.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if code is None:
        code = guess_code(path)
    readers = {"isingflow": ("isingflow.dft.bandfile", "read_bandfile"),
               "gpaw": ("isingflow.dft.gpaw", "read_gpw_bands"),
               "vasp": ("isingflow.dft.vasp", "read_vasp_bands"),
               "qe": ("isingflow.dft.qe", "read_qe_bands")}
    if code in readers:
        module, name = readers[code]
        return getattr(importlib.import_module(module), name)(path)
    raise ValueError(f"{path}: unknown code {code!r} (expected isingflow, gpaw, vasp or qe)")


_VASP_PREFIXES = ("vasprun", "outcar", "eigenval", "procar")


def _looks_like(path: Path) -> str | None:
    """'vasp', 'qe' or None from a file's name and first bytes."""
    name = path.name.lower()
    if name.startswith(_VASP_PREFIXES):
        return "vasp"
    try:
        head = path.read_bytes()[:8192].decode("utf-8", errors="replace")
    except OSError:
        return None
    if "<modeling>" in head or "vasp." in head or "POTCAR:" in head:
        return "vasp"
    if "qes:espresso" in head or "PWSCF" in head or ("<Root>" in head and "PROJECTIONS" in head):
        return "qe"
    return None


def guess_code(path: Path) -> str:
    """Guess which code wrote ``path`` (a file or a folder) from names and first bytes."""
    if path.is_dir():
        found = {_looks_like(p) for p in sorted(path.iterdir()) if p.is_file()}
        for code in ("vasp", "qe"):
            if code in found:
                return code
        raise ValueError(f"{path}: cannot tell which code wrote this folder (no VASP or QE output found)")
    name = path.name.lower()
    if name.endswith(".npz"):
        return "isingflow"
    if name.endswith(".gpw"):
        return "gpaw"
    code = _looks_like(path)
    if code is None:
        raise ValueError(f"{path}: cannot tell which DFT code wrote this file; pass code=...")
    return code
