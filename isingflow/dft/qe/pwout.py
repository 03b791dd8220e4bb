"""Quantum ESPRESSO: the pw.x text output as plain data.

Why this reader: its own regular expressions.  ASE's ``espresso-out`` reader
(:mod:`ase.io.espresso`) misses QE ≤ 6.0 outputs, the 'Magnetic moment per site' block of
QE ≤ 6.x and the two Fermi energies of a fixed-magnetisation run, all of which the fixtures
have; the quantities come from the last 'End of self-consistent / band structure calculation'
section.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from ase.units import Bohr

from isingflow.dft._text import BadOutputError, element_of, floats, normalised, read_finished_output

_K_LINE = re.compile(r"^\s*k =\s*(.*?)\(\s*\d+ PWs\)\s+bands \(ev\)", re.M)
_STOP = re.compile(r"occupation numbers|the Fermi energ|highest occupied|SPIN|Writing|total energy|"
                   r"!|convergence|Magnetic|total magnetization|total cpu time|End of|per-process|"
                   r"Computing|init_run|electrons|k =")


def read_pw_output(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a finished pw.x text output.

    Returns a dict: ``version``, ``calculation`` ("scf" or "bands": which 'End of ...' section),
    ``lsda``, ``noncolin``, ``spinorbit``, ``nbnd``, ``nks``, ``alat`` (Bohr), ``cell`` (Å),
    ``symbols``, ``positions`` (Å), ``kpoints`` (fractional, or None), ``weights`` (or None),
    ``eigenvalues`` [spin, k, band] (eV; None when pw.x did not print them), ``fermi_level``
    (eV or None), ``fermi_kind``, ``fermi_up_down``, ``homo_lumo``, ``magmoms`` (last
    'Magnetic moment per site' block, µB; None if absent), ``total_magnetization``,
    ``absolute_magnetization``.
    """
    path = Path(path)
    text = read_finished_output(path, "pw.x", "Program PWSCF")
    if "convergence NOT achieved" in text:
        raise BadOutputError(path, "SCF not converged ('convergence NOT achieved')")
    m = re.search(r"Program PWSCF v\.(\S+)", text)
    d: dict[str, Any] = {"version": m.group(1) if m else "unknown", **_header(text, path)}
    d.update(_positions(text, d["nat"], d["alat"], path))
    kcart_hdr, d["weights"] = _header_kpoints(text, d["nks"])
    ends = list(re.finditer(r"End of (self-consistent|band structure) calculation", text))
    if not ends:
        raise BadOutputError(path, "no 'End of self-consistent calculation' / 'End of band structure "
                                   "calculation' section")
    d["calculation"] = "scf" if ends[-1].group(1) == "self-consistent" else "bands"
    section = text[ends[-1].end():]
    d["lsda"] = "SPIN UP" in section
    d["eigenvalues"], kcart_blocks = _eigen_blocks(section, d["nbnd"], d["nks"], 2 if d["lsda"] else 1, path)
    d.update(_fermi(section))
    d["magmoms"] = _site_moments(text, d["nat"], path) if d["calculation"] == "scf" else None
    tm = re.findall(r"total magnetization\s*=\s*([-\d.]+)", text)
    am = re.findall(r"absolute magnetization\s*=\s*([-\d.]+)", text)
    d["total_magnetization"] = float(tm[-1]) if tm else None
    d["absolute_magnetization"] = float(am[-1]) if am else None
    kcart = kcart_hdr if kcart_hdr is not None else kcart_blocks
    d["kpoints"] = kcart @ d.pop("axes").T if kcart is not None else None  # k_frac_i = k . a_i (alat)
    return d


def _header(text: str, path: Path) -> dict[str, Any]:
    """Counts, lattice parameter, cell and SOC flags from the header."""
    def grab(pattern: str, what: str, conv=float):
        mm = re.search(pattern, text)
        if not mm:
            raise BadOutputError(path, f"no '{what}' line")
        return conv(mm.group(1))

    alat = grab(r"lattice parameter \(alat\)\s*=\s*([-\d.]+)", "lattice parameter (alat)")
    axes = []
    for j in (1, 2, 3):
        mm = re.search(rf"a\({j}\) = \(\s*([^)]*)\)", text)
        if not mm:
            raise BadOutputError(path, f"no crystal axis a({j})")
        axes.append(floats(mm.group(1))[:3])
    axes = np.array(axes)  # alat units
    return {"alat": alat, "axes": axes, "cell": axes * alat * Bohr,
            "nat": grab(r"number of atoms/cell\s*=\s*(\d+)", "number of atoms/cell", int),
            "nbnd": grab(r"number of Kohn-Sham states\s*=\s*(\d+)", "number of Kohn-Sham states", int),
            "nks": grab(r"number of k points\s*=\s*(\d+)", "number of k points", int),
            "noncolin": bool(re.search(r"Noncollinear calculation|with spin-orbit", text)),
            "spinorbit": "spin-orbit" in text[:20000] or "spin-orbit" in text.split("End of", 1)[0]}


def _positions(text: str, nat: int, alat: float, path: Path) -> dict[str, Any]:
    pos_hdr = text.find("positions (alat units)")
    if pos_hdr < 0:
        raise BadOutputError(path, "no 'site n. atom positions (alat units)' block")
    rows = re.findall(r"^\s*\d+\s+(\S+)\s+tau\(\s*\d+\)\s*=\s*\(([^)]*)\)", text[pos_hdr:], re.M)[:nat]
    if len(rows) != nat:
        raise BadOutputError(path, f"atomic positions: {len(rows)} of {nat} atoms")
    return {"symbols": [element_of(lab) for lab, _ in rows],
            "positions": np.array([floats(v)[:3] for _, v in rows]) * alat * Bohr}


def _header_kpoints(text: str, nks: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The header k-point list (cart. 2π/alat, 7 decimals) and normalised weights, when printed."""
    mk = re.search(r"number of k points\s*=.*\n\s*cart\. coord\. in units 2pi/alat\s*\n", text)
    if not mk:
        return None, None
    kl = re.findall(r"k\(\s*\d+\) = \(([^)]*)\), wk =\s*([-\d.Ee+]+)", text[mk.end(): mk.end() + 200 * nks + 1000])
    if len(kl) < nks:
        return None, None
    return (np.array([floats(v)[:3] for v, _ in kl[:nks]]),
            normalised(np.array([float(wk) for _, wk in kl[:nks]])))


def _eigen_blocks(section: str, nbnd: int, nks: int, nspin: int, path: Path):
    """Eigenvalues [spin, k, band] and the block k-points (cart.) of one 'End of ...' section."""
    heads = list(_K_LINE.finditer(section))
    if not heads:
        return None, None  # pw.x printed no eigenvalues (>= 100 k-points without verbosity='high')
    if len(heads) != nspin * nks:
        raise BadOutputError(path, f"eigenvalue blocks incomplete: {len(heads)} of {nspin} x {nks}")
    eig = np.zeros((nspin, nks, nbnd))
    kcart = np.zeros((nks, 3))
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(section)
        vals: list[float] = []
        for line in section[h.end(): end].splitlines():
            if _STOP.search(line):
                break
            if "*" in line:
                raise BadOutputError(path, "eigenvalue printed as '****' (format overflow)")
            vals.extend(floats(line))
        if len(vals) < nbnd:
            raise BadOutputError(path, f"k-point block {i + 1}: {len(vals)} of {nbnd} eigenvalues")
        s, k = divmod(i, nks)
        eig[s, k] = vals[:nbnd]
        if s == 0:
            kcart[k] = floats(h.group(1))[:3]
    return eig, kcart


def _fermi(section: str) -> dict[str, Any]:
    """Fermi level (or the two spin Fermi energies, or the highest occupied level) of one section."""
    fermi = fermi_kind = fermi_up_down = homo_lumo = None
    mm = list(re.finditer(r"the Fermi energy is\s+([-\d.]+)\s*ev", section))
    if mm:
        fermi, fermi_kind = float(mm[-1].group(1)), "Fermi energy"
    mm2 = list(re.finditer(r"the spin up/dw Fermi energies are\s+([-\d.]+)\s+([-\d.]+)\s*ev", section))
    if fermi is None and mm2:
        fermi_up_down = [float(mm2[-1].group(1)), float(mm2[-1].group(2))]
        fermi, fermi_kind = max(fermi_up_down), "max(spin up/dw Fermi energies)"
    mm3 = list(re.finditer(r"highest occupied, lowest unoccupied level \(ev\):\s+([-\d.]+)\s+([-\d.]+)", section))
    mm4 = list(re.finditer(r"highest occupied level \(ev\):\s+([-\d.]+)", section))
    if mm3:
        homo_lumo = [float(mm3[-1].group(1)), float(mm3[-1].group(2))]
    elif mm4:
        homo_lumo = [float(mm4[-1].group(1)), None]
    if fermi is None and homo_lumo is not None:
        fermi, fermi_kind = homo_lumo[0], "highest occupied level"
    return {"fermi_level": fermi, "fermi_kind": fermi_kind, "fermi_up_down": fermi_up_down, "homo_lumo": homo_lumo}


def _site_moments(text: str, nat: int, path: Path) -> np.ndarray | None:
    """The last 'Magnetic moment per site' block (µB; the z component when non-collinear)."""
    blocks = list(re.finditer(r"Magnetic moment per site[^\n]*\n", text))
    if not blocks:
        return None
    vals = []
    for line in text[blocks[-1].end():].splitlines():
        if not line.strip().startswith("atom"):
            break
        mpart = re.search(r"magn[=:]\s*(.*?)(?:constr|$)", line)
        v = floats(mpart.group(1)) if mpart else []
        if not v:
            break
        vals.append(v[-1] if len(v) >= 3 else v[0])
    if len(vals) != nat:
        raise BadOutputError(path, f"'Magnetic moment per site' block: {len(vals)} of {nat} atoms")
    return np.array(vals)
