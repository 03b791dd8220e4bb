"""Quantum ESPRESSO: pw.x input writer and output parsers into the normalised :class:`BandStructure`.

Reading
-------
:func:`read_qe_bands` takes a file or a run folder:

* the pw.x XML (``data-file-schema.xml`` or any ``qes:espresso`` XML; plain
  :mod:`xml.etree`): eigenvalues and occupations per spin, k-points (converted from
  Cartesian 2π/alat to fractional with the XML's own reciprocal lattice), Fermi level
  (``fermi_energy``; for fixed total magnetisation the higher of ``two_fermi_energies``; for
  fixed occupations ``highestOccupiedLevel``), cell, positions, per-site moments
  (``Scalar_Site_Magnetic_Moments``, QE ≥ 7.0), SOC flags;
* the pw.x text output (own parser; ASE's ``espresso-out`` reader misses QE ≤ 6.0 outputs,
  the 'Magnetic moment per site' block of QE ≤ 6.x and two Fermi energies): the same
  quantities from the last 'End of self-consistent / band structure calculation' section.

Moments come only from self-consistent runs ('bands'/'nscf' runs do not recompute them);
when the XML of a run lacks site moments (QE < 7.0) they are taken from the text output of
the same run in the same folder.  A 'bands' text output has no Fermi level: it is taken from
an SCF output (text or XML) of the same system in the same folder, and
``provenance['fermi_level_from']`` names it.  Projections onto atoms come from projwfc.x:
``atomic_proj.xml`` beside the XML (its states mapped to atoms with the projwfc.x text output's
``state #`` list), or else the projwfc.x text output itself (the printed ``psi = ...``
components, 3 decimals).

In a folder (searched together with ``*.save`` sub-folders) the XML wins over the text, a
band run over an SCF run, more k-points over fewer.

Any empty, truncated, unfinished, unconverged or foreign file raises
:class:`~isingflow.dft._parse_util.BadOutputError` (a ``ValueError``) naming the file and
what is missing.

Writing
-------
:func:`write_qe_inputs` writes ``pw.in`` (through ``ase.io.write(format="espresso-in")``),
``projwfc.in`` for band runs, ``run.sh`` and ``isingflow_inputs.json``.
"""
from __future__ import annotations

import io
import json
import os
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from ase.units import Bohr, Hartree, Rydberg

from isingflow.dft._parse_util import (
    INPUTS_RECORD,
    BadOutputError,
    element_of,
    floats,
    guess_valence,
    head,
    hubbard_l,
    hubbard_manifold,
    initial_magmoms,
    is_slab,
    is_z_mirror_symmetric,
    kmesh,
    looks_like_path,
    normalise_kpath,
    parse_xml,
    read_inputs_record,
    read_text,
    read_upf_valence,
    record_path_labels,
    special_point_labels,
    vacuum_gap,
)
from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import atomic_write_text, hash_file, hash_object

__all__ = ["read_qe_bands", "read_qe_xml", "read_pw_output", "read_atomic_proj", "read_projwfc_output",
           "write_qe_inputs"]

_NONSCF = ("bands", "nscf")


# ======================================================================================
# pw.x XML
# ======================================================================================
def _is_qe_xml(root: ET.Element) -> bool:
    return root.tag.split("}")[-1] == "espresso"


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
    if not _is_qe_xml(root):
        raise BadOutputError(path, f"not a Quantum ESPRESSO pw.x XML (root element <{root.tag}>)")
    out = root.find("output")
    if out is None:
        raise BadOutputError(path, "no <output> section (input-only XML, or the run did not finish)")
    bs = out.find("band_structure")
    if bs is None:
        raise BadOutputError(path, "no <output><band_structure> section")
    calc = (root.findtext("input/control_variables/calculation") or "scf").strip()
    version = (root.find("general_info/creator").get("VERSION") if root.find("general_info/creator") is not None
               else "unknown")

    def flag(tag: str) -> bool:
        return (bs.findtext(tag) or "false").strip().lower() == "true"

    lsda, noncolin, spinorbit = flag("lsda"), flag("noncolin"), flag("spinorbit")
    if lsda:
        nup, ndw = int(bs.findtext("nbnd_up") or 0), int(bs.findtext("nbnd_dw") or 0)
        if nup <= 0 or nup != ndw:
            raise BadOutputError(path, f"nbnd_up={nup}, nbnd_dw={ndw}: unequal or missing band counts")
        nbnd, nspin = nup, 2
    else:
        nbnd, nspin = int(bs.findtext("nbnd") or 0), 1
        if nbnd <= 0:
            raise BadOutputError(path, "no <nbnd> in <band_structure>")
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
    eig *= Hartree
    recip = np.array([floats(out.findtext(f"basis_set/reciprocal_lattice/b{j}") or "") for j in (1, 2, 3)])
    if recip.shape != (3, 3):
        raise BadOutputError(path, "no <basis_set><reciprocal_lattice> (needed for fractional k-points)")
    kfrac = kcart @ np.linalg.inv(recip)

    ast = out.find("atomic_structure")
    if ast is None:
        raise BadOutputError(path, "no <output><atomic_structure>")
    cell = np.array([floats(ast.findtext(f"cell/a{j}") or "") for j in (1, 2, 3)]) * Bohr
    atoms_el = ast.findall("atomic_positions/atom")
    labels = [a.get("name", "X") for a in atoms_el]
    symbols = [element_of(lab) for lab in labels]
    positions = np.array([floats(a.text or "")[:3] for a in atoms_el]) * Bohr

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

    conv = (out.findtext("convergence_info/scf_conv/convergence_achieved") or "").strip().lower()
    if calc not in _NONSCF and conv == "false":
        raise BadOutputError(path, "SCF not converged (<convergence_achieved>false)")

    magmoms = None
    mag = out.find("magnetization")
    total = absolute = None
    if mag is not None:
        total = _maybe_float(mag.findtext("total"))
        absolute = _maybe_float(mag.findtext("absolute"))
        sites = mag.findall("Scalar_Site_Magnetic_Moments/SiteMagnetization")
        vec_sites = mag.findall("Site_Magnetic_Moments/SiteMagnetization")
        if calc not in _NONSCF:
            if sites and len(sites) == len(symbols):
                magmoms = np.array([float(s.text) for s in sites])
            elif vec_sites and len(vec_sites) == len(symbols):
                magmoms = np.array([floats(s.text or "0 0 0")[-1] for s in vec_sites])
    return {
        "version": version, "calculation": calc, "lsda": lsda, "noncolin": noncolin, "spinorbit": spinorbit,
        "eigenvalues": eig, "occupations": occ, "kpoints": kfrac, "weights": w / w.sum() if w.sum() > 0 else w,
        "fermi_level": fermi, "fermi_kind": kind, "fermi_up_down": fermi_up_down, "cell": cell,
        "symbols": symbols, "species_labels": labels, "positions": positions, "magmoms": magmoms,
        "total_magnetization": total, "absolute_magnetization": absolute, "converged": conv == "true",
        "nelec": _maybe_float(bs.findtext("nelec")), "nbnd": nbnd, "nks": nks,
    }


def _maybe_float(text: str | None) -> float | None:
    if text is None:
        return None
    v = floats(text)
    return v[0] if v else None


# ======================================================================================
# pw.x text output
# ======================================================================================
_K_LINE = re.compile(r"^\s*k =\s*(.*?)\(\s*\d+ PWs\)\s+bands \(ev\)", re.M)


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
    text = read_text(path, "pw.x output")
    if "Program PWSCF" not in text[:5000]:
        raise BadOutputError(path, "not a pw.x output (no 'Program PWSCF' banner)")
    if "JOB DONE" not in text:
        raise BadOutputError(path, "truncated or unfinished pw.x output: no 'JOB DONE.' line")
    if "convergence NOT achieved" in text:
        raise BadOutputError(path, "SCF not converged ('convergence NOT achieved')")
    m = re.search(r"Program PWSCF v\.(\S+)", text)
    version = m.group(1) if m else "unknown"

    def grab(pattern: str, what: str, conv=float, required=True):
        mm = re.search(pattern, text)
        if not mm:
            if required:
                raise BadOutputError(path, f"no '{what}' line")
            return None
        return conv(mm.group(1))

    alat = grab(r"lattice parameter \(alat\)\s*=\s*([-\d.]+)", "lattice parameter (alat)")
    nat = grab(r"number of atoms/cell\s*=\s*(\d+)", "number of atoms/cell", int)
    nbnd = grab(r"number of Kohn-Sham states\s*=\s*(\d+)", "number of Kohn-Sham states", int)
    nks = grab(r"number of k points\s*=\s*(\d+)", "number of k points", int)
    axes = []
    for j in (1, 2, 3):
        mm = re.search(rf"a\({j}\) = \(\s*([^)]*)\)", text)
        if not mm:
            raise BadOutputError(path, f"no crystal axis a({j})")
        axes.append(floats(mm.group(1))[:3])
    axes = np.array(axes)  # alat units
    cell = axes * alat * Bohr
    noncolin = bool(re.search(r"Noncollinear calculation|with spin-orbit", text))
    spinorbit = "spin-orbit" in text[:20000] or "spin-orbit" in text.split("End of", 1)[0]

    # positions (alat units)
    pos_hdr = text.find("positions (alat units)")
    if pos_hdr < 0:
        raise BadOutputError(path, "no 'site n. atom positions (alat units)' block")
    rows = re.findall(r"^\s*\d+\s+(\S+)\s+tau\(\s*\d+\)\s*=\s*\(([^)]*)\)", text[pos_hdr:], re.M)[:nat]
    if len(rows) != nat:
        raise BadOutputError(path, f"atomic positions: {len(rows)} of {nat} atoms")
    symbols = [element_of(lab) for lab, _ in rows]
    positions = np.array([floats(v)[:3] for _, v in rows]) * alat * Bohr

    # the header k-point list (cart. 2pi/alat, 7 decimals, weights), when printed
    kcart_hdr = weights = None
    mk = re.search(r"number of k points\s*=.*\n\s*cart\. coord\. in units 2pi/alat\s*\n", text)
    if mk:
        kl = re.findall(r"k\(\s*\d+\) = \(([^)]*)\), wk =\s*([-\d.Ee+]+)", text[mk.end(): mk.end() + 200 * nks + 1000])
        if len(kl) >= nks:
            kcart_hdr = np.array([floats(v)[:3] for v, _ in kl[:nks]])
            weights = np.array([float(wk) for _, wk in kl[:nks]])
            weights = weights / weights.sum() if weights.sum() > 0 else weights

    ends = [mm for mm in re.finditer(r"End of (self-consistent|band structure) calculation", text)]
    if not ends:
        raise BadOutputError(path, "no 'End of self-consistent calculation' / 'End of band structure "
                                   "calculation' section")
    last = ends[-1]
    calc = "scf" if last.group(1) == "self-consistent" else "bands"
    section = text[last.end():]
    lsda = "SPIN UP" in section[:2000] or bool(re.search(r"SPIN UP", section))
    eig, kcart_blocks = _pw_eigen_blocks(section, nbnd, nks, 2 if lsda else 1, path)

    fermi = fermi_kind = None
    fermi_up_down = homo_lumo = None
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

    magmoms = None
    blocks = list(re.finditer(r"Magnetic moment per site[^\n]*\n", text))
    if blocks and calc == "scf":
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
        magmoms = np.array(vals)
    tm = re.findall(r"total magnetization\s*=\s*([-\d.]+)", text)
    am = re.findall(r"absolute magnetization\s*=\s*([-\d.]+)", text)

    kcart = kcart_hdr if kcart_hdr is not None else kcart_blocks
    kfrac = kcart @ axes.T if kcart is not None else None  # k_frac_i = k . a_i (alat units)
    return {
        "version": version, "calculation": calc, "lsda": lsda, "noncolin": noncolin, "spinorbit": spinorbit,
        "nbnd": nbnd, "nks": nks, "nat": nat, "alat": alat, "cell": cell, "symbols": symbols,
        "positions": positions, "kpoints": kfrac, "weights": weights, "eigenvalues": eig,
        "fermi_level": fermi, "fermi_kind": fermi_kind, "fermi_up_down": fermi_up_down, "homo_lumo": homo_lumo,
        "magmoms": magmoms, "total_magnetization": float(tm[-1]) if tm else None,
        "absolute_magnetization": float(am[-1]) if am else None,
    }


def _pw_eigen_blocks(section: str, nbnd: int, nks: int, nspin: int, path: Path):
    """Eigenvalues [spin, k, band] and the block k-points (cart.) of one 'End of ...' section."""
    heads = list(_K_LINE.finditer(section))
    if not heads:
        return None, None  # pw.x printed no eigenvalues (>= 100 k-points without verbosity='high')
    if len(heads) != nspin * nks:
        raise BadOutputError(path, f"eigenvalue blocks incomplete: {len(heads)} of {nspin} x {nks}")
    stop = re.compile(r"occupation numbers|the Fermi energ|highest occupied|SPIN|Writing|total energy|"
                      r"!|convergence|Magnetic|total magnetization|total cpu time|End of|per-process|"
                      r"Computing|init_run|electrons|k =")
    eig = np.zeros((nspin, nks, nbnd))
    kcart = np.zeros((nks, 3))
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(section)
        vals: list[float] = []
        for line in section[h.end(): end].splitlines():
            if stop.search(line):
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


# ======================================================================================
# projwfc.x
# ======================================================================================
def read_projwfc_output(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a projwfc.x text output.

    Returns ``state_atoms`` (0-based atom index of each projector state, in state order) and,
    when the per-state projections are printed, ``projections`` [k_all, band, atom] from the
    ``psi = w*[#n] + ...`` lines (k_all runs over spin up then spin down for LSDA) and
    ``nk_blocks``.
    """
    path = Path(path)
    text = read_text(path, "projwfc.x output")
    if "Program PROJWFC" not in text[:5000]:
        raise BadOutputError(path, "not a projwfc.x output (no 'Program PROJWFC' banner)")
    if "JOB DONE" not in text:
        raise BadOutputError(path, "truncated or unfinished projwfc.x output: no 'JOB DONE.' line")
    states = re.findall(r"state #\s*(\d+): atom\s+(\d+)", text)
    if not states:
        raise BadOutputError(path, "no 'state # n: atom m' list")
    state_atoms = [int(a) - 1 for _, a in states]
    natom = max(state_atoms) + 1
    kblocks = re.split(r"^\s*k =\s+[-\d. ]+\n", text, flags=re.M)[1:]
    projections = None
    if kblocks:
        proj = []
        for blk in kblocks:
            bands = re.split(r"==== e\(\s*\d+\) =\s*[-\d.]+ eV ====", blk)[1:]
            rows = []
            for b in bands:
                b = b.split("|psi|^2")[0]
                row = np.zeros(natom)
                for wt, st in re.findall(r"([\d.]+)\*\[#\s*(\d+)\]", b):
                    row[state_atoms[int(st) - 1]] += float(wt)
                rows.append(row)
            proj.append(rows)
        nb = {len(r) for r in proj}
        if len(nb) != 1:
            raise BadOutputError(path, f"k-point blocks have different band counts {sorted(nb)} (truncated?)")
        projections = np.array(proj)
    return {"state_atoms": state_atoms, "projections": projections, "nk_blocks": len(kblocks)}


def read_atomic_proj(path: str | os.PathLike, state_atoms: list[int]) -> dict[str, Any]:
    """Parse projwfc.x's ``atomic_proj.xml`` (QE ≥ 6.6 layout).

    ``state_atoms`` maps each projector state to its atom (from :func:`read_projwfc_output`).
    Returns ``projections`` [spin, k, band, atom] = Σ_states-on-atom |⟨φ|ψ⟩|², ``nspin``,
    ``nk``, ``nbnd``.
    """
    path = Path(path)
    root = parse_xml(path, "atomic_proj.xml")
    if root.tag != "PROJECTIONS":
        raise BadOutputError(path, f"not a projwfc.x atomic_proj.xml (root <{root.tag}>)")
    hdr = root.find("HEADER")
    es = root.find("EIGENSTATES")
    if hdr is None or es is None:
        raise BadOutputError(path, "no <HEADER>/<EIGENSTATES> (older atomic_proj.xml layouts are not supported)")
    nb = int(hdr.get("NUMBER_OF_BANDS"))
    nk = int(hdr.get("NUMBER_OF_K-POINTS"))
    nspin_comp = int(hdr.get("NUMBER_OF_SPIN_COMPONENTS", "1"))
    nwfc = int(hdr.get("NUMBER_OF_ATOMIC_WFC"))
    if len(state_atoms) != nwfc:
        raise BadOutputError(path, f"{nwfc} atomic states but the projwfc.x output lists {len(state_atoms)}")
    nspin = 2 if nspin_comp == 2 else 1
    natom = max(state_atoms) + 1
    proj = np.zeros((nspin, nk, nb, natom))
    counts = np.zeros((nspin,), int)
    for child in es:
        if child.tag != "PROJS":
            continue
        spin = 0
        for wfc in child.findall("ATOMIC_WFC"):
            idx = int(wfc.get("index")) - 1
            spin = int(wfc.get("spin", "1")) - 1 if nspin == 2 else 0
            v = np.array(floats(wfc.text or ""))
            if len(v) != 2 * nb:
                raise BadOutputError(path, f"ATOMIC_WFC {idx + 1}: {len(v) // 2} of {nb} band projections")
            c2 = v[0::2] ** 2 + v[1::2] ** 2
            if counts[spin] >= nk:
                raise BadOutputError(path, "more k-point blocks than NUMBER_OF_K-POINTS")
            proj[spin, counts[spin], :, state_atoms[idx]] += c2
        counts[spin] += 1
    if any(c != nk for c in counts):
        raise BadOutputError(path, f"k-point blocks per spin {counts.tolist()}, expected {nk}")
    return {"projections": proj, "nspin": nspin, "nk": nk, "nbnd": nb}


# ======================================================================================
# front door
# ======================================================================================
def _sniff(path: Path) -> str:
    """xml | atomic_proj | pw | projwfc, or BadOutputError."""
    text = head(path, 8192)
    if not text.strip():
        read_text(path, "Quantum ESPRESSO output")  # raises 'empty file'
    if "<PROJECTIONS" in text[:500]:
        return "atomic_proj"
    if "qes:espresso" in text or re.search(r"<espresso[\s>]", text):
        return "xml"
    if "Program PWSCF" in text:
        return "pw"
    if "Program PROJWFC" in text:
        return "projwfc"
    raise BadOutputError(path, "not a Quantum ESPRESSO output (no qes:espresso XML root, no "
                               "'Program PWSCF' banner)")


def read_qe_bands(path: str | os.PathLike) -> BandStructure:
    """Read Quantum ESPRESSO output (pw.x XML, pw.x text, or a run folder) into a BandStructure.

    Raises ``ValueError`` (``BadOutputError``) naming the file and what is missing for empty,
    truncated, foreign or unconverged output, and for files that hold no band energies
    (projwfc.x outputs, ``atomic_proj.xml``, pw.x outputs that did not print eigenvalues).
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or directory")
    kind = _sniff(path)
    if kind == "xml":
        return _bands_from_xml(path)
    if kind == "pw":
        return _bands_from_text(path)
    if kind == "atomic_proj":
        raise BadOutputError(path, "atomic_proj.xml holds projections only: read the pw.x XML "
                                   "(data-file-schema.xml) beside it")
    raise BadOutputError(path, "projwfc.x output holds projections only: read the pw.x output or XML")


def _candidates(folder: Path) -> tuple[list[tuple[Path, str]], list[Path]]:
    """pw.x XML / text outputs in ``folder`` and its ``*.save`` sub-folders, and the empty files seen."""
    dirs = [folder] + sorted(p for p in folder.glob("**/*.save") if p.is_dir())[:20]
    out, empty = [], []
    for d in dirs:
        for p in sorted(d.iterdir()):
            if not p.is_file() or p.suffix in (".UPF", ".upf", ".in", ".json", ".sh", ".dat"):
                continue
            if p.stat().st_size == 0 or not head(p, 4096).strip():
                empty.append(p)
                continue
            try:
                kind = _sniff(p)
            except BadOutputError:
                continue
            if kind in ("xml", "pw"):
                out.append((p, kind))
    return out, empty


def _read_folder(folder: Path) -> BandStructure:
    """Every pw.x output in the folder is parsed (a broken one is an error); the richest is used.

    Richest: XML before text, a band run before an SCF run, more k-points before fewer; text
    outputs without printed eigenvalues are never chosen.
    """
    cands, empty = _candidates(folder)
    if not cands:
        extra = f" (empty files: {', '.join(p.name for p in empty)})" if empty else ""
        raise BadOutputError(folder, f"no Quantum ESPRESSO output here (pw.x XML or text output){extra}")
    ranked = []
    for p, kind in cands:
        d = read_qe_xml(p) if kind == "xml" else read_pw_output(p)  # raises on broken files
        if d["eigenvalues"] is None:
            continue
        is_band = d["calculation"] == "bands"
        ranked.append(((kind != "xml", not is_band, -d["eigenvalues"].shape[1], p.name), p, kind))
    if not ranked:
        extra = f"; empty files: {', '.join(p.name for p in empty)}" if empty else ""
        raise BadOutputError(folder, "no pw.x output here holds eigenvalues (text outputs print them only "
                                     f"for < 100 k-points or verbosity='high'; keep the XML data file){extra}")
    ranked.sort(key=lambda r: r[0])
    _, best, kind = ranked[0]
    bands = _bands_from_xml(best) if kind == "xml" else _bands_from_text(best)
    bands.provenance["chosen_from_folder"] = {"folder": str(folder), "chosen": best.name,
                                              "others": [r[1].name for r in ranked[1:]],
                                              "ignored_empty_files": [p.name for p in empty]}
    return bands


def _bands_from_xml(path: Path) -> BandStructure:
    d = read_qe_xml(path)
    prov: dict[str, Any] = {"files": {str(path): hash_file(path)}, "calculation": d["calculation"],
                            "fermi_kind": d["fermi_kind"], "total_magnetization": d["total_magnetization"],
                            "absolute_magnetization": d["absolute_magnetization"], "nelec": d["nelec"]}
    if d["fermi_up_down"] is not None:
        prov["fermi_energies_up_down_eV"] = d["fermi_up_down"]
    bands = BandStructure(
        eigenvalues=d["eigenvalues"], kpoints=d["kpoints"], fermi_level=d["fermi_level"], code="qe",
        code_version=d["version"], cell=d["cell"], symbols=d["symbols"], positions=d["positions"],
        weights=d["weights"], soc=bool(d["noncolin"] and d["spinorbit"]), magmoms=d["magmoms"],
        source=str(path), provenance=prov,
    )
    if d["magmoms"] is not None:
        prov["magmoms_source"] = "XML Scalar_Site_Magnetic_Moments"
    elif d["lsda"] or d["noncolin"]:
        if d["calculation"] in _NONSCF:
            prov["magmoms_note"] = f"a '{d['calculation']}' run does not recompute moments"
        else:
            _moments_from_sibling_text(bands, path)
    _finish(bands, path, d["calculation"] == "bands" or looks_like_path(d["kpoints"]))
    return bands


def _moments_from_sibling_text(bands: BandStructure, xml_path: Path) -> None:
    for p in sorted(xml_path.parent.iterdir()):
        if p == xml_path or not p.is_file() or p.suffix in (".xml", ".in", ".UPF", ".upf"):
            continue
        if "Program PWSCF" not in head(p, 5000):
            continue
        t = read_pw_output(p)
        if (t["eigenvalues"] is not None and t["eigenvalues"].shape == bands.eigenvalues.shape
                and t["fermi_level"] is not None and abs(t["fermi_level"] - bands.fermi_level) < 2e-3
                and t["magmoms"] is not None):
            bands.magmoms = t["magmoms"]
            bands.provenance["magmoms_source"] = f"{p.name} 'Magnetic moment per site' (same run)"
            bands.provenance["files"][str(p)] = hash_file(p)
            return


def _bands_from_text(path: Path) -> BandStructure:
    d = read_pw_output(path)
    if d["eigenvalues"] is None:
        raise BadOutputError(path, "pw.x did not print the eigenvalues (it skips them for >= 100 k-points "
                                   "unless verbosity='high'): read the XML data file instead")
    prov: dict[str, Any] = {"files": {str(path): hash_file(path)}, "calculation": d["calculation"],
                            "fermi_kind": d["fermi_kind"], "total_magnetization": d["total_magnetization"],
                            "absolute_magnetization": d["absolute_magnetization"]}
    fermi = d["fermi_level"]
    if d["fermi_up_down"] is not None:
        prov["fermi_energies_up_down_eV"] = d["fermi_up_down"]
    if d["homo_lumo"] is not None:
        prov["homo_lumo_eV"] = d["homo_lumo"]
    if fermi is None:
        fermi, src = _fermi_from_sibling(path, d)
        prov["fermi_level_from"] = str(src)
        prov["fermi_kind"] = "from the SCF run beside it"
    bands = BandStructure(
        eigenvalues=d["eigenvalues"], kpoints=d["kpoints"], fermi_level=fermi, code="qe",
        code_version=d["version"], cell=d["cell"], symbols=d["symbols"], positions=d["positions"],
        weights=d["weights"], soc=bool(d["noncolin"] and d["spinorbit"]), magmoms=d["magmoms"],
        source=str(path), provenance=prov,
    )
    if d["magmoms"] is not None:
        prov["magmoms_source"] = "pw.x 'Magnetic moment per site' (last block)"
    if "Begin final coordinates" in read_text(path, "pw.x output"):
        prov["positions_note"] = "relaxation: cell/positions are the initial ones (read the XML for the final)"
    _finish(bands, path, looks_like_path(d["kpoints"]))
    return bands


def _fermi_from_sibling(path: Path, d: dict) -> tuple[float, Path]:
    """Fermi level of an SCF run of the same system (same cell and atoms) beside a band run."""
    skipped: list[str] = []
    for p in sorted(path.parent.iterdir()):
        if p == path or not p.is_file() or p.suffix in (".in", ".UPF", ".upf", ".json"):
            continue
        h = head(p, 8192)
        if not h.strip():
            skipped.append(f"{p}: empty file")
            continue
        try:
            if "Program PWSCF" in h:
                t = read_pw_output(p)
                if t["calculation"] != "scf":
                    continue
            elif "qes:espresso" in h:
                t = read_qe_xml(p)
                if t["calculation"] in _NONSCF:
                    continue
            else:
                continue
        except BadOutputError as exc:
            skipped.append(str(exc))
            continue
        if (t["fermi_level"] is not None and t["symbols"] == d["symbols"]
                and np.allclose(t["cell"], d["cell"], atol=1e-3)):
            return float(t["fermi_level"]), p
    why = f" (unusable: {'; '.join(skipped)})" if skipped else ""
    raise BadOutputError(path, "no Fermi level: a 'bands' run does not print one, and no SCF output "
                               f"(text or XML) of the same structure was found beside it{why}")


def _finish(bands: BandStructure, path: Path, is_path_run: bool) -> None:
    folder = path.parent
    rec = read_inputs_record(folder) or read_inputs_record(folder.parent) or read_inputs_record(folder.parent.parent)
    if rec and rec.get("code") == "qe":
        bands.inputs_hash = rec.get("inputs_sha256")
    labels = record_path_labels(rec, bands.nkpts)
    if labels is not None:
        bands.path_labels = labels
    elif is_path_run:
        bands.path_labels = special_point_labels(bands.cell, bands.kpoints)
    _attach_projections(bands, path)


def _projwfc_texts(folder: Path) -> list[Path]:
    out = []
    for d in (folder, folder.parent, folder.parent.parent):
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.is_file() and p.suffix not in (".xml", ".in", ".UPF", ".upf") and "Program PROJWFC" in head(p, 5000):
                out.append(p)
        if out:
            break
    return out


def _attach_projections(bands: BandStructure, path: Path) -> None:
    folder = path.parent
    texts = _projwfc_texts(folder)
    nat = len(bands.symbols or [])
    ap = folder / "atomic_proj.xml"
    if ap.is_file():
        if not texts:
            bands.provenance["projections_note"] = (f"{ap.name} present but no projwfc.x text output beside it "
                                                    "to map its states to atoms")
            return
        info = read_projwfc_output(texts[0])
        proj = read_atomic_proj(ap, info["state_atoms"])
        p = proj["projections"]
        if p.shape[:3] == bands.eigenvalues.shape and p.shape[3] == nat:
            bands.projections = p
            bands.provenance["projections_source"] = f"{ap.name} |<phi|psi>|^2 summed per atom ({texts[0].name})"
            bands.provenance["files"][str(ap)] = hash_file(ap)
            bands.provenance["files"][str(texts[0])] = hash_file(texts[0])
        else:
            bands.provenance["projections_note"] = f"{ap.name} shape {p.shape} does not match this run"
        return
    for t in texts:
        info = read_projwfc_output(t)
        pr = info["projections"]
        if pr is None:
            continue
        nspin, nk, nb = bands.eigenvalues.shape
        if pr.shape[0] == nspin * nk and pr.shape[1] == nb and pr.shape[2] == nat:
            bands.projections = pr.reshape(nspin, nk, nb, nat)
            bands.provenance["projections_source"] = (f"{t.name} printed components (3 decimals, components "
                                                      "below projwfc.x's print threshold omitted)")
            bands.provenance["files"][str(t)] = hash_file(t)
            return


# ======================================================================================
# writing
# ======================================================================================
_SMEAR_QE = {"gaussian": "gaussian", "fermi-dirac": "fd", "fd": "fd", "methfessel-paxton": "mp", "mp": "mp",
             "mv": "mv", "marzari-vanderbilt": "mv", "cold": "mv"}
_VDW_QE: dict[str, dict[str, Any]] = {
    "d2": {"vdw_corr": "grimme-d2"},
    "d3": {"vdw_corr": "grimme-d3", "dftd3_version": 3},
    "d3bj": {"vdw_corr": "grimme-d3", "dftd3_version": 4},
    "ts": {"vdw_corr": "ts"},
    "optb88-vdw": {"input_dft": "vdw-df-obk8"},
    "optb86b-vdw": {"input_dft": "vdw-df-ob86"},
    "rvv10": {"input_dft": "rvv10"},
}


def _species(atoms, mags: np.ndarray) -> tuple[list[str], dict[tuple[str, float], str]]:
    """QE species labels exactly as ASE's espresso-in writer assigns them: one per (element, moment)."""
    table: dict[tuple[str, float], str] = {}
    for sym, m in zip(atoms.get_chemical_symbols(), mags):
        key = (sym, float(m))
        if key not in table:
            n = sum(k[0] == sym for k in table)
            table[key] = f"{sym}{n if n else ''}"
    labels = [table[(s, float(m))] for s, m in zip(atoms.get_chemical_symbols(), mags)]
    return labels, table


def write_qe_inputs(atoms, outdir: str | os.PathLike, settings: dict) -> list[Path]:
    """Write a complete pw.x input set for ``atoms`` into ``outdir``; return the written paths.

    Files: ``pw.in`` (written by ``ase.io.write(format="espresso-in")``; HUBBARD card and band-path
    labels added as cards/comments), ``projwfc.in`` (band runs), ``run.sh`` and
    ``isingflow_inputs.json``.  Every file is written atomically.

    ``settings`` (a plain dict; units in the key names):

    ``calculation``            "scf" (default) or "bands" (along ``kpath``; needs the SCF's
                               ``outdir``/``prefix``; for SOC bands the SCF must be SOC too).
    ``pseudopotentials``       {element: UPF file name} (required; fully relativistic files for SOC).
    ``pseudo_dir``             folder of the UPF files (default "./pseudo"); read, when present,
                               for ``z_valence`` to turn moments into ``starting_magnetization``.
    ``valence_electrons``      {element: Z_val} when the UPF files are not readable here.
    ``outdir``, ``prefix``     pw.x scratch folder and prefix (defaults "./out", "isingflow").
    ``ecut_eV``                wave-function cutoff ``ecutwfc`` in eV (default 500; written in Ry).
    ``ecutrho_eV``             charge-density cutoff in eV (default 8 × ecut_eV, safe for USPP/PAW).
    ``kpt_density_per_inv_angstrom``  k-point density, points per 1/Å including 2π (ASE
                               ``kptdensity2monkhorstpack``; default 4.0); one point along z of a slab.
    ``kpts``                   explicit mesh [n1, n2, n3] (Γ-centred; overrides the density).
    ``smearing``               "fermi-dirac" (default), "gaussian", "mp", "mv".
    ``smearing_eV``            ``degauss`` in eV (default 0.05; written in Ry).
    ``xc``                     "PBE" (default: taken from the pseudopotentials) or another
                               ``input_dft`` name (e.g. "PBEsol").
    ``vdw``                    None, "D2", "D3", "D3BJ", "TS", "optB88-vdW", "optB86b-vdW", "rVV10".
    ``hubbard_u_eV``           {element: U in eV}: QE ≥ 7.1 ``HUBBARD (ortho-atomic)`` card
                               (``hubbard_projector`` to change); ``hubbard_l`` {element: l}.
    ``initial_magmoms``        per-atom moments in µB (default ``atoms.get_initial_magnetic_moments()``);
                               each distinct (element, moment) becomes its own species.
    ``soc``                    noncolin + lspinorb, moments along z (angle1 = angle2 = 0).
    ``kpath``                  for "bands": ASE BandPath, {"kpts": [...], "labels": [[i, "G"], ...]},
                               or a list of (k, label) pairs; fractional coordinates of ``atoms.cell``
                               (written as ``K_POINTS crystal`` with labels as comments).
    ``dipole_correction``      "auto" (default: on for z-asymmetric slabs), True or False
                               (tefield + dipfield, edir=3, sawtooth placed in the vacuum).
    ``scf_energy_tol_eV``      ``conv_thr`` in eV (default 1e-6; written in Ry).
    ``maxiter``                ``electron_maxstep`` (default 200).
    ``mixing_beta``            default 0.3 (0.7 for bulk); slabs use ``mixing_mode='local-TF'``.
    ``nbands``                 ``nbnd`` (default pw.x's).
    ``command``                pw.x launcher, e.g. "srun pw.x" (default "pw.x"); ``projwfc_command``
                               (default: the command with pw.x -> projwfc.x).
    ``projections``            write/run projwfc.x after a band run (default True).
    ``extra_qe``               {namelist: {key: value}} added last (expert overrides).
    """
    from ase.io import write

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    settings = dict(settings or {})
    calc = settings.get("calculation", "scf")
    if calc not in ("scf", "bands"):
        raise ValueError(f"settings['calculation'] must be 'scf' or 'bands', got {calc!r}")
    soc = bool(settings.get("soc", False))
    pseudos = settings.get("pseudopotentials") or {}
    elements = list(dict.fromkeys(atoms.get_chemical_symbols()))
    missing = [e for e in elements if e not in pseudos]
    if missing:
        raise ValueError(f"settings['pseudopotentials'] has no file for {missing}")
    if soc:
        nonrel = [pseudos[e] for e in elements if "rel" not in str(pseudos[e]).lower()]
        if nonrel:
            warnings.warn(f"SOC with pseudopotentials that do not look fully relativistic: {nonrel}",
                          stacklevel=2)
    mags = initial_magmoms(atoms, settings)
    spin = bool(settings.get("spin_polarized", np.any(np.abs(mags) > 1e-8)))
    pseudo_dir = str(settings.get("pseudo_dir", "./pseudo"))
    prefix = str(settings.get("prefix", "isingflow"))
    qe_outdir = str(settings.get("outdir", "./out"))

    # moments (µB) -> starting_magnetization fractions m / Z_val, clipped to [-1, 1]
    zval_src: dict[str, str] = {}
    fractions = np.zeros(len(atoms))
    for i, (sym, m) in enumerate(zip(atoms.get_chemical_symbols(), mags)):
        z = (settings.get("valence_electrons") or {}).get(sym)
        src = "settings"
        if z is None:
            upf = Path(pseudo_dir) / str(pseudos[sym])
            z = read_upf_valence(upf) if upf.is_file() else None
            src = f"UPF {upf}"
        if z is None:
            z, src = guess_valence(sym), "rough guess (no UPF readable)"
        zval_src[sym] = f"{z} ({src})"
        fractions[i] = float(np.clip(m / float(z), -1.0, 1.0))
    fractions = np.round(fractions, 4)
    labels, table = _species(atoms, fractions if spin or soc else np.zeros(len(atoms)))

    ry = Rydberg
    slab = is_slab(atoms)
    system: dict[str, Any] = {
        "ecutwfc": float(settings.get("ecut_eV", 500.0)) / ry,
        "ecutrho": float(settings.get("ecutrho_eV", 8 * float(settings.get("ecut_eV", 500.0)))) / ry,
        "occupations": "smearing",
        "smearing": _SMEAR_QE[str(settings.get("smearing", "fermi-dirac")).lower()],
        "degauss": float(settings.get("smearing_eV", 0.05)) / ry,
    }
    if settings.get("nbands"):
        system["nbnd"] = int(settings["nbands"])
    if soc:
        system["noncolin"] = True
        system["lspinorb"] = True
        for j, key in enumerate(table):
            system[f"angle1({j + 1})"] = 0.0
            system[f"angle2({j + 1})"] = 0.0
    elif spin:
        system["nspin"] = 2
    xc = str(settings.get("xc", "PBE"))
    if xc.upper() != "PBE":
        system["input_dft"] = xc
    vdw = settings.get("vdw")
    if vdw:
        key = str(vdw).lower()
        if key not in _VDW_QE:
            raise ValueError(f"settings['vdw']={vdw!r}: QE writer knows {sorted(_VDW_QE)}")
        system.update(_VDW_QE[key])
    control: dict[str, Any] = {"calculation": calc, "prefix": prefix, "outdir": qe_outdir,
                               "pseudo_dir": pseudo_dir, "verbosity": "high", "tprnfor": calc == "scf",
                               "restart_mode": "from_scratch"}
    electrons: dict[str, Any] = {"conv_thr": float(settings.get("scf_energy_tol_eV", 1e-6)) / ry,
                                 "electron_maxstep": int(settings.get("maxiter", 200)),
                                 "mixing_beta": float(settings.get("mixing_beta", 0.3 if slab else 0.7))}
    if slab:
        electrons["mixing_mode"] = "local-TF"
    if calc == "bands":
        electrons["diago_full_acc"] = True
    dip = settings.get("dipole_correction", "auto")
    if dip == "auto":
        dip = slab and not is_z_mirror_symmetric(atoms)
    if dip:
        start, width = vacuum_gap(atoms)
        eopreg = round(min(0.1, width / 3), 4)
        control["tefield"] = True
        control["dipfield"] = True
        system["edir"] = 3
        system["eopreg"] = eopreg
        system["emaxpos"] = round(float(np.mod(start + width / 2 - eopreg / 2, 1.0)), 4)
        system["eamp"] = 0.0
    cards: list[str] = []
    hub = settings.get("hubbard_u_eV") or {}
    if hub:
        unknown = set(hub) - set(elements)
        if unknown:
            raise ValueError(f"settings['hubbard_u_eV'] names elements not in the structure: {sorted(unknown)}")
        lmap = settings.get("hubbard_l") or {}
        lines = [f"HUBBARD ({settings.get('hubbard_projector', 'ortho-atomic')})"]
        for (sym, _), lab in table.items():
            if sym in hub:
                lines.append(f"U {lab}-{hubbard_manifold(sym, lmap.get(sym, hubbard_l(sym)))} {float(hub[sym]):.4f}")
        cards.append("\n".join(lines) + "\n")
    input_data = {"control": control, "system": system, "electrons": electrons}
    for nl, entries in (settings.get("extra_qe") or {}).items():
        input_data.setdefault(nl.lower(), {}).update(entries)

    path_labels: list[tuple[int, str]] = []
    at = atoms.copy()
    at.set_initial_magnetic_moments(fractions if (spin or soc) else None)
    if calc == "bands":
        kpts, path_labels = normalise_kpath(settings.get("kpath"))
        kgrid = np.hstack([kpts, np.ones((len(kpts), 1))])
        mesh = None
    else:
        mesh = [int(n) for n in (settings.get("kpts") or kmesh(atoms, float(settings.get(
            "kpt_density_per_inv_angstrom", 4.0))))]
        kgrid = tuple(mesh)
    buf = io.StringIO()
    write(buf, at, format="espresso-in", input_data=input_data, pseudopotentials=pseudos, kpts=kgrid,
          koffset=(0, 0, 0), additional_cards=cards or None)
    text = buf.getvalue()
    if calc == "bands" and path_labels:
        text = _label_kpoints(text, path_labels)

    command = str(settings.get("command", "pw.x"))
    written: list[Path] = []

    def put(name: str, content: str) -> None:
        p = outdir / name
        atomic_write_text(p, content)
        written.append(p)

    put("pw.in", text)
    run = ["#!/usr/bin/env bash", f"# isingflow: pw.x {calc}{' with SOC' if soc else ''} for "
           f"{atoms.get_chemical_formula()}", "set -euo pipefail", 'cd "$(dirname "$0")"',
           f"{command} -in pw.in > pw.out 2>&1"]
    if calc == "bands" and settings.get("projections", True):
        put("projwfc.in", "&PROJWFC\n"
                          f"  prefix = '{prefix}'\n  outdir = '{qe_outdir}'\n"
                          "  lsym = .false.\n  filpdos = 'pdos'\n/\n")
        pcmd = str(settings.get("projwfc_command") or re.sub(r"\bpw\.x\b", "projwfc.x", command))
        run.append(f"{pcmd} -in projwfc.in > projwfc.out 2>&1")
    put("run.sh", "\n".join(run) + "\n")
    os.chmod(outdir / "run.sh", 0o755)
    record = {
        "code": "qe", "calculation": calc, "soc": soc, "formula": atoms.get_chemical_formula(),
        "settings": _jsonable(settings), "inputs_sha256": hash_object({"pw.in": text}),
        "species": {lab: {"element": s, "starting_magnetization": f} for (s, f), lab in table.items()},
        "valence_electrons_used": zval_src, "command": command, "kpoint_mesh": mesh,
        "nkpts": None if calc == "scf" else int(len(kgrid)), "path_labels": path_labels,
    }
    put(INPUTS_RECORD, json.dumps(record, indent=2) + "\n")
    return written


def _label_kpoints(text: str, labels: list[tuple[int, str]]) -> str:
    """Append ``! label`` comments to the labelled lines of the K_POINTS crystal card."""
    lines = text.splitlines()
    i0 = next(i for i, l in enumerate(lines) if l.startswith("K_POINTS"))
    first = i0 + 2
    for idx, lab in labels:
        lines[first + idx] += f"  ! {lab}"
    return "\n".join(lines) + "\n"


def _jsonable(obj: Any) -> Any:
    from isingflow.dft.vasp import _jsonable as j

    return j(obj)
