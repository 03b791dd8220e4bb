"""Quantum ESPRESSO: projwfc.x outputs (text and ``atomic_proj.xml``) and attaching them to a band run.

Why this reader: its own.  Neither ASE nor pymatgen reads projwfc.x output; the text output
gives the state → atom map that ``atomic_proj.xml`` lacks, or else the printed ``psi = ...``
components (3 decimals).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from isingflow.dft._text import BadOutputError, floats, head, parse_xml, read_finished_output
from isingflow.dft.bandfile import BandStructure
from isingflow.provenance import hash_file


def read_projwfc_output(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a projwfc.x text output.

    Returns ``state_atoms`` (0-based atom index of each projector state, in state order) and,
    when the per-state projections are printed, ``projections`` [k_all, band, atom] from the
    ``psi = w*[#n] + ...`` lines (k_all runs over spin up then spin down for LSDA) and
    ``nk_blocks``.
    """
    path = Path(path)
    text = read_finished_output(path, "projwfc.x", "Program PROJWFC")
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


def attach_projections(bands: BandStructure, path: Path) -> None:
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


