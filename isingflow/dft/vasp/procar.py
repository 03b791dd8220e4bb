"""VASP: PROCAR (projections onto ions) and per-atom moments from projections.

Why this reader: its own.  pymatgen's :class:`~pymatgen.io.vasp.outputs.Procar` drops repeated
k-points of a band path, which breaks the one-to-one match with the eigenvalues.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.dft._text import BadOutputError, floats, normalised, read_text
from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import hash_file

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
            "weights": normalised(weights), "soc": soc,
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


def attach_procar(bands: BandStructure, procar: Path) -> BandStructure:
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
        moments_from_projections(bands, pc["occupations"], bands.soc)
    return bands


def moments_from_projections(bands: BandStructure, occ: np.ndarray, soc: bool, v=None) -> None:
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


