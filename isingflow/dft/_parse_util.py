"""Helpers shared by the VASP and Quantum ESPRESSO readers and writers.

Everything here is code-agnostic: the error type for bad output files, file reading with
clear messages, special-point labelling of band paths, species-label -> element mapping,
slab detection for the dipole correction, and k-mesh sizes from a k-point density.
"""
from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase.data import atomic_numbers

#: a float as Fortran prints it: ``-12.3456``, ``1.0E-05``, ``0.5000-0.2500`` (run together)
FLOAT_RE = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eEdD][-+]?\d+)?")

#: name of the JSON file the input writers put beside the inputs (settings, k-path labels, ...)
INPUTS_RECORD = "isingflow_inputs.json"


class BadOutputError(ValueError):
    """A DFT output file is empty, truncated, foreign or lacks something the reader needs.

    The message always starts with the file name and says what is missing.
    """

    def __init__(self, path: str | os.PathLike, what: str):
        self.path = Path(path)
        self.what = what
        super().__init__(f"{path}: {what}")


def read_text(path: str | os.PathLike, kind: str) -> str:
    """The text of ``path``; :class:`BadOutputError` when it is missing, empty or binary."""
    path = Path(path)
    if not path.is_file():
        raise BadOutputError(path, f"no such {kind} file")
    raw = path.read_bytes()
    if not raw.strip():
        raise BadOutputError(path, f"empty file (no {kind} content)")
    if b"\x00" in raw[:65536]:
        raise BadOutputError(path, f"binary content, not a {kind}")
    return raw.decode("utf-8", errors="replace")


def head(path: str | os.PathLike, nbytes: int = 4096) -> str:
    """The first ``nbytes`` of ``path`` as text ('' for unreadable files)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(nbytes).decode("utf-8", errors="replace")
    except OSError:
        return ""


def parse_xml(path: str | os.PathLike, kind: str) -> ET.Element:
    """Parse an XML file; truncated or malformed XML gives a :class:`BadOutputError`."""
    path = Path(path)
    read_text(path, kind)  # empty / missing / binary checks
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BadOutputError(path, f"malformed or truncated {kind} XML ({exc}); "
                                   "the run did not finish or the file was cut") from exc


def floats(text: str) -> list[float]:
    """All numbers in ``text`` (Fortran ``D`` exponents allowed)."""
    return [float(x.replace("D", "E").replace("d", "e")) for x in FLOAT_RE.findall(text)]


def element_of(label: str) -> str:
    """Chemical element of a species label: ``Fe1`` -> ``Fe``, ``Cr_up`` -> ``Cr``, ``NB`` -> ``Nb``."""
    m = re.match(r"([A-Za-z]{1,2})", label.strip())
    if not m:
        raise ValueError(f"cannot tell the element of species label {label!r}")
    letters = m.group(1)
    for cand in (letters[:2].capitalize(), letters[:1].upper()):
        if cand in atomic_numbers and cand != "X":
            return cand
    raise ValueError(f"cannot tell the element of species label {label!r}")


# --------------------------------------------------------------------------------------
# band-path labels
# --------------------------------------------------------------------------------------
def special_point_labels(cell: np.ndarray | None, kpoints: np.ndarray,
                         indices: Sequence[int] | None = None, tol: float = 1e-4) -> list[tuple[int, str]]:
    """Label the k-points of a band path that coincide with a special point of ``cell``.

    ``kpoints`` are fractional; only ``indices`` (default: all) are considered.  Special points
    are ASE's for the Bravais lattice of ``cell`` (``cell.bandpath()``), transformed into the
    basis of ``cell``; a k-point matches a special point when they differ by a reciprocal
    lattice vector (within ``tol``).  Symmetry-equivalent copies that are not lattice
    translates (K' of K, the other X faces) are not labelled.  Returns ``[(k_index, label)]``
    in path order; ``[]`` when the cell is unknown or its lattice is not recognised.
    """
    if cell is None:
        return []
    try:
        from ase.cell import Cell

        special = Cell(np.asarray(cell, dtype=float)).bandpath(npoints=0).special_points
    except Exception:  # noqa: BLE001 - an unrecognised lattice just gives no labels
        return []
    kpoints = np.asarray(kpoints, dtype=float)
    idx = range(len(kpoints)) if indices is None else indices
    labels: list[tuple[int, str]] = []
    for i in idx:
        for name, frac in special.items():
            d = kpoints[i] - np.asarray(frac)
            if np.all(np.abs(d - np.round(d)) < tol):
                labels.append((int(i), name))
                break
    return labels


# --------------------------------------------------------------------------------------
# provenance sidecar written by the input writers
# --------------------------------------------------------------------------------------
def read_inputs_record(folder: Path) -> dict[str, Any] | None:
    """The writers' ``isingflow_inputs.json`` in ``folder`` (None if absent or unreadable)."""
    rec = folder / INPUTS_RECORD
    if not rec.is_file():
        return None
    try:
        return json.loads(rec.read_text())
    except (OSError, ValueError):
        return None


def record_path_labels(record: dict[str, Any] | None, nk: int) -> list[tuple[int, str]] | None:
    """Path labels stored by the writer for a band run with ``nk`` k-points (None if not usable)."""
    if not record or record.get("calculation") != "bands":
        return None
    labels = record.get("path_labels")
    if record.get("nkpts") != nk or not labels:
        return None
    return [(int(i), str(s)) for i, s in labels]


# --------------------------------------------------------------------------------------
# inputs: k-meshes, slabs, magnetic moments
# --------------------------------------------------------------------------------------
def is_slab(atoms, min_vacuum: float = 5.0) -> bool:
    """True when ``atoms`` is a slab: not periodic along z, or a vacuum gap > ``min_vacuum`` Å in z."""
    if not atoms.pbc[2]:
        return True
    return vacuum_gap(atoms)[1] * atoms.cell.lengths()[2] > min_vacuum


def vacuum_gap(atoms) -> tuple[float, float]:
    """Largest gap between atoms along the third cell vector (periodic): (start, width), fractional."""
    z = np.sort(np.mod(atoms.get_scaled_positions(wrap=False)[:, 2], 1.0))
    if len(z) == 0:
        return 0.0, 1.0
    gaps = np.diff(np.concatenate([z, [z[0] + 1.0]]))
    i = int(np.argmax(gaps))
    return float(z[i]), float(gaps[i])


def slab_center(atoms) -> float:
    """Fractional z of the middle of the slab (opposite the middle of the largest vacuum gap)."""
    start, width = vacuum_gap(atoms)
    return float(np.mod(start + width / 2 + 0.5, 1.0))


def is_z_mirror_symmetric(atoms, tol: float = 0.05) -> bool:
    """True when the slab's (element, z) profile is symmetric about its middle (within ``tol`` Å).

    Only the out-of-plane profile matters for a dipole along z, so in-plane registry is ignored.
    """
    c = atoms.cell.lengths()[2]
    zc = slab_center(atoms)
    dz = np.mod(atoms.get_scaled_positions(wrap=False)[:, 2] - zc + 0.5, 1.0) - 0.5
    dz *= c
    syms = atoms.get_chemical_symbols()
    for s in set(syms):
        a = np.sort(dz[[x == s for x in syms]])
        if not np.allclose(a, np.sort(-a), atol=tol):
            return False
    return True


def kmesh(atoms, density: float, slab: bool | None = None) -> list[int]:
    """Monkhorst–Pack sizes from a k-point density (points per 1/Å, 2π included; ASE convention).

    Uses :func:`ase.calculators.calculator.kptdensity2monkhorstpack`; along z of a slab the
    mesh has one point.
    """
    from ase.calculators.calculator import kptdensity2monkhorstpack

    at = atoms.copy()
    if slab is None:
        slab = is_slab(atoms)
    if slab:
        at.pbc = [True, True, False]
    sizes = kptdensity2monkhorstpack(at, kptdensity=density, even=False)
    return [max(1, int(n)) for n in sizes]


def initial_magmoms(atoms, settings: dict) -> np.ndarray:
    """Collinear initial moments (µB per atom): ``settings['initial_magmoms']`` or the atoms'."""
    if settings.get("initial_magmoms") is not None:
        m = np.asarray(settings["initial_magmoms"], dtype=float)
    else:
        m = np.asarray(atoms.get_initial_magnetic_moments(), dtype=float)
    if m.ndim == 2:  # non-collinear vectors given: keep the z component (quantisation axis)
        m = m[:, 2]
    if m.shape != (len(atoms),):
        raise ValueError(f"initial_magmoms: expected {len(atoms)} values, got shape {m.shape}")
    return m


def hubbard_l(symbol: str) -> int:
    """Angular momentum of the correlated shell: 2 for d-block, 3 for f-block, 1 otherwise."""
    z = atomic_numbers[symbol]
    if 57 <= z <= 71 or 89 <= z <= 103:
        return 3
    if 21 <= z <= 30 or 39 <= z <= 48 or 72 <= z <= 80:
        return 2
    return 1


def hubbard_manifold(symbol: str, l: int | None = None) -> str:
    """Quantum ESPRESSO HUBBARD-card manifold label, e.g. ``3d`` for Cr, ``4d`` for Nb, ``2p`` for O."""
    if l is None:
        l = hubbard_l(symbol)
    z = atomic_numbers[symbol]
    period = 1 + sum(z > n for n in (2, 10, 18, 36, 54, 86))
    n = {2: period - 1, 3: period - 2, 1: period, 0: period}[l]
    return f"{n}{'spdf'[l]}"


def guess_valence(symbol: str) -> int:
    """Rough number of valence electrons (outside the noble-gas core and filled d/f shells).

    Only a fallback for converting moments to QE's ``starting_magnetization`` fraction when the
    pseudopotential file cannot be read.
    """
    z = atomic_numbers[symbol]
    core = max(n for n in (0, 2, 10, 18, 36, 54, 86) if n < z)
    n = z - core
    if z > 86 and n > 16:
        n -= 14
    elif 54 < z <= 86 and n > 16:
        n -= 14
    if z > 18 and n > 12:
        n -= 10
    return max(1, n)


def read_upf_valence(path: Path) -> float | None:
    """``z_valence`` from a UPF pseudopotential file (v1 or v2); None if unreadable."""
    try:
        text = path.read_text(errors="replace")[:200000]
    except OSError:
        return None
    m = re.search(r'z_valence\s*=\s*"\s*([-+0-9.eEdD]+)\s*"', text, re.I)
    if m:
        return float(m.group(1).replace("D", "E").replace("d", "e"))
    m = re.search(r"([-+0-9.eEdD]+)\s+Z valence", text)
    if m:
        return float(m.group(1).replace("D", "E").replace("d", "e"))
    return None


def normalise_kpath(kpath: Any) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A band path as (fractional k-points [n, 3], labels [(index, label)]).

    Accepts an ASE ``BandPath``; a dict ``{"kpts": [[...]], "labels": [[i, "G"], ...]}``;
    or a list of ``(k, label)`` pairs / bare 3-vectors (label ``""`` or None for unlabelled).
    """
    if kpath is None:
        raise ValueError("settings['kpath'] is required for calculation='bands'")
    if hasattr(kpath, "kpts") and hasattr(kpath, "get_linear_kpoint_axis"):
        kpts = np.asarray(kpath.kpts, dtype=float)
        x, xspecial, names = kpath.get_linear_kpoint_axis()
        labels = []
        for xs, name in zip(xspecial, names):
            i = int(np.argmin(np.abs(x - xs)))
            labels.append((i, "G" if name in ("Γ", "\\Gamma") else name))
        return kpts, labels
    if isinstance(kpath, dict):
        kpts = np.asarray(kpath["kpts"], dtype=float)
        labels = [(int(i), str(s)) for i, s in kpath.get("labels", [])]
        return _check_kpts(kpts), labels
    kpts_list, labels = [], []
    for i, item in enumerate(kpath):
        if len(item) == 2 and np.ndim(item[0]) == 1:
            k, lab = item
            if lab:
                labels.append((i, str(lab)))
        else:
            k = item
        kpts_list.append(np.asarray(k, dtype=float))
    return _check_kpts(np.array(kpts_list)), labels


def _check_kpts(kpts: np.ndarray) -> np.ndarray:
    if kpts.ndim != 2 or kpts.shape[1] != 3 or len(kpts) == 0:
        raise ValueError(f"kpath: expected a list of fractional 3-vectors, got shape {kpts.shape}")
    return kpts


def looks_like_path(kpoints: np.ndarray, min_fraction: float = 0.75, min_points: int = 8) -> bool:
    """True when the k-points run along straight, evenly spaced segments (a band path, not a mesh).

    A point is 'on a segment' when it sits halfway between its neighbours; a band path has
    almost all interior points on segments, a mesh listed row by row has few.
    """
    k = np.asarray(kpoints, dtype=float)
    if len(k) < min_points:
        return False
    mid = k[1:-1] - 0.5 * (k[:-2] + k[2:])
    step = np.linalg.norm(np.diff(k, axis=0), axis=1)
    scale = max(float(np.median(step)), 1e-8)
    on_segment = np.linalg.norm(mid, axis=1) < 1e-3 * max(scale, 1e-3) + 1e-5
    return bool(on_segment.mean() >= min_fraction)
