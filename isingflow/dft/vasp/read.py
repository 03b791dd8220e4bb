"""VASP: any output (vasprun.xml, OUTCAR, EIGENVAL, PROCAR, or a run folder) into a :class:`BandStructure`.

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
:class:`~isingflow.dft._text.BadOutputError` (a ``ValueError``) naming the file and
what is missing.

Why these readers: vasprun.xml through pymatgen's :class:`~pymatgen.io.vasp.outputs.Vasprun`,
which already parses every quantity needed; pymatgen's ``Outcar`` was not adopted because it keeps
neither the eigenvalues per k-point nor the k-point weights (ASE's OUTCAR reader and a few
expressions do, see :mod:`.outcar`); PROCAR: see :mod:`.procar`.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.dft._text import BadOutputError, file_or_folder, head, looks_like_path, read_text
from isingflow.dft.bandfile import BandStructure
from isingflow.dft.vasp._finish import finish
from isingflow.dft.vasp.outcar import bands_from_outcar, looks_like_eigenval, moments_from_outcar, read_eigenval
from isingflow.dft.vasp.procar import attach_procar, moments_from_projections
from isingflow.provenance import hash_file


def read_vasp_bands(path: str | os.PathLike) -> BandStructure:
    """Read VASP output (a file or a run folder) into a :class:`BandStructure`.

    ``path`` may be a vasprun.xml (any name ``vasprun*.xml``), an OUTCAR, an EIGENVAL, a PROCAR
    or a folder holding such files.  Raises ``ValueError`` (``BadOutputError``) naming the file
    and what is missing for empty, truncated, foreign or unconverged output.
    """
    return file_or_folder(path, _read_file, _read_folder)


def _read_file(path: Path) -> BandStructure:
    kind = _file_kind(path)
    if kind == "vasprun":
        return _bands_from_vasprun(path)
    if kind == "outcar":
        return bands_from_outcar(path, eigenval=None, procar=_sibling(path, "PROCAR"))
    if kind == "eigenval":
        outcar = _sibling(path, "OUTCAR")
        if outcar is not None:
            return bands_from_outcar(outcar, eigenval=path, procar=_sibling(path, "PROCAR"))
        vr = _sibling(path, "vasprun")
        if vr is not None:
            return _bands_from_eigenval_vasprun(path, vr)
        raise BadOutputError(path, "EIGENVAL holds no Fermi level and no cell: put the OUTCAR "
                                   "(or vasprun.xml) of the same run beside it")
    # PROCAR
    outcar = _sibling(path, "OUTCAR")
    if outcar is not None:
        return bands_from_outcar(outcar, eigenval=_sibling(path, "EIGENVAL"), procar=path)
    vr = _sibling(path, "vasprun")
    if vr is not None:
        bands = _bands_from_vasprun(vr)
        return attach_procar(bands, path)
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
        elif looks_like_eigenval(text):
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
          "eigenval": looks_like_eigenval(text),
          "procar": text.startswith("PROCAR")}[kind]
    if not ok:
        raise BadOutputError(path, f"not a VASP {_KIND_NAME[kind]} (its content does not match the format)")


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
            bands = attach_procar(bands, procar)
        return bands
    if outcar is not None:
        return bands_from_outcar(outcar, eigenval=eigenval, procar=procar)
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
    finish(bands, path.parent, is_path)
    outcar = _sibling(path, "OUTCAR")
    if outcar is not None:
        moments_from_outcar(bands, outcar)
    if bands.magmoms is None and projections is not None:
        moments_from_projections(bands, occ, soc, v)
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
