"""GPAW: converged magnetic ground states — moment convergence criterion, seeds, the moment gate.

Why (docs/dft.md, "Magnetic self-consistency"): with the total density mixed alone (``MixerSum``)
and the SCF stopped on the change of the total density, the small moment induced on the
superconductor (m_Nb ≈ 0.01–0.1 µB) is never tested; the energy converges while the moments still
climb.  Here the magnetisation density is mixed on its own (``MixerDif``), a criterion on the
change of the total *and every atomic* moment must be met too, and the superconductor's atoms are
seeded with both signs of a small moment, the lower-energy solution being kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

try:  # GPAW is optional at import time (documentation builds, parsers-only installs)
    from gpaw.convergence_criteria import Criterion
except ImportError:  # pragma: no cover
    Criterion = object


class MomentsNotConverged(RuntimeError):
    """The magnetic moments were still moving when the SCF stopped: never a result."""


class MagneticMomentCriterion(Criterion):
    """GPAW custom SCF criterion: the total and every atomic moment stopped moving.

    Converged when, over the last ``n_old`` iterations, the peak-to-peak change of the total
    moment and of each atomic (PAW-sphere) moment is below ``tol_muB``.  The criterion keeps the
    history of every iteration (``history``: rows [M_total, m_1, …, m_N] in µB).

    Parameters
    ----------
    tol_muB
        Tolerance on the moment changes (µB).
    n_old
        Number of iterations compared.
    """

    name = "magnetic moments"
    tablename = "magm"
    calc_last = False

    def __init__(self, tol_muB: float, n_old: int = 3):
        self.tol_muB = float(tol_muB)
        self.n_old = int(n_old)
        self.description = (f"Maximum change of the total and atomic magnetic moments in the last "
                            f"{self.n_old} cycles: {self.tol_muB:g} µB")
        self.reset()

    def reset(self) -> None:
        self.history: list[list[float]] = []

    def __call__(self, context) -> tuple[bool, str]:
        total_v, atomic_av = context.dens.calculate_magnetic_moments()
        self.history.append([float(total_v[2])] + [float(m) for m in np.asarray(atomic_av)[:, 2]])
        change = moment_change_muB(self.history, self.n_old)
        entry = f"{np.log10(max(change, 1e-12)):+5.2f}" if np.isfinite(change) else ""
        return bool(change < self.tol_muB), entry

    def todict(self) -> dict[str, Any]:
        return {"name": self.name, "tol_muB": self.tol_muB, "n_old": self.n_old}


def moment_change_muB(history: list[list[float]], n_old: int) -> float:
    """Largest peak-to-peak change of any moment (total or atomic) over the last ``n_old`` rows (µB).

    ``inf`` while fewer than ``n_old`` iterations are known.
    """
    if len(history) < n_old:
        return float("inf")
    recent = np.asarray(history[-n_old:], dtype=float)
    return float(np.ptp(recent, axis=0).max())


@dataclass
class MomentHistory:
    """The moments of the last SCF iterations, as recorded in ``gs.json``.

    Attributes
    ----------
    total_muB
        Total moment of each of the last iterations (µB).
    atomic_muB
        Atomic moments of the magnetic sites (|m| above ``site_threshold_muB`` at the end) and
        of the seeded atoms, per iteration (µB); keys are "<symbol><index>".
    final_change_muB
        Largest change of any moment over the criterion's last ``n_old`` iterations (µB).
    tol_muB, n_old
        The criterion that was met.
    """

    total_muB: list[float]
    atomic_muB: dict[str, list[float]]
    final_change_muB: float
    tol_muB: float
    n_old: int
    n_iterations: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def moment_history(criterion: MagneticMomentCriterion, symbols: list[str], watch: list[int],
                   last: int = 8) -> MomentHistory:
    """The last ``last`` iterations of the criterion's history, for the atoms in ``watch``."""
    rows = np.asarray(criterion.history, dtype=float)
    tail = rows[-last:]
    return MomentHistory(
        total_muB=[round(float(v), 6) for v in tail[:, 0]],
        atomic_muB={f"{symbols[i]}{i}": [round(float(v), 6) for v in tail[:, 1 + i]] for i in watch},
        final_change_muB=moment_change_muB(criterion.history, criterion.n_old),
        tol_muB=criterion.tol_muB, n_old=criterion.n_old, n_iterations=len(rows))


def check_moments_converged(history: MomentHistory) -> None:
    """The gate: raise :class:`MomentsNotConverged` unless the last moments met the tolerance."""
    if not np.isfinite(history.final_change_muB) or history.final_change_muB >= history.tol_muB:
        raise MomentsNotConverged(
            f"magnetic moments still moving when the SCF stopped: largest change "
            f"{history.final_change_muB:.2e} µB over the last {history.n_old} iterations "
            f"(tolerance {history.tol_muB:.1e} µB); increase maxiter or lower mixer_beta")


def seed_moments(atoms: Atoms, seeds_muB: dict[str, float], sign: int) -> Atoms:
    """A copy of ``atoms`` whose atoms of the seeded elements start with ``sign`` × seed (µB).

    Only atoms without an initial moment are seeded (a magnet's own moments are kept), and only
    in a structure with a magnet of another element (a non-magnetic monolayer stays
    non-spin-polarised, a vacancy supercell keeps its own seeds): :func:`seeded_atoms`.
    """
    out = atoms.copy()
    magmoms = out.get_initial_magnetic_moments()
    for i in seeded_atoms(atoms, seeds_muB):
        magmoms[i] = sign * float(seeds_muB[out.get_chemical_symbols()[i]])
    out.set_initial_magnetic_moments(magmoms)
    return out


def seeded_atoms(atoms: Atoms, seeds_muB: dict[str, float] | None) -> list[int]:
    """Indices of the atoms :func:`seed_moments` would seed."""
    if not seeds_muB:
        return []
    magmoms = atoms.get_initial_magnetic_moments()
    symbols = atoms.get_chemical_symbols()
    # only next to a magnet of another element (a V_Se supercell, whose own Nb carry the seeds of
    # its defect moment, is not seeded: a uniform Nb seed would bias NbSe2 at its Stoner threshold)
    if not any(abs(m) > 1e-8 and s not in seeds_muB for m, s in zip(magmoms, symbols)):
        return []
    return [i for i, s in enumerate(atoms.get_chemical_symbols()) if s in seeds_muB and abs(magmoms[i]) < 1e-8]


def watched_sites(symbols: list[str], final_magmoms_muB, seeded: list[int],
                  site_threshold_muB: float = 0.5) -> list[int]:
    """Atoms whose moment history is recorded: the magnetic sites and the seeded atoms."""
    big = [i for i, m in enumerate(final_magmoms_muB) if abs(m) > site_threshold_muB]
    return sorted(set(big) | set(seeded))


@dataclass
class ContinuedSCF:
    """Moments of a converged ``.gpw`` before and after continuing its SCF with tighter tolerances."""

    magmoms_before_muB: list[float]
    magmoms_after_muB: list[float]
    magmom_total_before_muB: float
    magmom_total_after_muB: float
    iterations: int

    @property
    def largest_change_muB(self) -> float:
        return float(np.max(np.abs(np.subtract(self.magmoms_after_muB, self.magmoms_before_muB))))


def continue_scf(gpw_path, energy_tol_eV: float, density_tol: float, magmom_tol_muB: float,
                 maxiter: int, txt=None) -> ContinuedSCF:
    """Continue the SCF of a converged ``.gpw`` from its density with tighter tolerances.

    The check of item "moments converged": a ground state is trustworthy when its moments do not
    move beyond the stated tolerance once the SCF is driven further (``tests/test_dft_gpaw.py``).
    """
    from gpaw import GPAW
    from gpaw.new.scf import create_convergence_criteria

    calc = GPAW(str(gpw_path), txt=str(txt) if txt is not None else None)
    before = calc.get_magnetic_moments().copy()
    total_before = float(calc.get_magnetic_moment())
    dft = calc.dft
    dft.scf_loop.convergence = create_convergence_criteria(
        {"energy": {"name": "energy", "tol": energy_tol_eV, "n_old": 3, "relative": False},
         "density": density_tol, "custom": [MagneticMomentCriterion(magmom_tol_muB)]})
    dft.converge(maxiter=maxiter)
    total_v, atomic_av = dft.magmoms()
    return ContinuedSCF(magmoms_before_muB=[float(m) for m in before],
                        magmoms_after_muB=[float(m) for m in atomic_av[:, 2]],
                        magmom_total_before_muB=total_before, magmom_total_after_muB=float(total_v[2]),
                        iterations=int(dft.scf_loop.niter))


def slab_boundaries_angstrom(atom_z_angstrom, atom_layers) -> dict[int, tuple[float, float]]:
    """z-range of every layer: from the midpoint to the layer below to the midpoint to the layer
    above (the outermost layers reach into the vacuum: ±∞)."""
    z, layers = np.asarray(atom_z_angstrom, dtype=float), np.asarray(atom_layers)
    order = sorted(set(layers.tolist()), key=lambda lay: z[layers == lay].mean())
    cuts = [0.5 * (z[layers == a].max() + z[layers == b].min()) for a, b in zip(order[:-1], order[1:])]
    edges = [-np.inf, *cuts, np.inf]
    return {int(lay): (edges[i], edges[i + 1]) for i, lay in enumerate(order)}


def slab_moments_muB(z_angstrom, m_of_z_muB_per_angstrom, atom_z_angstrom, atom_layers) -> dict[str, float]:
    """Moment of every layer: the planar-integrated magnetisation m(z) (µB/Å) summed over the
    layer's slab (:func:`slab_boundaries_angstrom`); keys are the layer indices as strings."""
    z = np.asarray(z_angstrom, dtype=float)
    m = np.asarray(m_of_z_muB_per_angstrom, dtype=float)
    dz = z[1] - z[0]
    return {str(lay): float(m[(z >= lo) & (z < hi)].sum() * dz)
            for lay, (lo, hi) in slab_boundaries_angstrom(atom_z_angstrom, atom_layers).items()}


def layer_slab_moments(calc, atom_layers) -> dict[str, float]:
    """Moments (µB) of every layer integrated from the all-electron magnetisation density over the
    layer's slab: beside the PAW-sphere moments, this counts the magnetisation between the atoms
    (for the superconductor's induced moment the two differ)."""
    n_up = calc.get_all_electron_density(spin=0, gridrefinement=2)
    n_down = calc.get_all_electron_density(spin=1, gridrefinement=2)
    atoms = calc.get_atoms()
    cell = atoms.cell
    area = float(np.linalg.norm(np.cross(cell[0], cell[1])))
    nz = n_up.shape[2]
    dz = float(cell[2, 2]) / nz
    m_z = (n_up - n_down).mean(axis=(0, 1)) * area   # µB per Å along z
    return slab_moments_muB(np.arange(nz) * dz, m_z, atoms.positions[:, 2], atom_layers)
