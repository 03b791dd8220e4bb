"""VASP: OUTCAR and EIGENVAL readers, and a band structure from an OUTCAR (+ EIGENVAL, PROCAR).

Why these readers: the OUTCAR eigenvalues and structure of the last ionic step come from ASE's
``vasp-out`` reader; the header counts, k-point list and ``magnetization (x)`` / ``(z)`` table
from a few regular expressions (ASE keeps neither the weights nor the per-site table).  EIGENVAL
is read by pymatgen's :class:`~pymatgen.io.vasp.outputs.Eigenval` after a header check that turns
a truncated file into a clear error.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.dft._text import BadOutputError, floats, looks_like_path, normalised, read_text
from isingflow.dft.bandfile import BandStructure
from isingflow.dft.vasp._finish import finish
from isingflow.dft.vasp.procar import attach_procar
from isingflow.provenance import hash_file


def read_outcar(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a finished OUTCAR.

    Returns a dict with ``version``, ``ispin``, ``nkpts``, ``nbands``, ``nions``, ``soc``,
    ``icharg``, ``fermi_level`` (eV), ``kpoints`` (fractional [k, 3]), ``weights`` (normalised,
    OUTCAR prints 3 decimals), ``eigenvalues`` and ``occupations`` ([spin, k, band], eV; the
    last ionic step), ``magmoms`` (final ``magnetization (x)`` table, ``(z)`` for non-collinear;
    None without LORBIT), ``total_magnetization`` and ``atoms`` (ASE Atoms, last step).
    """
    path = Path(path)
    text = read_text(path, "OUTCAR")
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if not first.startswith("vasp."):
        raise BadOutputError(path, "not a VASP OUTCAR (first line does not start with 'vasp.')")
    if "General timing and accounting" not in text:
        raise BadOutputError(path, "truncated or unfinished OUTCAR: no 'General timing and accounting' "
                                   "section at the end")

    d = _outcar_header(text, path)
    if "EDIFF was not reached" in text[-200000:] and d["icharg"] < 10:
        raise BadOutputError(path, "electronic SCF not converged ('EDIFF was not reached')")
    fermis = re.findall(r"E-fermi\s*:\s*(" + r"[-+]?\d+\.\d+" + ")", text)
    if not fermis:
        raise BadOutputError(path, "no 'E-fermi' line")
    kw = _outcar_kpoints(text, d["nkpts"], path)
    atoms, eig, occ = _outcar_eigenvalues(path, 1 if d["soc"] else d["ispin"], d["nkpts"], d["nbands"])
    tot = re.findall(r"number of electron\s+[-\d.]+\s+magnetization\s+([-\d.]+)", text)
    return {
        "version": first.split()[0].removeprefix("vasp."), **d, "fermi_level": float(fermis[-1]),
        "kpoints": kw[:, :3], "weights": normalised(kw[:, 3]), "eigenvalues": eig, "occupations": occ,
        "magmoms": _outcar_magnetization(text, d["nions"], "z" if d["soc"] else "x", path),
        "total_magnetization": float(tot[-1]) if tot else None, "atoms": atoms,
    }


def _outcar_header(text: str, path: Path) -> dict[str, Any]:
    """ISPIN, NKPTS, NBANDS, NIONS, ICHARG and the SOC flag from the OUTCAR header."""
    def header_int(pattern: str, what: str) -> int:
        m = re.search(pattern, text)
        if not m:
            raise BadOutputError(path, f"no {what} in the OUTCAR header")
        return int(m.group(1))

    out = {key.lower(): header_int(rf"{key}\s*=\s*(\d+)", key) for key in ("NKPTS", "NBANDS", "NIONS", "ISPIN")}
    out["soc"] = bool(re.search(r"LSORBIT\s*=\s*T", text) or re.search(r"LNONCOLLINEAR\s*=\s*T", text))
    out["icharg"] = header_int(r"ICHARG\s*=\s*(\d+)", "ICHARG")
    return out


def _outcar_kpoints(text: str, nkpts: int, path: Path) -> np.ndarray:
    """The 'k-points in reciprocal lattice and weights' block: [k, (k1, k2, k3, weight)]."""
    m = re.search(r"k-points in reciprocal lattice and weights:[^\n]*\n", text)
    if not m:
        raise BadOutputError(path, "no 'k-points in reciprocal lattice and weights' block")
    klines = text[m.end():].splitlines()[:nkpts]
    kw = np.array([floats(line)[:4] for line in klines if len(floats(line)) >= 4])
    if kw.shape != (nkpts, 4):
        raise BadOutputError(path, f"k-point list incomplete: {len(kw)} of {nkpts} lines")
    return kw


def _outcar_eigenvalues(path: Path, nspin: int, nkpts: int, nbands: int):
    """(ASE Atoms, eigenvalues, occupations [spin, k, band]) of the last ionic step, via ASE's reader."""
    from ase.io import read

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = read(path, format="vasp-out", index=-1)
    except Exception as exc:  # noqa: BLE001
        raise BadOutputError(path, f"ASE cannot read the OUTCAR ({type(exc).__name__}: {exc})") from exc
    kp = getattr(atoms.calc, "kpts", None) or []
    if len(kp) != nspin * nkpts or any(len(k.eps_n) != nbands for k in kp):
        raise BadOutputError(path, f"eigenvalue blocks incomplete: expected {nspin} x {nkpts} k-points "
                                   f"x {nbands} bands, found {len(kp)} blocks")
    eig = np.zeros((nspin, nkpts, nbands))
    occ = np.zeros_like(eig)
    for k in kp:
        eig[k.s, k.k] = k.eps_n
        occ[k.s, k.k] = k.f_n
    return atoms, eig, occ


def _outcar_magnetization(text: str, nions: int, axis: str, path: Path) -> np.ndarray | None:
    key = f"magnetization ({axis})"
    pos = text.rfind(key)
    if pos < 0:
        return None
    lines = text[pos:].splitlines()
    vals: list[float] = []
    started = False
    for line in lines[1:]:
        s = line.strip()
        if s.startswith("---"):
            if started:
                break
            started = True
            continue
        if started and s and s.split()[0].isdigit():
            vals.append(floats(s)[-1])
    if len(vals) != nions:
        raise BadOutputError(path, f"'{key}' table incomplete: {len(vals)} of {nions} ions")
    return np.array(vals)


def bands_from_outcar(outcar: Path, eigenval: Path | None, procar: Path | None) -> BandStructure:
    oc = read_outcar(outcar)
    files = {str(outcar): hash_file(outcar)}
    eig, kpts, weights, source = oc["eigenvalues"], oc["kpoints"], oc["weights"], outcar
    if eigenval is not None:
        ev = read_eigenval(eigenval)
        if ev["eigenvalues"].shape != eig.shape:
            raise BadOutputError(eigenval, f"shape {ev['eigenvalues'].shape} (spin, k, band) does not match "
                                           f"the OUTCAR beside it {eig.shape}: different runs")
        eig, kpts, weights, source = ev["eigenvalues"], ev["kpoints"], ev["weights"], eigenval
        files[str(eigenval)] = hash_file(eigenval)
    atoms = oc["atoms"]
    bands = BandStructure(
        eigenvalues=eig, kpoints=kpts, fermi_level=oc["fermi_level"], code="vasp", code_version=oc["version"],
        cell=np.asarray(atoms.cell), symbols=atoms.get_chemical_symbols(), positions=atoms.positions,
        weights=weights, soc=oc["soc"], magmoms=oc["magmoms"], source=str(source),
        provenance={"files": files, "icharg": oc["icharg"], "ispin": oc["ispin"],
                    "total_magnetization": oc["total_magnetization"]},
    )
    if oc["magmoms"] is not None:
        bands.provenance["magmoms_source"] = f"OUTCAR magnetization ({'z' if oc['soc'] else 'x'}) table"
    finish(bands, outcar.parent, looks_like_path(kpts))
    if procar is not None:
        bands = attach_procar(bands, procar)
    return bands


def moments_from_outcar(bands: BandStructure, outcar: Path) -> None:
    """Per-atom moments from an OUTCAR beside a vasprun.xml (same run: same atoms and k count)."""
    oc = read_outcar(outcar)
    if oc["nions"] != len(bands.symbols or []) or oc["nkpts"] != bands.nkpts:
        bands.provenance["outcar_ignored"] = f"{outcar}: different run (atoms or k-points differ)"
        return
    if oc["magmoms"] is not None:
        bands.magmoms = oc["magmoms"]
        bands.provenance["magmoms_source"] = f"{outcar.name} magnetization table"
        bands.provenance["files"][str(outcar)] = hash_file(outcar)


# --------------------------------------------------------------------------------------
# EIGENVAL
# --------------------------------------------------------------------------------------
def looks_like_eigenval(text: str) -> bool:
    lines = text.splitlines()
    if len(lines) < 6:
        return False
    try:
        ints0 = [int(x) for x in lines[0].split()]
        ints5 = [int(float(x)) for x in lines[5].split()]
    except ValueError:
        return False
    return len(ints0) == 4 and len(ints5) == 3


def read_eigenval(path: str | os.PathLike) -> dict[str, Any]:
    """Parse EIGENVAL: ``eigenvalues`` and ``occupations`` [spin, k, band], ``kpoints`` (fractional),
    ``weights`` (normalised), ``nelect``."""
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.outputs import Eigenval

    path = Path(path)
    text = read_text(path, "EIGENVAL")
    if not looks_like_eigenval(text):
        raise BadOutputError(path, "not a VASP EIGENVAL (header lines 1 and 6 are not integer counts)")
    lines = text.splitlines()
    ispin = int(lines[0].split()[3])
    nelect, nkpt, nbands = (int(float(x)) for x in lines[5].split()[:3])
    body = [ln for ln in lines[6:] if ln.strip()]
    if len(body) < nkpt * (nbands + 1):
        found_k = sum(1 for ln in body if len(ln.split()) == 4 and "." in ln.split()[0])
        raise BadOutputError(path, f"truncated EIGENVAL: header promises {nkpt} k-points x {nbands} bands, "
                                   f"found {len(body)} of {nkpt * (nbands + 1)} data lines (~{found_k} k-point blocks)")
    try:
        ev = Eigenval(str(path))
    except Exception as exc:  # noqa: BLE001
        raise BadOutputError(path, f"truncated or malformed EIGENVAL ({type(exc).__name__}: {exc}); "
                                   f"header promises {nkpt} k-points x {nbands} bands") from exc
    spins = [Spin.up, Spin.down] if ispin == 2 else [Spin.up]
    try:
        arr = np.stack([np.asarray(ev.eigenvalues[s]) for s in spins])
    except (KeyError, ValueError) as exc:
        raise BadOutputError(path, f"eigenvalues missing for a spin channel ({exc})") from exc
    if arr.shape[:3] != (len(spins), nkpt, nbands) or len(ev.kpoints) != nkpt:
        raise BadOutputError(path, f"truncated EIGENVAL: header promises {nkpt} k-points x {nbands} bands, "
                                   f"found {arr.shape[1]} x {arr.shape[2]}")
    w = np.asarray(ev.kpoints_weights, dtype=float)
    return {"eigenvalues": arr[..., 0], "occupations": arr[..., 1], "kpoints": np.asarray(ev.kpoints, float),
            "weights": normalised(w), "nelect": nelect}
