"""Writing helpers shared by the VASP and Quantum ESPRESSO input writers.

Slab geometry (vacuum gap, centre, z-mirror symmetry, whether to switch on a dipole
correction), initial magnetic moments, the Hubbard shell of an element, valence electrons
(from a UPF file or a rough guess) and writing one complete input set atomically.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from ase.data import atomic_numbers

from isingflow.dft._text import INPUTS_RECORD
from isingflow.provenance import atomic_write_text


# --------------------------------------------------------------------------------------
# slabs
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


def wants_dipole_correction(atoms, settings: dict) -> bool:
    """``settings['dipole_correction']``: True/False, or "auto" (default): on for z-asymmetric slabs."""
    dip = settings.get("dipole_correction", "auto")
    if dip == "auto":
        return bool(is_slab(atoms) and not is_z_mirror_symmetric(atoms))
    return bool(dip)


# --------------------------------------------------------------------------------------
# moments, Hubbard U, valence
# --------------------------------------------------------------------------------------
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


def is_spin_polarized(settings: dict, magmoms: np.ndarray) -> bool:
    """``settings['spin_polarized']``, by default on when any initial moment is non-zero."""
    return bool(settings.get("spin_polarized", np.any(np.abs(magmoms) > 1e-8)))


def hubbard_u(settings: dict, elements: list[str]) -> dict[str, float]:
    """``settings['hubbard_u_eV']`` checked against the elements of the structure."""
    hub = settings.get("hubbard_u_eV") or {}
    unknown = set(hub) - set(elements)
    if unknown:
        raise ValueError(f"settings['hubbard_u_eV'] names elements not in the structure: {sorted(unknown)}")
    return dict(hub)


def hubbard_l(symbol: str) -> int:
    """Angular momentum of the correlated shell: 2 for d-block, 3 for f-block, 1 otherwise."""
    z = atomic_numbers[symbol]
    if 57 <= z <= 71 or 89 <= z <= 103:
        return 3
    if 21 <= z <= 30 or 39 <= z <= 48 or 72 <= z <= 80:
        return 2
    return 1


def hubbard_manifold(symbol: str, l: int | None = None) -> str:  # noqa: E741 - l is the physics name
    """Quantum ESPRESSO HUBBARD-card manifold label, e.g. ``3d`` for Cr, ``4d`` for Nb, ``2p`` for O."""
    if l is None:
        l = hubbard_l(symbol)  # noqa: E741
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
    if z > 54 and n > 16:
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
    if m is None:
        m = re.search(r"([-+0-9.eEdD]+)\s+Z valence", text)
    return float(m.group(1).replace("D", "E").replace("d", "e")) if m else None


# --------------------------------------------------------------------------------------
# one input set on disk
# --------------------------------------------------------------------------------------
def run_script(title: str, body: list[str], notes: tuple[str, ...] = ()) -> str:
    """A ``run.sh``: a title (and note) comment, bash strict mode, run from its own folder, then ``body``."""
    lines = ["#!/usr/bin/env bash", f"# isingflow: {title}", *(f"# {n}" for n in notes), "set -euo pipefail",
             'cd "$(dirname "$0")"', *body]
    return "\n".join(lines) + "\n"


def write_input_set(outdir: str | os.PathLike, files: dict[str, str], record: dict[str, Any]) -> list[Path]:
    """Write ``files`` (name → text, in order) and the ``isingflow_inputs.json`` record atomically.

    ``run.sh`` is made executable.  Returns the written paths, the record last.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in {**files, INPUTS_RECORD: json.dumps(record, indent=2) + "\n"}.items():
        atomic_write_text(outdir / name, text)
        if name == "run.sh":
            os.chmod(outdir / name, 0o755)
        written.append(outdir / name)
    return written
