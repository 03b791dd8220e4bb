"""DFT stage: the normalised band file, the GPAW engine, and VASP / Quantum ESPRESSO I/O."""
from __future__ import annotations

import os
from pathlib import Path

from isingflow.dft.bandfile import BandStructure, read_bandfile, write_bands

__all__ = ["BandStructure", "read_bands", "read_bandfile", "write_bands"]


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
    if code == "isingflow":
        return read_bandfile(path)
    if code == "gpaw":
        from isingflow.dft.gpaw_engine import read_gpw_bands

        return read_gpw_bands(path)
    if code == "vasp":
        from isingflow.dft.vasp import read_vasp_bands

        return read_vasp_bands(path)
    if code == "qe":
        from isingflow.dft.qe import read_qe_bands

        return read_qe_bands(path)
    raise ValueError(f"{path}: unknown code {code!r} (expected isingflow, gpaw, vasp or qe)")


def guess_code(path: Path) -> str:
    """Guess which code wrote ``path`` from its name and first bytes."""
    name = path.name.lower()
    if path.is_dir():
        entries = {p.name for p in path.iterdir()}
        if entries & {"vasprun.xml", "OUTCAR", "EIGENVAL"}:
            return "vasp"
        if "data-file-schema.xml" in entries or any(e.endswith(".xml") for e in entries):
            return "qe"
        raise ValueError(f"{path}: cannot tell which code wrote this folder")
    if name.endswith(".npz"):
        return "isingflow"
    if name.endswith(".gpw"):
        return "gpaw"
    if "vasprun" in name or name.startswith(("outcar", "eigenval", "procar")):
        return "vasp"
    head = path.read_bytes()[:4096].decode("utf-8", errors="replace")
    if "<modeling>" in head or "vasp" in head.lower()[:2000] and "<?xml" in head:
        return "vasp"
    if "qes:espresso" in head or "Program PWSCF" in head or "PWSCF" in head:
        return "qe"
    if "vasp." in head or "POTCAR:" in head:
        return "vasp"
    raise ValueError(f"{path}: cannot tell which DFT code wrote this file; pass code=...")
