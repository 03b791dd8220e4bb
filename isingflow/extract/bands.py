"""Band-derived quantities: the Ising splitting ΔSOC(k), the exchange splitting λex, Fermi crossings.

Every function reads :class:`isingflow.dft.BandStructure` objects and returns numbers or arrays
with units in their names.  Definitions and sign conventions: ``docs/extraction.md``:

* the *full* Ising splitting of a band is ``ε(⟨σz⟩<0) − ε(⟨σz⟩>0)`` (meV here);
* the model's ``Δ_SOC`` is half of it (``H = Δ_SOC σz``), reported as ``delta_soc_half_*``;
* λex = ε↓ − ε↑ of the superconductor's states near E_F.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from scipy.optimize import linear_sum_assignment

from isingflow.dft import BandStructure
from isingflow.dft.bandfile import fermi_window
from isingflow.extract.errors import PhysicsGateError


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


# ---------------------------------------------------------------------------------------------
# Ising splitting ΔSOC(k) of a monolayer
@dataclass
class IsingSplitting:
    """Ising spin splitting of one band along a path segment."""

    k_distance_inv_angstrom: np.ndarray   # distance from the segment's start point
    splitting_meV: np.ndarray             # ε(σz<0) − ε(σz>0), signed
    energy_meV: np.ndarray                # pair centre relative to E_F
    sz: np.ndarray                        # ⟨σz⟩ of the lower and upper state, [k, 2]
    band_index_nosoc: int


def _check_soc_pair(bands_soc: BandStructure, bands_nosoc: BandStructure) -> None:
    if not bands_soc.soc or bands_soc.spin_expectation is None:
        raise ValueError(f"{bands_soc.source}: not a spin–orbit band structure with spin expectations")
    if bands_nosoc.spin_polarized:
        raise ValueError(f"{bands_nosoc.source}: Ising splitting needs a non-magnetic reference")
    if bands_soc.nkpts != bands_nosoc.nkpts or not np.allclose(bands_soc.kpoints, bands_nosoc.kpoints):
        raise ValueError("SOC and non-SOC band structures are on different k-points")


def _fermi_band(bands_nosoc: BandStructure) -> int:
    crossing = fermi_crossing_bands(bands_nosoc)
    if not crossing:
        raise PhysicsGateError(f"{bands_nosoc.source}: no band crosses the Fermi level "
                               "(expected the metallic Nb-d band of NbSe2)")
    return crossing[0] if len(crossing) == 1 else _band_nearest_ef(bands_nosoc, crossing)


def ising_splitting(bands_soc: BandStructure, bands_nosoc: BandStructure, start: str = "G",
                    end: str = "K", band: int | None = None) -> IsingSplitting:
    """Ising splitting of the (non-SOC) band ``band`` along the ``start``–``end`` segment.

    Without ``band``, the band that crosses E_F in the non-SOC calculation is taken (the Nb-d
    band of NbSe2).  Each non-SOC band ``n`` becomes the SOC pair ``(2n, 2n+1)`` when states
    are sorted by energy; the pairing is checked against the non-SOC band gaps.
    """
    _check_soc_pair(bands_soc, bands_nosoc)
    if band is None:
        band = _fermi_band(bands_nosoc)
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


class FermiCrossing(TypedDict):
    k_distance_from_G_inv_angstrom: float
    ising_splitting_full_meV: float


class SplittingCurve(TypedDict):
    k_distance_from_G_inv_angstrom: list[float]
    ising_splitting_full_meV: list[float]
    band_energy_minus_EF_meV: list[float]


class MonolayerSOC(TypedDict, total=False):
    """ΔSOC of a monolayer's Nb-d band (``results/parameters/<monolayer>.json``)."""

    ising_splitting_full_K_meV: float
    delta_soc_half_K_meV: float
    band_energy_at_K_minus_EF_meV: float
    fermi_crossings_G_to_K: list[FermiCrossing]
    max_ising_splitting_full_G_to_K_meV: float
    band_index_nosoc: int
    fermi_level_soc_eV: float
    fermi_level_nosoc_eV: float
    delta_soc_G_to_K: SplittingCurve      # only in :func:`monolayer_soc`


def monolayer_soc_parameters(bands_soc: BandStructure, bands_nosoc: BandStructure) -> MonolayerSOC:
    """ΔSOC of the Nb-d band of a monolayer: at K, and on its Fermi crossings along Γ–K.

    The physics gate: the full splitting at K of 1H-NbSe2 must be between 20 and 400 meV
    (literature ≈ 150 meV).
    """
    res = ising_splitting(bands_soc, bands_nosoc, start="G", end="K")
    full_K = float(abs(res.splitting_meV[-1]))
    crossings = fermi_crossings(res.k_distance_inv_angstrom, res.energy_meV, np.abs(res.splitting_meV))
    if not 20.0 < full_K < 400.0:
        raise PhysicsGateError(f"Ising splitting at K is {full_K:.1f} meV: outside 20–400 meV, "
                               "check the SOC calculation (literature ≈ 150 meV for NbSe2)")
    return MonolayerSOC(
        ising_splitting_full_K_meV=full_K,
        delta_soc_half_K_meV=full_K / 2,
        band_energy_at_K_minus_EF_meV=float(res.energy_meV[-1]),
        fermi_crossings_G_to_K=[
            FermiCrossing(k_distance_from_G_inv_angstrom=c["k_distance_inv_angstrom"],
                          ising_splitting_full_meV=c["value"]) for c in crossings],
        max_ising_splitting_full_G_to_K_meV=float(np.max(np.abs(res.splitting_meV))),
        band_index_nosoc=res.band_index_nosoc,
        fermi_level_soc_eV=float(bands_soc.fermi_level),
        fermi_level_nosoc_eV=float(bands_nosoc.fermi_level),
    )


def monolayer_soc(bands_soc: BandStructure, bands_nosoc: BandStructure) -> MonolayerSOC:
    """:func:`monolayer_soc_parameters` plus the splitting curve ΔSOC(k) along Γ–K."""
    params = monolayer_soc_parameters(bands_soc, bands_nosoc)
    split = ising_splitting(bands_soc, bands_nosoc, "G", "K")
    params["delta_soc_G_to_K"] = SplittingCurve(
        k_distance_from_G_inv_angstrom=split.k_distance_inv_angstrom.tolist(),
        ising_splitting_full_meV=split.splitting_meV.tolist(),
        band_energy_minus_EF_meV=split.energy_meV.tolist())
    return params


# ---------------------------------------------------------------------------------------------
# Exchange splitting λex of the superconductor's bands in a magnetic heterostructure
def layer_weight(bands: BandStructure, layers: list[int]) -> np.ndarray:
    """Weight of every state on the given layers, ``[spin, k, band]``."""
    lp = bands.layer_projections()
    return lp[..., list(layers)].sum(axis=-1)


@dataclass
class ExchangeSplitting:
    """λex = ε↓ − ε↑ of the states of the chosen layers near E_F (meV)."""

    average_meV: float            # Fermi-window-weighted average over all k
    at_label_meV: dict            # label -> value at that k (pair nearest E_F), e.g. {"G": .., "K": ..}
    per_k_meV: np.ndarray         # weighted average at each k (nan where no pair)
    pairs: int                    # number of (↑, ↓) pairs used


def _spin_pairs(e_up: np.ndarray, e_down: np.ndarray, max_shift_eV: float):
    """(↑, ↓) partners with the smallest total |ε↓ − ε↑| (Hungarian algorithm), closer than ``max_shift_eV``."""
    cost = np.abs(e_down[None, :] - e_up[:, None])
    rows, cols = linear_sum_assignment(cost)
    keep = cost[rows, cols] < max_shift_eV
    return e_up[rows[keep]], e_down[cols[keep]]


def exchange_splitting(bands: BandStructure, layers: list[int], min_layer_weight: float = 0.5,
                       window_eV: float = 1.0, fermi_broadening_eV: float = 0.1,
                       max_shift_eV: float = 0.4, min_unfold_weight: float = 0.5) -> ExchangeSplitting:
    """Exchange splitting of the bands of ``layers`` (e.g. the NbSe2 layers) near E_F.

    For every k, the states with weight > ``min_layer_weight`` on ``layers`` within ``window_eV`` of
    E_F are paired between the two spin channels by the assignment that minimises the total
    |ε↓ − ε↑| (Hungarian algorithm; pairs further apart than ``max_shift_eV`` are dropped, e.g. a
    state whose partner hybridised with the magnet), and λex = ε↓ − ε↑ for each pair.  The average
    over the Fermi-level states weights each pair by −∂f/∂E at its mean energy (Fermi–Dirac width
    ``fermi_broadening_eV``), i.e. by how much it sits at the Fermi level.  On an unfolded band
    path only states whose unfolding weight at the primitive k exceeds ``min_unfold_weight`` count:
    a supercell k holds the folded partners of other primitive k, whose splitting is not λex here.
    """
    if not bands.spin_polarized or bands.soc:
        raise ValueError(f"{bands.source}: λex needs a collinear spin-polarised band structure")
    w = layer_weight(bands, layers)
    if bands.unfold_weights is not None:
        w = np.where(bands.unfold_weights > min_unfold_weight, w, 0.0)
    e = bands.eigenvalues - bands.fermi_level
    kweight = bands.weights if bands.weights is not None else np.ones(bands.nkpts)
    per_k = np.full(bands.nkpts, np.nan)
    num = den = 0.0
    pairs = 0
    nearest: dict[int, float] = {}
    for k in range(bands.nkpts):
        sel = [np.sort(e[s, k][(w[s, k] > min_layer_weight) & (np.abs(e[s, k]) < window_eV)]) for s in (0, 1)]
        if len(sel[0]) == 0 or len(sel[1]) == 0:
            continue
        up, down = _spin_pairs(sel[0], sel[1], max_shift_eV)
        if len(up) == 0:
            continue
        lam = down - up
        mid = 0.5 * (up + down)
        g = fermi_window(mid, fermi_broadening_eV)
        if g.sum() > 0:
            per_k[k] = float((g * lam).sum() / g.sum())
        g = g * kweight[k]
        num += float((g * lam).sum())
        den += float(g.sum())
        pairs += len(lam)
        nearest[k] = float(lam[np.argmin(np.abs(mid))])
    if den == 0:
        raise PhysicsGateError(f"{bands.source}: no states of layers {layers} near the Fermi level")
    at_label = {lab: 1000 * nearest[idx] for idx, lab in bands.path_labels if idx in nearest}
    return ExchangeSplitting(average_meV=1000 * num / den, at_label_meV=at_label, per_k_meV=1000 * per_k,
                             pairs=pairs)


def layer_moments(magmoms_muB, symbols, atom_layers, element: str, layers: list[int]) -> list[float]:
    """Local moments (µB) of the atoms of ``element`` in ``layers``."""
    return [float(m) for m, s, lay in zip(magmoms_muB, symbols, atom_layers) if s == element and lay in layers]


def lowest_state_above_ef(bands: BandStructure, layers: list[int], spin: int, min_weight: float = 0.5) -> float:
    """Energy (eV, relative to E_F) of the lowest empty state with weight > ``min_weight`` on ``layers``."""
    w = layer_weight(bands, layers)[spin]
    e = bands.eigenvalues[spin] - bands.fermi_level
    sel = (w > min_weight) & (e > 0)
    if not sel.any():
        raise PhysicsGateError(f"{bands.source}: no empty state on layers {layers} in spin {spin}")
    return float(e[sel].min())
