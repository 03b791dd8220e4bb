"""Interlayer hopping t⊥(k) from unfolded bands, and the hot spots where tunnelling meets weak SOC.

Definitions: ``docs/extraction.md`` (section "Interlayer hopping and hot spots").  Energies in meV.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isingflow.dft import BandStructure
from isingflow.extract.bands import segment_indices
from isingflow.extract.errors import PhysicsGateError

SEGMENTS = {"G-M": ("G", "M"), "G-K": ("G", "K")}
"""The path segments along which t⊥(k) is reported (Fig. 1d)."""


@dataclass
class TPerpCurve:
    """t⊥(k) along one path segment of the primitive cell."""

    k_distance_inv_angstrom: np.ndarray   # from the segment's start point
    t_perp_meV: np.ndarray                # nan where the pair is not found
    pair_energy_meV: np.ndarray           # pair centre relative to E_F

    @property
    def at_start_meV(self) -> float:
        return float(self.t_perp_meV[0])

    @property
    def at_end_meV(self) -> float:
        return float(self.t_perp_meV[-1])


def _pair_at_k(ek: np.ndarray, wk: np.ndarray, n: int, min_weight: float):
    """The two layers' copies (slots 2n, 2n+1) of primitive band ``n`` at one k, or None."""
    order = np.argsort(ek)
    ek, wk = ek[order], wk[order]
    # the unfolded "slot" of each state: its position in the cumulative spectral weight, so
    # that a primitive state shared between degenerate folded partners (weights 1/2, 1/3, …)
    # still counts once
    slot = np.floor(np.cumsum(wk) - wk / 2 + 1e-9).astype(int)
    pair = [ek[(slot == m) & (wk > min_weight)] for m in (2 * n, 2 * n + 1)]
    if len(pair[0]) != 1 or len(pair[1]) != 1:
        return None
    return pair[0][0], pair[1][0]


def interlayer_hopping(bands: BandStructure, band_index_primitive: int, start: str, end: str,
                       spin: int = 0, min_weight: float = 0.5,
                       delta_soc_meV: np.ndarray | None = None) -> TPerpCurve:
    """t⊥(k) = half the bonding–antibonding splitting of the two layers' copies of one band.

    ``bands`` is an unfolded (``unfold_weights``) band structure of two identical layers (plus
    possibly a spacer that is projected out); ``band_index_primitive`` is the index of the band
    in the primitive single layer (e.g. the Nb-d band crossing E_F).  At every primitive k the
    states are sorted by energy and counted by their cumulative unfold weight; the pair is the
    states (with weight > ``min_weight``) in the slots 2n and 2n+1 (two layers' copies of band n).
    If ``delta_soc_meV`` (full Ising splitting along the same k-points) is given, the splitting is
    corrected as t⊥ = √((E_split/2)² − Δ_SOC²) for layers with opposite Ising SOC.
    """
    if bands.unfold_weights is None:
        raise ValueError(f"{bands.source}: t⊥(k) needs an unfolded band structure")
    idx = segment_indices(bands, start, end)
    W = bands.unfold_weights[spin]
    e = bands.eigenvalues[spin]
    t_perp = np.full(len(idx), np.nan)
    energy = np.full(len(idx), np.nan)
    for j, k in enumerate(idx):
        pair = _pair_at_k(e[k], W[k], band_index_primitive, min_weight)
        if pair is None:
            continue
        lo, hi = pair
        half = 0.5 * (hi - lo) * 1000
        if delta_soc_meV is not None:
            half = np.sqrt(max(half ** 2 - (0.5 * delta_soc_meV[j]) ** 2, 0.0))
        t_perp[j] = half
        energy[j] = 1000 * (0.5 * (lo + hi) - bands.fermi_level)
    kp = bands.kpoints_primitive[idx] @ (2 * np.pi * np.linalg.inv(bands.primitive_cell).T)
    dist = np.linalg.norm(kp - kp[0], axis=1)
    return TPerpCurve(k_distance_inv_angstrom=dist, t_perp_meV=t_perp, pair_energy_meV=energy)


def t_perp_curves(bands: BandStructure, band_index_primitive: int,
                  min_weight: float) -> dict[str, dict[str, TPerpCurve]]:
    """t⊥(k) per spin channel (``up``/``down``, or ``both`` without spin polarisation) along every
    segment of :data:`SEGMENTS`.  Through a magnet t⊥ depends on the spin: each channel tunnels
    through its own barrier."""
    names = ("up", "down") if bands.nspins == 2 else ("both",)
    return {name: {seg: interlayer_hopping(bands, band_index_primitive, s0, s1, spin=s, min_weight=min_weight)
                   for seg, (s0, s1) in SEGMENTS.items()}
            for s, name in enumerate(names)}


def spin_averaged(curves: dict[str, TPerpCurve]) -> TPerpCurve:
    """t⊥ of the spin-averaged tunnelling weight, √(⟨t⊥²⟩ over the spin channels), on one segment."""
    first = next(iter(curves.values()))
    t2 = np.mean([c.t_perp_meV ** 2 for c in curves.values()], axis=0)
    energy = np.mean([c.pair_energy_meV for c in curves.values()], axis=0)
    return TPerpCurve(k_distance_inv_angstrom=first.k_distance_inv_angstrom, t_perp_meV=np.sqrt(t2),
                      pair_energy_meV=energy)


def tunnelling_spin_filter(t_up_meV: float, t_down_meV: float) -> dict[str, float | None]:
    """The microscopic spin filter of the hopping through the magnet at one k: the ratio of the
    spin-resolved tunnelling weights (t⊥↑/t⊥↓)² and P = (t↑² − t↓²)/(t↑² + t↓²); None where a
    channel's pair was not found."""
    if not (np.isfinite(t_up_meV) and np.isfinite(t_down_meV)) or t_down_meV <= 0:
        return {"T_up_over_T_down": None, "spin_polarization": None}
    up2, down2 = t_up_meV ** 2, t_down_meV ** 2
    return {"T_up_over_T_down": float(up2 / down2), "spin_polarization": float((up2 - down2) / (up2 + down2))}


def hotspot_correlation(t_perp_meV: np.ndarray, delta_soc_meV: np.ndarray) -> float:
    """Pearson correlation of |t⊥(k)|² and |ΔSOC(k)| over the k-points where both are known."""
    a = np.asarray(t_perp_meV, dtype=float) ** 2
    b = np.abs(np.asarray(delta_soc_meV, dtype=float))
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        raise PhysicsGateError("t⊥/ΔSOC correlation: fewer than 3 common k-points")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


@dataclass
class HotSpots:
    """|t⊥(k)|² beside ΔSOC(k) along Γ–K on the stack's k-points (the hot-spot figure)."""

    k_distance_inv_angstrom: np.ndarray   # from Γ, the stack's unfolded path
    t_perp_meV: np.ndarray
    delta_soc_full_meV: np.ndarray        # the monolayer's ΔSOC interpolated onto those k
    correlation: float


def hot_spots(t_perp_G_K: TPerpCurve, soc_k_distance_inv_angstrom: np.ndarray,
              delta_soc_full_meV: np.ndarray) -> HotSpots:
    """Correlation of |t⊥|² with |ΔSOC| along Γ–K, both on the stack's k-points.

    The two curves come from different calculations with different path densities (the stack's
    unfolded path, the monolayer's SOC path), so ΔSOC(k) is interpolated linearly onto the
    stack's k-points by their fractional position along Γ–K (k / |ΓK| of each path: the same
    k in Å⁻¹ when the superconductor keeps its lattice in the stack, K onto K when it is strained).
    """
    k_soc = np.asarray(soc_k_distance_inv_angstrom, dtype=float)
    k_t = t_perp_G_K.k_distance_inv_angstrom
    if k_soc[-1] <= 0 or k_t[-1] <= 0:
        raise PhysicsGateError("hot spots: a Γ–K segment of zero length")
    split = np.interp(k_t / k_t[-1], k_soc / k_soc[-1], np.asarray(delta_soc_full_meV, dtype=float))
    return HotSpots(k_distance_inv_angstrom=k_t, t_perp_meV=t_perp_G_K.t_perp_meV, delta_soc_full_meV=split,
                    correlation=hotspot_correlation(t_perp_G_K.t_perp_meV, split))
