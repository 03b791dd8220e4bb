"""VASP: input writer and output parsers into the normalised :class:`BandStructure`.

Reading
-------
:func:`read_vasp_bands` takes a file or a run folder:

* ``vasprun*.xml`` (pymatgen :class:`~pymatgen.io.vasp.outputs.Vasprun`): eigenvalues,
  occupations, k-points and weights, Fermi level, final structure, ``<projected>`` weights
  (summed over orbitals per atom), SOC flag and, for SOC runs, the sphere-projected spin
  direction;
* ``OUTCAR*`` (ASE's OUTCAR reader for the last ionic step, plus a few regular expressions for
  the header, the k-point list and the ``magnetization (x)`` / ``(z)`` table);
* ``EIGENVAL`` (pymatgen :class:`~pymatgen.io.vasp.outputs.Eigenval`) — needs an OUTCAR or a
  vasprun.xml beside it for the Fermi level and the cell;
* ``PROCAR`` (own parser: pymatgen's ``Procar`` drops repeated k-points of a band path, which
  breaks the one-to-one match with the eigenvalues) — projections; needs an OUTCAR or a
  vasprun.xml beside it for the Fermi level.

In a folder the richest source wins: vasprun.xml > EIGENVAL + OUTCAR (+ PROCAR) > OUTCAR
(+ PROCAR).  Per-atom moments come from the OUTCAR ``magnetization`` table when an OUTCAR is
present; otherwise, for a spin-polarised vasprun.xml/PROCAR with projections, they are
derived from the projections exactly as VASP builds that table (Σ_k w_k Σ_n f_nk (p↑ − p↓)
inside the LORBIT spheres) and ``provenance['magmoms_source']`` says so.

Band paths keep every k-point of the file.  Hybrid-functional band runs (weighted IBZ mesh +
zero-weight path) are labelled on the zero-weight part only; :func:`zero_weight_path`
returns that part alone.

Any empty, truncated, unfinished, unconverged or foreign file raises
:class:`~isingflow.dft._parse_util.BadOutputError` (a ``ValueError``) naming the file and
what is missing.

Writing
-------
:func:`write_vasp_inputs` writes INCAR, KPOINTS, POSCAR, POTCAR.spec, ``run.sh`` and
``isingflow_inputs.json`` for a spin-polarised SCF or a non-SCF band run (with or without
SOC), through pymatgen's :mod:`pymatgen.io.vasp.inputs`.  See its docstring for every
setting.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.dft._parse_util import (
    INPUTS_RECORD,
    BadOutputError,
    floats,
    head,
    hubbard_l,
    initial_magmoms,
    is_slab,
    is_z_mirror_symmetric,
    kmesh,
    looks_like_path,
    normalise_kpath,
    read_inputs_record,
    read_text,
    record_path_labels,
    slab_center,
    special_point_labels,
)
from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import atomic_write_text, hash_file, hash_object

__all__ = ["read_vasp_bands", "read_outcar", "read_eigenval", "read_procar", "zero_weight_path",
           "write_vasp_inputs", "vasp_incar"]


# ======================================================================================
# reading
# ======================================================================================
def read_vasp_bands(path: str | os.PathLike) -> BandStructure:
    """Read VASP output (a file or a run folder) into a :class:`BandStructure`.

    ``path`` may be a vasprun.xml (any name ``vasprun*.xml``), an OUTCAR, an EIGENVAL, a PROCAR
    or a folder holding such files.  Raises ``ValueError`` (``BadOutputError``) naming the file
    and what is missing for empty, truncated, foreign or unconverged output.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or directory")
    kind = _file_kind(path)
    if kind == "vasprun":
        return _bands_from_vasprun(path)
    if kind == "outcar":
        return _bands_from_outcar(path, eigenval=None, procar=_sibling(path, "PROCAR"))
    if kind == "eigenval":
        outcar = _sibling(path, "OUTCAR")
        if outcar is not None:
            return _bands_from_outcar(outcar, eigenval=path, procar=_sibling(path, "PROCAR"))
        vr = _sibling(path, "vasprun")
        if vr is not None:
            return _bands_from_eigenval_vasprun(path, vr)
        raise BadOutputError(path, "EIGENVAL holds no Fermi level and no cell: put the OUTCAR "
                                   "(or vasprun.xml) of the same run beside it")
    # PROCAR
    outcar = _sibling(path, "OUTCAR")
    if outcar is not None:
        return _bands_from_outcar(outcar, eigenval=_sibling(path, "EIGENVAL"), procar=path)
    vr = _sibling(path, "vasprun")
    if vr is not None:
        bands = _bands_from_vasprun(vr)
        return _attach_procar(bands, path)
    raise BadOutputError(path, "PROCAR holds no Fermi level and no cell: put the OUTCAR "
                               "(or vasprun.xml) of the same run beside it")


def _file_kind(path: Path) -> str:
    """vasprun | outcar | eigenval | procar, from the name, else from the content."""
    name = path.name.upper()
    if "VASPRUN" in name or name.endswith(".XML"):
        kind = "vasprun"
    elif name.startswith("OUTCAR"):
        kind = "outcar"
    elif name.startswith("EIGENVAL"):
        kind = "eigenval"
    elif name.startswith("PROCAR"):
        kind = "procar"
    else:
        text = head(path)
        if "<modeling>" in text:
            kind = "vasprun"
        elif text.lstrip().startswith("vasp.") or " vasp." in text[:200]:
            kind = "outcar"
        elif text.startswith("PROCAR"):
            kind = "procar"
        elif _looks_like_eigenval(text):
            kind = "eigenval"
        else:
            read_text(path, "VASP output")  # empty file -> 'empty file'
            raise BadOutputError(path, "not a VASP output (expected vasprun.xml, OUTCAR, EIGENVAL "
                                       "or PROCAR content)")
    _check_content(path, kind)
    return kind


_KIND_NAME = {"vasprun": "vasprun.xml", "outcar": "OUTCAR", "eigenval": "EIGENVAL", "procar": "PROCAR"}


def _check_content(path: Path, kind: str) -> None:
    """Empty or foreign content for a file named like ``kind`` is an error, before any sibling lookup."""
    read_text(path, _KIND_NAME[kind])
    text = head(path)
    ok = {"vasprun": "<modeling>" in text,
          "outcar": text.lstrip().startswith("vasp."),
          "eigenval": _looks_like_eigenval(text),
          "procar": text.startswith("PROCAR")}[kind]
    if not ok:
        raise BadOutputError(path, f"not a VASP {_KIND_NAME[kind]} (its content does not match the format)")


def _looks_like_eigenval(text: str) -> bool:
    lines = text.splitlines()
    if len(lines) < 6:
        return False
    try:
        ints0 = [int(x) for x in lines[0].split()]
        ints5 = [int(float(x)) for x in lines[5].split()]
    except ValueError:
        return False
    return len(ints0) == 4 and len(ints5) == 3


def _sibling(path: Path, kind: str) -> Path | None:
    """A file of ``kind`` (OUTCAR, EIGENVAL, PROCAR, vasprun) in the folder of ``path``."""
    folder = path.parent if path.is_file() else path
    if kind == "vasprun":
        cands = sorted(folder.glob("vasprun*.xml"), key=lambda p: (p.name != "vasprun.xml", p.name))
    else:
        cands = sorted(folder.glob(f"{kind}*"), key=lambda p: (p.name != kind, p.name))
        cands = [p for p in cands if not p.name.endswith((".gz", ".bz2", ".xz"))]
    cands = [p for p in cands if p.is_file() and p != path]
    return cands[0] if cands else None


def _read_folder(folder: Path) -> BandStructure:
    vr = _sibling(folder, "vasprun")
    outcar = _sibling(folder, "OUTCAR")
    eigenval = _sibling(folder, "EIGENVAL")
    procar = _sibling(folder, "PROCAR")
    if vr is not None:
        bands = _bands_from_vasprun(vr)
        if bands.projections is None and procar is not None:
            bands = _attach_procar(bands, procar)
        return bands
    if outcar is not None:
        return _bands_from_outcar(outcar, eigenval=eigenval, procar=procar)
    if eigenval is not None or procar is not None:
        raise BadOutputError(folder, "EIGENVAL/PROCAR found but no OUTCAR or vasprun.xml "
                                     "(needed for the Fermi level and the cell)")
    raise BadOutputError(folder, "no VASP output in this folder (vasprun.xml, OUTCAR, EIGENVAL, PROCAR)")


# --------------------------------------------------------------------------------------
# vasprun.xml
# --------------------------------------------------------------------------------------
def _load_vasprun(path: Path):
    from pymatgen.io.vasp.outputs import Vasprun

    read_text(path, "vasprun.xml")
    text = head(path, 2000)
    if "<modeling>" not in text:
        raise BadOutputError(path, "not a VASP vasprun.xml (no <modeling> root element)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Vasprun(str(path), parse_projected_eigen=True, parse_potcar_file=False,
                           exception_on_bad_xml=True)
    except Exception as exc:  # noqa: BLE001 - lxml/ElementTree/pymatgen errors of all kinds
        raise BadOutputError(path, f"cannot parse vasprun.xml, truncated or malformed "
                                   f"({type(exc).__name__}: {exc})") from exc


def _bands_from_vasprun(path: Path) -> BandStructure:
    from pymatgen.electronic_structure.core import Spin

    v = _load_vasprun(path)
    if not v.eigenvalues:
        raise BadOutputError(path, "no <eigenvalues> block")
    if v.efermi is None:
        raise BadOutputError(path, "no Fermi level (<dos><i name=\"efermi\">)")
    params = v.parameters
    icharg = int(params.get("ICHARG", v.incar.get("ICHARG", 2)) or 2)
    if icharg < 10 and v.ionic_steps and not v.converged_electronic:
        raise BadOutputError(path, "electronic SCF not converged in the last ionic step (NELM reached)")
    soc = bool(params.get("LSORBIT") or params.get("LNONCOLLINEAR"))
    spins = [Spin.up, Spin.down] if Spin.down in v.eigenvalues else [Spin.up]
    eig = np.stack([v.eigenvalues[s][..., 0] for s in spins])
    occ = np.stack([v.eigenvalues[s][..., 1] for s in spins])
    kpts = np.asarray(v.actual_kpoints, dtype=float)
    weights = np.asarray(v.actual_kpoints_weights, dtype=float)
    if eig.shape[1] != len(kpts):
        raise BadOutputError(path, f"{eig.shape[1]} k-points of eigenvalues but {len(kpts)} in <kpoints>")
    st = v.final_structure
    cell = np.asarray(st.lattice.matrix)
    symbols = [site.specie.symbol for site in st]

    prov: dict[str, Any] = {"files": {str(path): hash_file(path)}, "icharg": icharg,
                            "nelect": params.get("NELECT"), "ispin": len(spins)}
    projections = spin_exp = None
    if v.projected_eigenvalues:
        pe = v.projected_eigenvalues
        projections = np.stack([pe[s].sum(axis=3) for s in spins])  # [spin, k, band, ion]
        prov["projections_source"] = "vasprun <projected>, summed over orbitals"
        pm = getattr(v, "projected_magnetization", None)
        if soc and pm is not None:
            tot = pe[Spin.up].sum(axis=(2, 3))
            with np.errstate(invalid="ignore", divide="ignore"):
                spin_exp = np.clip(np.nan_to_num(pm.sum(axis=(2, 3)) / tot[..., None]), -1, 1)
            prov["spin_expectation_source"] = ("vasprun <projected> magnetisation / total inside the "
                                               "LORBIT spheres (sphere-projected, not the full spinor)")
    bands = BandStructure(
        eigenvalues=eig, kpoints=kpts, fermi_level=float(v.efermi), code="vasp",
        code_version=str(v.vasp_version), cell=cell, symbols=symbols, positions=st.cart_coords,
        weights=weights, soc=soc, spin_expectation=spin_exp, projections=projections,
        provenance=prov, source=str(path),
    )
    is_path = (getattr(v.kpoints.style, "name", "") == "Line_mode") or looks_like_path(kpts)
    _set_path_labels(bands, path.parent, is_path)
    _set_inputs_hash(bands, path.parent)
    outcar = _sibling(path, "OUTCAR")
    if outcar is not None:
        _moments_from_outcar(bands, outcar)
    if bands.magmoms is None and projections is not None:
        _moments_from_projections(bands, occ, soc, v)
    return bands


def _bands_from_eigenval_vasprun(eigenval: Path, vasprun: Path) -> BandStructure:
    ref = _bands_from_vasprun(vasprun)
    ev = read_eigenval(eigenval)
    if ev["eigenvalues"].shape != ref.eigenvalues.shape:
        raise BadOutputError(eigenval, f"shape {ev['eigenvalues'].shape} does not match the vasprun.xml "
                                       f"beside it {ref.eigenvalues.shape}: different runs")
    ref.eigenvalues = ev["eigenvalues"]
    ref.source = str(eigenval)
    ref.provenance["files"][str(eigenval)] = hash_file(eigenval)
    return ref


# --------------------------------------------------------------------------------------
# OUTCAR
# --------------------------------------------------------------------------------------
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

    def header_int(pattern: str, what: str) -> int:
        m = re.search(pattern, text)
        if not m:
            raise BadOutputError(path, f"no {what} in the OUTCAR header")
        return int(m.group(1))

    nkpts = header_int(r"NKPTS\s*=\s*(\d+)", "NKPTS")
    nbands = header_int(r"NBANDS\s*=\s*(\d+)", "NBANDS")
    nions = header_int(r"NIONS\s*=\s*(\d+)", "NIONS")
    ispin = header_int(r"ISPIN\s*=\s*(\d+)", "ISPIN")
    icharg = header_int(r"ICHARG\s*=\s*(\d+)", "ICHARG")
    soc = bool(re.search(r"LSORBIT\s*=\s*T", text) or re.search(r"LNONCOLLINEAR\s*=\s*T", text))
    if "EDIFF was not reached" in text[-200000:] and icharg < 10:
        raise BadOutputError(path, "electronic SCF not converged ('EDIFF was not reached')")
    fermis = re.findall(r"E-fermi\s*:\s*(" + r"[-+]?\d+\.\d+" + ")", text)
    if not fermis:
        raise BadOutputError(path, "no 'E-fermi' line")

    m = re.search(r"k-points in reciprocal lattice and weights:[^\n]*\n", text)
    if not m:
        raise BadOutputError(path, "no 'k-points in reciprocal lattice and weights' block")
    klines = text[m.end():].splitlines()[:nkpts]
    kw = np.array([floats(line)[:4] for line in klines if len(floats(line)) >= 4])
    if kw.shape != (nkpts, 4):
        raise BadOutputError(path, f"k-point list incomplete: {len(kw)} of {nkpts} lines")
    weights = kw[:, 3] / kw[:, 3].sum() if kw[:, 3].sum() > 0 else kw[:, 3]

    try:
        from ase.io import read

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atoms = read(path, format="vasp-out", index=-1)
    except Exception as exc:  # noqa: BLE001
        raise BadOutputError(path, f"ASE cannot read the OUTCAR ({type(exc).__name__}: {exc})") from exc
    calc = atoms.calc
    kp = getattr(calc, "kpts", None) or []
    nspin_eig = 1 if soc else ispin
    if len(kp) != nspin_eig * nkpts or any(len(k.eps_n) != nbands for k in kp):
        raise BadOutputError(path, f"eigenvalue blocks incomplete: expected {nspin_eig} x {nkpts} k-points "
                                   f"x {nbands} bands, found {len(kp)} blocks")
    eig = np.zeros((nspin_eig, nkpts, nbands))
    occ = np.zeros_like(eig)
    for k in kp:
        eig[k.s, k.k] = k.eps_n
        occ[k.s, k.k] = k.f_n

    magmoms = _outcar_magnetization(text, nions, "z" if soc else "x", path)
    tot = re.findall(r"number of electron\s+[-\d.]+\s+magnetization\s+([-\d.]+)", text)
    return {
        "version": first.split()[0].removeprefix("vasp."), "ispin": ispin, "nkpts": nkpts, "nbands": nbands, "nions": nions,
        "soc": soc, "icharg": icharg, "fermi_level": float(fermis[-1]), "kpoints": kw[:, :3],
        "weights": weights, "eigenvalues": eig, "occupations": occ, "magmoms": magmoms,
        "total_magnetization": float(tot[-1]) if tot else None, "atoms": atoms,
    }


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


def _bands_from_outcar(outcar: Path, eigenval: Path | None, procar: Path | None) -> BandStructure:
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
    _set_path_labels(bands, outcar.parent, looks_like_path(kpts))
    _set_inputs_hash(bands, outcar.parent)
    if procar is not None:
        bands = _attach_procar(bands, procar)
    return bands


def _moments_from_outcar(bands: BandStructure, outcar: Path) -> None:
    """Per-atom moments from an OUTCAR beside a vasprun.xml (same run: same atoms and k count)."""
    oc = read_outcar(outcar)
    if oc["nions"] != len(bands.symbols or []) or oc["nkpts"] != bands.nkpts:
        bands.provenance["outcar_ignored"] = f"{outcar}: different run (atoms or k-points differ)"
        return
    if oc["magmoms"] is not None:
        bands.magmoms = oc["magmoms"]
        bands.provenance["magmoms_source"] = f"{outcar.name} magnetization table"
        bands.provenance["files"][str(outcar)] = hash_file(outcar)


def _moments_from_projections(bands: BandStructure, occ: np.ndarray, soc: bool, v=None) -> None:
    """Σ_k w_k Σ_n f_nk (p↑ − p↓) per atom: what VASP prints as the LORBIT magnetisation table."""
    w = bands.weights
    if w is None or w.sum() <= 0:
        return
    w = w / w.sum()
    if bands.nspins == 2:
        p = bands.projections
        m = np.einsum("k,kb,kba->a", w, occ[0], p[0]) - np.einsum("k,kb,kba->a", w, occ[1], p[1])
    elif soc and v is not None and getattr(v, "projected_magnetization", None) is not None:
        pz = v.projected_magnetization[..., 2].sum(axis=3)  # [k, band, ion]
        m = np.einsum("k,kb,kba->a", w, occ[0], pz)
    else:
        return
    bands.magmoms = m
    bands.provenance["magmoms_source"] = ("projections: sum_k w_k sum_n f_nk (p_up - p_down) inside the "
                                          "LORBIT spheres (same definition as the OUTCAR magnetization table)")


# --------------------------------------------------------------------------------------
# EIGENVAL
# --------------------------------------------------------------------------------------
def read_eigenval(path: str | os.PathLike) -> dict[str, Any]:
    """Parse EIGENVAL: ``eigenvalues`` and ``occupations`` [spin, k, band], ``kpoints`` (fractional),
    ``weights`` (normalised), ``nelect``."""
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.outputs import Eigenval

    path = Path(path)
    text = read_text(path, "EIGENVAL")
    if not _looks_like_eigenval(text):
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
            "weights": w / w.sum() if w.sum() > 0 else w, "nelect": nelect}


# --------------------------------------------------------------------------------------
# PROCAR
# --------------------------------------------------------------------------------------
_PROCAR_K = re.compile(r"^\s*k-point\s+(\d+)\s*:(.*?)weight\s*=\s*(\S+)", re.M)
_PROCAR_BAND = re.compile(r"^band\s+(\d+)\s*#\s*energy\s+(\S+)\s*#\s*occ\.\s*(\S+)", re.M)


def read_procar(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a PROCAR (LORBIT 10/11; LORBIT 12 phases are ignored).

    Returns ``projections`` [spin, k, band, ion] (the ``tot`` column: summed over orbitals),
    ``eigenvalues`` and ``occupations`` [spin, k, band], ``kpoints``, ``weights``, ``soc`` and,
    for SOC, ``spin_expectation`` [k, band, 3] = (mx, my, mz) / total summed over ions.
    """
    path = Path(path)
    text = read_text(path, "PROCAR")
    if not text.startswith("PROCAR"):
        raise BadOutputError(path, "not a VASP PROCAR (first line does not start with 'PROCAR')")
    heads = list(re.finditer(r"# of k-points:\s*(\d+)\s+# of bands:\s*(\d+)\s+# of ions:\s*(\d+)", text))
    if not heads:
        raise BadOutputError(path, "no '# of k-points / bands / ions' header")
    nk, nb, nions = (int(x) for x in heads[0].groups())
    sections = [text[h.end(): (heads[i + 1].start() if i + 1 < len(heads) else len(text))]
                for i, h in enumerate(heads)]
    nspin = len(sections)
    proj = np.zeros((nspin, nk, nb, nions))
    eig = np.zeros((nspin, nk, nb))
    occ = np.zeros_like(eig)
    kpts = np.zeros((nk, 3))
    weights = np.zeros(nk)
    mags = np.zeros((nk, nb, 3))
    soc = False
    for s, sec in enumerate(sections):
        kms = list(_PROCAR_K.finditer(sec))
        if len(kms) != nk:
            raise BadOutputError(path, f"truncated PROCAR: spin {s + 1} has {len(kms)} of {nk} k-points")
        for ik, km in enumerate(kms):
            kf = floats(km.group(2))
            if len(kf) < 3:
                raise BadOutputError(path, f"k-point {ik + 1}: cannot read its coordinates")
            kpts[ik] = kf[-3:]
            weights[ik] = float(km.group(3))
            block = sec[km.end(): (kms[ik + 1].start() if ik + 1 < len(kms) else len(sec))]
            bms = list(_PROCAR_BAND.finditer(block))
            if len(bms) != nb:
                raise BadOutputError(path, f"truncated PROCAR: k-point {ik + 1} (spin {s + 1}) has "
                                           f"{len(bms)} of {nb} bands")
            for ib, bm in enumerate(bms):
                eig[s, ik, ib] = float(bm.group(2))
                occ[s, ik, ib] = float(bm.group(3))
                btext = block[bm.end(): (bms[ib + 1].start() if ib + 1 < len(bms) else len(block))]
                blocks = _procar_ion_blocks(btext, nions)
                if not blocks:
                    raise BadOutputError(path, f"truncated PROCAR: k-point {ik + 1} band {ib + 1} has no "
                                               f"complete ion table")
                proj[s, ik, ib] = blocks[0][0]
                if len(blocks) >= 4 and all(len(b[0]) == nions for b in blocks[:4]):
                    soc = True
                    mags[ik, ib] = [blocks[j][1] for j in (1, 2, 3)]
    spin_exp = None
    if soc:
        tot = proj[0].sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            spin_exp = np.clip(np.nan_to_num(mags / tot[..., None]), -1, 1)
    return {"projections": proj, "eigenvalues": eig, "occupations": occ, "kpoints": kpts,
            "weights": weights / weights.sum() if weights.sum() > 0 else weights, "soc": soc,
            "spin_expectation": spin_exp}


def _procar_ion_blocks(btext: str, nions: int) -> list[tuple[np.ndarray, float]]:
    """Consecutive ion tables of one band: [(per-ion tot column, 'tot' row total), ...]."""
    blocks: list[tuple[np.ndarray, float]] = []
    rows: list[float] = []
    for line in btext.splitlines():
        s = line.split()
        if not s:
            continue
        if s[0].isdigit():
            rows.append(float(s[-1]))
        elif s[0] == "tot" and rows:
            if len(rows) == nions:
                blocks.append((np.array(rows), float(s[-1])))
            rows = []
        elif s[0] == "ion" and blocks and ("charge" in line or len(blocks) >= 4):
            break
    return blocks


def _attach_procar(bands: BandStructure, procar: Path) -> BandStructure:
    pc = read_procar(procar)
    if pc["projections"].shape[:3] != bands.eigenvalues.shape or pc["projections"].shape[3] != len(bands.symbols or []):
        raise BadOutputError(procar, f"projections shape {pc['projections'].shape} does not match the "
                                     f"eigenvalues {bands.eigenvalues.shape} / {len(bands.symbols or [])} atoms "
                                     "of the run beside it: different runs")
    bands.projections = pc["projections"]
    if pc["spin_expectation"] is not None and bands.soc:
        bands.spin_expectation = pc["spin_expectation"]
        bands.provenance["spin_expectation_source"] = "PROCAR mx/my/mz over total (LORBIT spheres)"
    bands.provenance["projections_source"] = f"{procar.name}, tot column (summed over orbitals)"
    bands.provenance.setdefault("files", {})[str(procar)] = hash_file(procar)
    if bands.magmoms is None and bands.nspins == 2:
        _moments_from_projections(bands, pc["occupations"], bands.soc)
    return bands


# --------------------------------------------------------------------------------------
# labels, record, path subset
# --------------------------------------------------------------------------------------
def _set_path_labels(bands: BandStructure, folder: Path, is_path_run: bool) -> None:
    rec_labels = record_path_labels(read_inputs_record(folder), bands.nkpts)
    if rec_labels is not None:
        bands.path_labels = rec_labels
        return
    w = bands.weights
    zero = np.flatnonzero(w == 0) if w is not None else np.array([], int)
    if 0 < len(zero) < bands.nkpts:
        bands.path_labels = special_point_labels(bands.cell, bands.kpoints, zero)
        bands.provenance["zero_weight_kpoints"] = int(len(zero))
    elif is_path_run:
        bands.path_labels = special_point_labels(bands.cell, bands.kpoints)


def _set_inputs_hash(bands: BandStructure, folder: Path) -> None:
    rec = read_inputs_record(folder)
    if rec and rec.get("code") == "vasp":
        bands.inputs_hash = rec.get("inputs_sha256")


def zero_weight_path(bands: BandStructure) -> BandStructure:
    """The zero-weight k-points of a hybrid-functional band run (the path), as a new BandStructure.

    Returns ``bands`` unchanged when it has no zero-weight k-points.
    """
    w = bands.weights
    if w is None:
        return bands
    idx = np.flatnonzero(w == 0)
    if len(idx) == 0 or len(idx) == bands.nkpts:
        return bands
    remap = {int(i): j for j, i in enumerate(idx)}
    import dataclasses

    return dataclasses.replace(
        bands, eigenvalues=bands.eigenvalues[:, idx], kpoints=bands.kpoints[idx], weights=w[idx],
        spin_expectation=None if bands.spin_expectation is None else bands.spin_expectation[idx],
        projections=None if bands.projections is None else bands.projections[:, idx],
        path_labels=[(remap[i], s) for i, s in bands.path_labels if i in remap],
        provenance={**bands.provenance, "subset": "zero-weight k-points (band path of a hybrid run)"},
    )


# ======================================================================================
# writing
# ======================================================================================
_GGA = {"PBE": "PE", "PBESOL": "PS", "RPBE": "RP", "REVPBE": "RE", "LDA": None, "PZ": None}
_SMEAR_VASP = {"gaussian": 0, "fermi-dirac": -1, "fd": -1, "methfessel-paxton": 1, "mp": 1}
_VDW_VASP: dict[str, dict[str, Any]] = {
    "d2": {"IVDW": 1},
    "d3": {"IVDW": 11},
    "d3bj": {"IVDW": 12},
    "ts": {"IVDW": 20},
    "optb88-vdw": {"GGA": "BO", "PARAM1": 0.1833333333, "PARAM2": 0.22, "LUSE_VDW": True, "AGGAC": 0.0},
    "optb86b-vdw": {"GGA": "MK", "PARAM1": 0.1234, "PARAM2": 1.0, "LUSE_VDW": True, "AGGAC": 0.0},
}


def _default_potcar(symbol: str) -> str:
    """pymatgen's PBE_54 choice (MP) for ``symbol``; the bare symbol when it has none."""
    import yaml
    from pymatgen.io import vasp as pmg_vasp

    table = yaml.safe_load((Path(pmg_vasp.__file__).parent / "PBE54Base.yaml").read_text())["POTCAR"]
    return table.get(symbol, symbol)


def _sorted_atoms(atoms):
    """Atoms grouped by element (stable, in order of first appearance) and the permutation used."""
    syms = atoms.get_chemical_symbols()
    order = list(dict.fromkeys(syms))
    sort = sorted(range(len(atoms)), key=lambda i: (order.index(syms[i]), i))
    return atoms[sort], sort


def vasp_incar(atoms, settings: dict) -> dict[str, Any]:
    """The INCAR tags (a plain dict, in writing order) for ``atoms`` (already grouped by element)."""
    calc = settings.get("calculation", "scf")
    if calc not in ("scf", "bands"):
        raise ValueError(f"settings['calculation'] must be 'scf' or 'bands', got {calc!r}")
    soc = bool(settings.get("soc", False))
    syms = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(syms))
    mags = initial_magmoms(atoms, settings)
    spin = bool(settings.get("spin_polarized", np.any(np.abs(mags) > 1e-8)))
    has_d = any(hubbard_l(s) == 2 for s in species)
    has_f = any(hubbard_l(s) == 3 for s in species)
    hub = settings.get("hubbard_u_eV") or {}
    vdw = settings.get("vdw")
    xc = str(settings.get("xc", "PBE"))

    incar: dict[str, Any] = {"SYSTEM": f"{atoms.get_chemical_formula()} isingflow {calc}{' SOC' if soc else ''}",
                             "PREC": "Accurate", "ENCUT": float(settings.get("ecut_eV", 500.0)),
                             "EDIFF": float(settings.get("scf_energy_tol_eV", 1e-6)),
                             "NELM": int(settings.get("maxiter", 200)), "ALGO": settings.get("algo", "Normal")}
    if xc.upper() not in _GGA:
        raise ValueError(f"settings['xc']={xc!r}: VASP writer knows {sorted(_GGA)}")
    if _GGA[xc.upper()] is not None:
        incar["GGA"] = _GGA[xc.upper()]
    smear = str(settings.get("smearing", "fermi-dirac")).lower()
    if smear not in _SMEAR_VASP:
        raise ValueError(f"settings['smearing']={smear!r}: VASP has {sorted(_SMEAR_VASP)}")
    incar["ISMEAR"] = _SMEAR_VASP[smear]
    incar["SIGMA"] = float(settings.get("smearing_eV", 0.05))

    if soc:
        incar["LSORBIT"] = True
        incar["LNONCOLLINEAR"] = True
        saxis = [float(x) for x in settings.get("saxis", (0, 0, 1))]
        incar["SAXIS"] = saxis
        # moments along SAXIS, given in the SAXIS frame: (0, 0, m)
        incar["MAGMOM"] = [[0.0, 0.0, float(m)] for m in mags]
        incar["ISYM"] = -1          # magnetic + SOC: no symmetry, no time-reversal k/-k pairing
        incar["GGA_COMPAT"] = False  # recommended for non-collinear GGA
        incar["LORBMOM"] = True
    elif spin:
        incar["ISPIN"] = 2
        incar["MAGMOM"] = [float(m) for m in mags]
    else:
        incar["ISPIN"] = 1

    if hub:
        unknown = set(hub) - set(species)
        if unknown:
            raise ValueError(f"settings['hubbard_u_eV'] names elements not in the structure: {sorted(unknown)}")
        lmap = settings.get("hubbard_l") or {}
        incar["LDAU"] = True
        incar["LDAUTYPE"] = 2
        incar["LDAUL"] = [int(lmap.get(s, hubbard_l(s))) if s in hub else -1 for s in species]
        incar["LDAUU"] = [float(hub.get(s, 0.0)) for s in species]
        incar["LDAUJ"] = [0.0 for _ in species]
        incar["LDAUPRINT"] = 1
    if has_d or has_f or hub:
        incar["LMAXMIX"] = 6 if has_f else 4
    if has_d or has_f or hub or (vdw and "vdw" in str(vdw).lower()):
        incar["LASPH"] = True
    if vdw:
        key = str(vdw).lower()
        if key not in _VDW_VASP:
            raise ValueError(f"settings['vdw']={vdw!r}: VASP writer knows {sorted(_VDW_VASP)}")
        incar.update(_VDW_VASP[key])
    incar["LREAL"] = settings.get("lreal", "Auto" if len(atoms) >= 20 else False)

    dip = settings.get("dipole_correction", "auto")
    if dip == "auto":
        dip = is_slab(atoms) and not is_z_mirror_symmetric(atoms)
    if dip:
        incar["IDIPOL"] = 3
        incar["LDIPOL"] = True
        incar["DIPOL"] = [0.5, 0.5, round(slab_center(atoms), 6)]

    incar["LORBIT"] = 11
    if calc == "scf":
        incar["LCHARG"] = True
        incar["LWAVE"] = bool(settings.get("lwave", False))
        incar["LVHAR"] = True  # LOCPOT with the Hartree+ionic potential: vacuum levels
    else:
        incar["ICHARG"] = 11
        incar["LCHARG"] = False
        incar["LWAVE"] = False
    if settings.get("nbands"):
        incar["NBANDS"] = int(settings["nbands"])
    for k, val in (settings.get("extra_incar") or {}).items():
        incar[str(k).upper()] = val
    return incar


def write_vasp_inputs(atoms, outdir: str | os.PathLike, settings: dict) -> list[Path]:
    """Write a complete VASP input set for ``atoms`` into ``outdir``; return the written paths.

    Files: ``INCAR``, ``KPOINTS``, ``POSCAR`` (atoms grouped by element, order of first
    appearance; the permutation is stored in ``isingflow_inputs.json`` as ``sort``),
    ``POTCAR.spec`` (one POTCAR symbol per POSCAR species, in order: POTCARs are licensed and not
    written), ``run.sh`` (assembles POTCAR from ``$VASP_PP_PATH`` when missing, fetches the SCF
    CHGCAR for a band run, runs ``command``) and ``isingflow_inputs.json`` (settings, their hash,
    k-mesh or path labels).  Every file is written atomically.

    ``settings`` (a plain dict; units in the key names):

    ``calculation``            "scf" (default) or "bands" (non-SCF, ICHARG=11, along ``kpath``).
    ``ecut_eV``                plane-wave cutoff ENCUT, eV (default 500).
    ``kpt_density_per_inv_angstrom``  k-point density, points per 1/Å including 2π (ASE
                               ``kptdensity2monkhorstpack``; default 4.0); one point along z of a slab.
    ``kpts``                   explicit mesh [n1, n2, n3] (overrides the density).
    ``kpt_gamma_centered``     Γ-centred mesh (default True; keeps hexagonal symmetry).
    ``smearing``               "fermi-dirac" (default, ISMEAR=-1), "gaussian" (0), "mp" (1).
    ``smearing_eV``            SIGMA, eV (default 0.05).
    ``xc``                     "PBE" (default), "PBEsol", "RPBE", "revPBE", "LDA" (use LDA POTCARs).
    ``vdw``                    None, "D2", "D3", "D3BJ", "TS", "optB88-vdW", "optB86b-vdW".
    ``hubbard_u_eV``           {element: U_eff in eV} (Dudarev, LDAUTYPE=2); ``hubbard_l`` {element: l}
                               overrides the shell (default d for transition metals, f for 4f/5f).
    ``initial_magmoms``        per-atom moments in µB (default ``atoms.get_initial_magnetic_moments()``).
    ``spin_polarized``         force ISPIN=2 even with zero moments (default: on when any moment ≠ 0).
    ``soc``                    spin–orbit coupling (LSORBIT, ISYM=-1, GGA_COMPAT=.FALSE., MAGMOM as
                               (0, 0, m) in the SAXIS frame).  Needs ``vasp_ncl``.
    ``saxis``                  spin quantisation axis (default (0, 0, 1), out of plane).
    ``kpath``                  for "bands": ASE BandPath, {"kpts": [[...]], "labels": [[i, "G"], ...]},
                               or a list of (k, label) pairs; fractional coordinates of ``atoms.cell``.
    ``dipole_correction``      "auto" (default: on for z-asymmetric slabs), True or False
                               (IDIPOL=3, LDIPOL, DIPOL at the slab centre).
    ``scf_energy_tol_eV``      EDIFF, eV (default 1e-6).   ``maxiter``: NELM (default 200).
    ``lreal``                  LREAL (default "Auto" for ≥ 20 atoms, else .FALSE.).
    ``nbands``                 NBANDS (default: VASP's; doubled automatically for SOC).
    ``potcar_symbols``         {element: POTCAR symbol}, e.g. {"Nb": "Nb_pv"}; default pymatgen's
                               PBE_54 (Materials Project) choice.
    ``potcar_family``          folder under ``$VASP_PP_PATH`` used by run.sh (default "potpaw_PBE").
    ``command``                launcher, e.g. "srun vasp_std" (default "vasp_std"); for SOC
                               ``command_soc`` or the command with vasp_std/vasp_gam -> vasp_ncl.
    ``chgcar_from``            for "bands": folder of the SCF run whose CHGCAR run.sh copies in.
    ``extra_incar``            {TAG: value} added last (expert overrides, e.g. KPAR, NCORE).
    """
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    settings = dict(settings or {})
    calc = settings.get("calculation", "scf")
    soc = bool(settings.get("soc", False))
    mags = initial_magmoms(atoms, settings)
    atoms = atoms.copy()
    atoms.set_initial_magnetic_moments(mags)
    satoms, sort = _sorted_atoms(atoms)
    sub = dict(settings)
    sub["initial_magmoms"] = satoms.get_initial_magnetic_moments().tolist()
    incar_d = vasp_incar(satoms, sub)
    species = list(dict.fromkeys(satoms.get_chemical_symbols()))

    # POSCAR (pymatgen; selective dynamics etc. not needed for single points)
    structure = AseAtomsAdaptor.get_structure(satoms)
    structure.remove_site_property("magmom") if "magmom" in structure.site_properties else None
    poscar = Poscar(structure, comment=f"{satoms.get_chemical_formula()} isingflow")
    # KPOINTS
    path_labels: list[tuple[int, str]] = []
    if calc == "bands":
        kpts, path_labels = normalise_kpath(settings.get("kpath"))
        labels = [""] * len(kpts)
        for i, lab in path_labels:
            labels[i] = lab
        kpoints = Kpoints(comment=f"band path {'-'.join(l for _, l in path_labels)} (explicit, reciprocal)",
                          num_kpts=len(kpts), style=Kpoints.supported_modes.Reciprocal,
                          kpts=[tuple(float(round(x, 10)) + 0.0 for x in k) for k in kpts],
                          kpts_weights=[1.0] * len(kpts), labels=labels)
        mesh = None
    else:
        mesh = settings.get("kpts") or kmesh(satoms, float(settings.get("kpt_density_per_inv_angstrom", 4.0)))
        mesh = [int(n) for n in mesh]
        if settings.get("kpt_gamma_centered", True):
            kpoints = Kpoints.gamma_automatic(tuple(mesh))
        else:
            kpoints = Kpoints.monkhorst_automatic(tuple(mesh))
        kpoints.comment = (f"{'Gamma-centred' if settings.get('kpt_gamma_centered', True) else 'Monkhorst-Pack'} "
                           f"mesh from {settings.get('kpt_density_per_inv_angstrom', 4.0)} pts per 1/A")
    potmap = settings.get("potcar_symbols") or {}
    potcars = [str(potmap.get(s, _default_potcar(s))) for s in species]

    command = str(settings.get("command", "vasp_std"))
    if soc:
        command = str(settings.get("command_soc") or re.sub(r"vasp_(std|gam)\b", "vasp_ncl", command))
    family = settings.get("potcar_family", "potpaw_PBE")
    run_lines = [
        "#!/usr/bin/env bash",
        f"# isingflow: VASP {calc}{' with SOC' if soc else ''} for {atoms.get_chemical_formula()}",
        "# POTCAR is licensed and not written: it is assembled from POTCAR.spec and $VASP_PP_PATH.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        "if [ ! -s POTCAR ]; then",
        '  : "${VASP_PP_PATH:?set VASP_PP_PATH (folder holding ' + family + '/) or put a POTCAR here}"',
        "  : > POTCAR.part",
        f'  while read -r sym; do cat "$VASP_PP_PATH/{family}/$sym/POTCAR" >> POTCAR.part; done < POTCAR.spec',
        "  mv POTCAR.part POTCAR",
        "fi",
    ]
    if calc == "bands":
        src = settings.get("chgcar_from")
        if src:
            run_lines.append(f'[ -s CHGCAR ] || cp "{src}/CHGCAR" CHGCAR')
        run_lines.append('[ -s CHGCAR ] || { echo "ICHARG=11 needs the CHGCAR of the SCF run" >&2; exit 1; }')
    run_lines.append(f"{command} > vasp.out 2>&1")

    incar = Incar(incar_d)
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        p = outdir / name
        atomic_write_text(p, text)
        written.append(p)

    put("INCAR", incar.get_str())
    put("KPOINTS", str(kpoints))
    put("POSCAR", poscar.get_str(significant_figures=10))
    put("POTCAR.spec", "\n".join(potcars) + "\n")
    put("run.sh", "\n".join(run_lines) + "\n")
    os.chmod(outdir / "run.sh", 0o755)
    record = {
        "code": "vasp", "calculation": calc, "soc": soc, "formula": atoms.get_chemical_formula(),
        "settings": _jsonable(settings), "inputs_sha256": hash_object(
            {"incar": incar_d, "kpoints": str(kpoints), "poscar": poscar.get_str(significant_figures=10),
             "potcars": potcars}),
        "sort": sort, "potcar_symbols": dict(zip(species, potcars)), "command": command,
        "kpoint_mesh": mesh, "nkpts": None if calc == "scf" else len(kpoints.kpts),
        "path_labels": path_labels,
    }
    put(INPUTS_RECORD, json.dumps(record, indent=2) + "\n")
    return written


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if hasattr(obj, "kpts") and hasattr(obj, "path"):  # ASE BandPath
        return {"path": obj.path, "kpts": np.asarray(obj.kpts).tolist()}
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
