"""Quantum ESPRESSO: the pw.x XML data file (schema ``qes``, QE ≥ 6.2) as plain data.

Why this reader: plain :mod:`xml.etree` over the few elements needed (band structure,
structure, Fermi level, magnetisation).  ``qeschema`` (the QE developers' XML-schema package,
on PyPI) was considered but not adopted and not run against the fixtures: it is not a
dependency of the project, and it returns the whole file as nested dicts, so this module would
still convert units, reshape the eigenvalues per spin, turn Cartesian k-points fractional and
choose the Fermi level.  ASE's ``ase.io.espresso`` reads the text output and inputs only.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from ase.units import Bohr, Hartree

from isingflow.dft._text import BadOutputError, element_of, floats, maybe_float, normalised, parse_xml

NONSCF = ("bands", "nscf")


def read_qe_xml(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a pw.x XML data file (schema ``qes``, QE ≥ 6.2).

    Returns a dict: ``version``, ``calculation``, ``lsda``, ``noncolin``, ``spinorbit``,
    ``eigenvalues`` and ``occupations`` [spin, k, band] (eV), ``kpoints`` (fractional),
    ``weights`` (normalised), ``fermi_level`` (eV), ``fermi_kind``, ``fermi_up_down`` (eV or
    None), ``cell`` (Å), ``symbols``, ``positions`` (Å), ``magmoms`` (µB or None),
    ``total_magnetization``, ``absolute_magnetization``, ``converged``, ``nelec``.
    """
    path = Path(path)
    root = parse_xml(path, "Quantum ESPRESSO")
    if root.tag.split("}")[-1] != "espresso":
        raise BadOutputError(path, f"not a Quantum ESPRESSO pw.x XML (root element <{root.tag}>)")
    out = root.find("output")
    if out is None:
        raise BadOutputError(path, "no <output> section (input-only XML, or the run did not finish)")
    bs = out.find("band_structure")
    if bs is None:
        raise BadOutputError(path, "no <output><band_structure> section")
    calc = (root.findtext("input/control_variables/calculation") or "scf").strip()
    creator = root.find("general_info/creator")
    version = creator.get("VERSION") if creator is not None else "unknown"
    conv = (out.findtext("convergence_info/scf_conv/convergence_achieved") or "").strip().lower()
    if calc not in NONSCF and conv == "false":
        raise BadOutputError(path, "SCF not converged (<convergence_achieved>false)")
    data = {"version": version, "calculation": calc, **_spin_flags(bs)}
    data.update(_ks_energies(bs, out, data["lsda"], path))
    data.update(_structure(out, path))
    data.update(_fermi(bs, path))
    data.update(_magnetization(out, calc, len(data["symbols"])))
    data.update(converged=conv == "true", nelec=maybe_float(bs.findtext("nelec")))
    return data


def _spin_flags(bs: ET.Element) -> dict[str, bool]:
    return {tag: (bs.findtext(tag) or "false").strip().lower() == "true" for tag in ("lsda", "noncolin", "spinorbit")}


def _band_counts(bs: ET.Element, lsda: bool, path: Path) -> tuple[int, int]:
    """(bands per spin, spins) of ``<band_structure>``."""
    if lsda:
        nup, ndw = int(bs.findtext("nbnd_up") or 0), int(bs.findtext("nbnd_dw") or 0)
        if nup <= 0 or nup != ndw:
            raise BadOutputError(path, f"nbnd_up={nup}, nbnd_dw={ndw}: unequal or missing band counts")
        return nup, 2
    nbnd = int(bs.findtext("nbnd") or 0)
    if nbnd <= 0:
        raise BadOutputError(path, "no <nbnd> in <band_structure>")
    return nbnd, 1


def _ks_energies(bs: ET.Element, out: ET.Element, lsda: bool, path: Path) -> dict[str, Any]:
    """Eigenvalues, occupations [spin, k, band] (eV), fractional k-points and weights."""
    nbnd, nspin = _band_counts(bs, lsda, path)
    nks_text = bs.findtext("nks")
    if nks_text is None:
        raise BadOutputError(path, "no <nks> in <band_structure>")
    nks = int(nks_text)
    ks = bs.findall("ks_energies")
    if len(ks) != nks:
        raise BadOutputError(path, f"{len(ks)} of {nks} <ks_energies> blocks")
    eig = np.zeros((nspin, nks, nbnd))
    occ = np.zeros_like(eig)
    kcart = np.zeros((nks, 3))
    w = np.zeros(nks)
    for i, blk in enumerate(ks):
        kp = blk.find("k_point")
        e = floats(blk.findtext("eigenvalues") or "")
        o = floats(blk.findtext("occupations") or "")
        if kp is None or len(e) != nspin * nbnd:
            raise BadOutputError(path, f"k-point {i + 1}: {len(e)} eigenvalues, expected {nspin * nbnd}")
        kcart[i] = floats(kp.text or "")[:3]
        w[i] = float(kp.get("weight", "1"))
        eig[:, i] = np.reshape(e, (nspin, nbnd))
        if len(o) == nspin * nbnd:
            occ[:, i] = np.reshape(o, (nspin, nbnd))
    recip = np.array([floats(out.findtext(f"basis_set/reciprocal_lattice/b{j}") or "") for j in (1, 2, 3)])
    if recip.shape != (3, 3):
        raise BadOutputError(path, "no <basis_set><reciprocal_lattice> (needed for fractional k-points)")
    return {"eigenvalues": eig * Hartree, "occupations": occ, "kpoints": kcart @ np.linalg.inv(recip),
            "weights": normalised(w), "nbnd": nbnd, "nks": nks}


def _structure(out: ET.Element, path: Path) -> dict[str, Any]:
    ast = out.find("atomic_structure")
    if ast is None:
        raise BadOutputError(path, "no <output><atomic_structure>")
    atoms_el = ast.findall("atomic_positions/atom")
    labels = [a.get("name", "X") for a in atoms_el]
    return {"cell": np.array([floats(ast.findtext(f"cell/a{j}") or "") for j in (1, 2, 3)]) * Bohr,
            "symbols": [element_of(lab) for lab in labels], "species_labels": labels,
            "positions": np.array([floats(a.text or "")[:3] for a in atoms_el]) * Bohr}


def _fermi(bs: ET.Element, path: Path) -> dict[str, Any]:
    """Fermi level (eV): ``fermi_energy``, the higher of ``two_fermi_energies``, or ``highestOccupiedLevel``."""
    fermi_up_down = None
    if bs.findtext("fermi_energy") is not None:
        fermi, kind = float(bs.findtext("fermi_energy")) * Hartree, "fermi_energy"
    elif bs.findtext("two_fermi_energies") is not None:
        fermi_up_down = [x * Hartree for x in floats(bs.findtext("two_fermi_energies"))]
        fermi, kind = max(fermi_up_down), "max(two_fermi_energies)"
    elif bs.findtext("highestOccupiedLevel") is not None:
        fermi, kind = float(bs.findtext("highestOccupiedLevel")) * Hartree, "highestOccupiedLevel"
    else:
        raise BadOutputError(path, "no fermi_energy, two_fermi_energies or highestOccupiedLevel")
    return {"fermi_level": fermi, "fermi_kind": kind, "fermi_up_down": fermi_up_down}


def _magnetization(out: ET.Element, calc: str, nat: int) -> dict[str, Any]:
    """Total and absolute magnetisation, and the site moments of a self-consistent run (µB or None)."""
    mag = out.find("magnetization")
    if mag is None:
        return {"magmoms": None, "total_magnetization": None, "absolute_magnetization": None}
    magmoms = None
    sites = mag.findall("Scalar_Site_Magnetic_Moments/SiteMagnetization")
    vec_sites = mag.findall("Site_Magnetic_Moments/SiteMagnetization")
    if calc not in NONSCF:
        if sites and len(sites) == nat:
            magmoms = np.array([float(s.text) for s in sites])
        elif vec_sites and len(vec_sites) == nat:
            magmoms = np.array([floats(s.text or "0 0 0")[-1] for s in vec_sites])
    return {"magmoms": magmoms, "total_magnetization": maybe_float(mag.findtext("total")),
            "absolute_magnetization": maybe_float(mag.findtext("absolute"))}
