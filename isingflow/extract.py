"""From normalised band files to the few numbers the model needs (ΔSOC, λex, t⊥, ...).

Every function reads :class:`isingflow.dft.BandStructure` objects and returns plain numbers
or arrays with units in their names.  Conventions follow ``shared/physics_model.md`` §6:

* the *full* Ising splitting of a band is ``ε(⟨σz⟩<0) − ε(⟨σz⟩>0)`` (meV here);
* the model's ``Δ_SOC`` is half of it (``H = Δ_SOC σz``), reported as ``delta_soc_half_*``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isingflow.dft.bandfile import BandStructure


class PhysicsGateError(RuntimeError):
    """An input makes no physical sense: the pipeline stops instead of producing a number."""


def fermi_crossing_bands(bands: BandStructure, spin: int = 0) -> list[int]:
    """Indices of the bands that cross the Fermi level along the k-points of ``bands``."""
    e = bands.eigenvalues[spin] - bands.fermi_level
    return [n for n in range(bands.nbands) if e[:, n].min() < 0.0 < e[:, n].max()]


def segment_indices(bands: BandStructure, start: str, end: str) -> np.ndarray:
    """k indices of the straight path segment between two consecutive labels, in path order."""
    labels = bands.path_labels
    for (i0, l0), (i1, l1) in zip(labels[:-1], labels[1:]):
        if {l0, l1} == {start, end}:
            idx = np.arange(i0, i1 + 1)
            return idx if l0 == start else idx[::-1]
    raise ValueError(f"{bands.source}: no path segment {start}–{end} (labels {labels})")


@dataclass
class IsingSplitting:
    """Ising spin splitting of one band along a path segment."""

    k_distance_inv_angstrom: np.ndarray   # distance from the segment's start point
    splitting_meV: np.ndarray             # ε(σz<0) − ε(σz>0), signed
    energy_meV: np.ndarray                # pair centre relative to E_F
    sz: np.ndarray                        # ⟨σz⟩ of the lower and upper state, [k, 2]
    band_index_nosoc: int


def ising_splitting(bands_soc: BandStructure, bands_nosoc: BandStructure, start: str = "G",
                    end: str = "K", band: int | None = None) -> IsingSplitting:
    """Ising splitting of the (non-SOC) band ``band`` along the ``start``–``end`` segment.

    Without ``band``, the band that crosses E_F in the non-SOC calculation is taken (the Nb-d
    band of NbSe2).  Each non-SOC band ``n`` becomes the SOC pair ``(2n, 2n+1)`` when states
    are sorted by energy; the pairing is checked against the non-SOC band gaps.
    """
    if not bands_soc.soc or bands_soc.spin_expectation is None:
        raise ValueError(f"{bands_soc.source}: not a spin–orbit band structure with spin expectations")
    if bands_nosoc.spin_polarized:
        raise ValueError(f"{bands_nosoc.source}: Ising splitting needs a non-magnetic reference")
    if bands_soc.nkpts != bands_nosoc.nkpts or not np.allclose(bands_soc.kpoints, bands_nosoc.kpoints):
        raise ValueError("SOC and non-SOC band structures are on different k-points")
    if band is None:
        crossing = fermi_crossing_bands(bands_nosoc)
        if not crossing:
            raise PhysicsGateError(f"{bands_nosoc.source}: no band crosses the Fermi level "
                                   "(expected the metallic Nb-d band of NbSe2)")
        band = crossing[0] if len(crossing) == 1 else _band_nearest_ef(bands_nosoc, crossing)
    idx = segment_indices(bands_soc, start, end)
    e = bands_soc.eigenvalues[0][idx]
    sz = bands_soc.spin_expectation[idx, :, 2]
    lo, hi = 2 * band, 2 * band + 1
    e_lo, e_hi = e[:, lo], e[:, hi]
    sz_pair = np.stack([sz[:, lo], sz[:, hi]], axis=1)
    # sign convention: ε(σz<0) − ε(σz>0); where ⟨σz⟩ vanishes (Γ–M) the splitting is |Δε| · 0
    sign = np.where(sz_pair[:, 0] > sz_pair[:, 1], 1.0, -1.0)
    split = sign * (e_hi - e_lo)
    kc = bands_soc.kpoints_cartesian()[idx]
    dist = np.linalg.norm(kc - kc[0], axis=1)
    return IsingSplitting(k_distance_inv_angstrom=dist, splitting_meV=1000 * split,
                          energy_meV=1000 * (0.5 * (e_lo + e_hi) - bands_soc.fermi_level),
                          sz=sz_pair, band_index_nosoc=int(band))


def _band_nearest_ef(bands: BandStructure, candidates: list[int]) -> int:
    e = np.abs(bands.eigenvalues[0] - bands.fermi_level)
    return min(candidates, key=lambda n: np.sort(e[:, n])[: max(3, bands.nkpts // 10)].mean())


def fermi_crossings(dist: np.ndarray, energy_meV: np.ndarray, values: np.ndarray) -> list[dict]:
    """Linear interpolation of ``values`` where ``energy_meV`` changes sign along ``dist``."""
    out = []
    for i in range(len(dist) - 1):
        e0, e1 = energy_meV[i], energy_meV[i + 1]
        if e0 == 0 or e0 * e1 < 0:
            f = 0.0 if e0 == e1 else e0 / (e0 - e1)
            out.append({"k_distance_inv_angstrom": float(dist[i] + f * (dist[i + 1] - dist[i])),
                        "value": float(values[i] + f * (values[i + 1] - values[i]))})
    return out


def monolayer_soc_parameters(bands_soc: BandStructure, bands_nosoc: BandStructure) -> dict:
    """ΔSOC of the Nb-d band of a monolayer: at K, and on its Fermi crossings along Γ–K.

    Returns a dict with units in the key names (meV, 1/Å).  The physics gate: the full
    splitting at K of 1H-NbSe2 must be between 20 and 400 meV (literature ≈ 150 meV).
    """
    res = ising_splitting(bands_soc, bands_nosoc, start="G", end="K")
    full_K = float(abs(res.splitting_meV[-1]))
    crossings = fermi_crossings(res.k_distance_inv_angstrom, res.energy_meV, np.abs(res.splitting_meV))
    if not 20.0 < full_K < 400.0:
        raise PhysicsGateError(f"Ising splitting at K is {full_K:.1f} meV: outside 20–400 meV, "
                               "check the SOC calculation (literature ≈ 150 meV for NbSe2)")
    return {
        "ising_splitting_full_K_meV": full_K,
        "delta_soc_half_K_meV": full_K / 2,
        "band_energy_at_K_minus_EF_meV": float(res.energy_meV[-1]),
        "fermi_crossings_G_to_K": [
            {"k_distance_from_G_inv_angstrom": c["k_distance_inv_angstrom"],
             "ising_splitting_full_meV": c["value"]} for c in crossings],
        "max_ising_splitting_full_G_to_K_meV": float(np.max(np.abs(res.splitting_meV))),
        "band_index_nosoc": res.band_index_nosoc,
        "fermi_level_soc_eV": float(bands_soc.fermi_level),
        "fermi_level_nosoc_eV": float(bands_nosoc.fermi_level),
    }
