"""Band alignment and spin filtering: band edges against vacuum, tunnelling barriers, WKB transmission.

Definitions: ``docs/extraction.md`` (sections "Band alignment" and "Spin filter").  Energies in eV.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from isingflow.dft import BandStructure
from isingflow.extract.bands import lowest_state_above_ef
from isingflow.extract.units import HBAR2_OVER_2ME_EV_ANGSTROM2


class BandEdges(TypedDict):
    vbm_eV: float
    cbm_eV: float
    gap_eV: float


class SpinFilterRow(TypedDict):
    n_layers: int
    thickness_angstrom: float
    T_up_over_T_down: float
    spin_polarization: float
    weight_up: float


def band_edges(bands: BandStructure, label: str | None = None) -> dict[str, BandEdges]:
    """Valence-band maximum and conduction-band minimum per spin of an insulator (eV, absolute).

    ``label`` restricts to one k-point of the path (e.g. ``"K"``); otherwise the whole path.
    Keys: ``up``, ``down`` (spin-polarised) or ``both``.
    """
    e = bands.eigenvalues
    out = {}
    ks = [i for i, lab in bands.path_labels if lab == label] if label else list(range(bands.nkpts))
    if not ks:
        raise ValueError(f"{bands.source}: no k-point labelled {label!r}")
    names = ("up", "down") if bands.nspins == 2 else ("both",)
    for s, name in enumerate(names):
        occ = e[s][ks] <= bands.fermi_level
        vbm = float(np.max(np.where(occ, e[s][ks], -np.inf)))
        cbm = float(np.min(np.where(~occ, e[s][ks], np.inf)))
        out[name] = BandEdges(vbm_eV=vbm, cbm_eV=cbm, gap_eV=cbm - vbm)
    return out


def wkb_transmission(barrier_eV: float, thickness_angstrom: float, m_eff: float = 1.0) -> float:
    """WKB tunnelling probability exp(−2κd), κ = √(2 m* φ)/ħ, through a square barrier."""
    if barrier_eV <= 0:
        return 1.0
    kappa = np.sqrt(m_eff * barrier_eV / HBAR2_OVER_2ME_EV_ANGSTROM2)  # 1/Å
    return float(np.exp(-2 * kappa * thickness_angstrom))


def spin_filter(barrier_up_eV: float, barrier_down_eV: float, layer_thickness_angstrom: float,
                n_layers=(1, 2, 3), m_eff: float = 1.0) -> list[SpinFilterRow]:
    """Transmission ratio T↑/T↓ and spin polarisation P = (T↑−T↓)/(T↑+T↓) for n barrier layers."""
    out = []
    for n in n_layers:
        d = n * layer_thickness_angstrom
        tu, td = wkb_transmission(barrier_up_eV, d, m_eff), wkb_transmission(barrier_down_eV, d, m_eff)
        out.append(SpinFilterRow(n_layers=int(n), thickness_angstrom=d, T_up_over_T_down=tu / td,
                                 spin_polarization=(tu - td) / (tu + td), weight_up=tu / (tu + td)))
    return out


def vacuum_level_eV(gs: dict) -> float:
    """Mean of the bottom and top vacuum levels of a ground-state summary (``gs.json``)."""
    return 0.5 * (gs["vacuum_level_bottom_eV"] + gs["vacuum_level_top_eV"])


def _relative_to(edges: dict[str, BandEdges], level_eV: float) -> dict[str, BandEdges]:
    return {spin: BandEdges(vbm_eV=v["vbm_eV"] - level_eV, cbm_eV=v["cbm_eV"] - level_eV, gap_eV=v["gap_eV"])
            for spin, v in edges.items()}


@dataclass
class Alignment:
    """The superconductor's E_F and the magnet's band edges on a common vacuum scale, and the barriers."""

    fermi_level_vs_vacuum_eV: float                 # superconductor monolayer
    edges_vs_vacuum_eV: dict[str, BandEdges]        # magnet monolayer, whole path
    edges_at_K_vs_vacuum_eV: dict[str, BandEdges]   # magnet monolayer, at K
    barrier_up_eV: float                            # CBM↑ − E_F (vacuum-aligned monolayers, global CBM)
    barrier_down_eV: float
    barrier_at_K_up_eV: float                       # CB↑(K) − E_F (as the paper aligns them, at K)
    barrier_at_K_down_eV: float
    barrier_in_heterostructure_up_eV: float         # lowest empty magnet state above E_F, in the stack
    barrier_in_heterostructure_down_eV: float

    def figure_data(self) -> dict:
        """What :func:`isingflow.plots.dft_figures.plot_level_alignment` draws."""
        return {"nbse2_fermi_level_vs_vacuum_eV": self.fermi_level_vs_vacuum_eV,
                "crbr3_edges_vs_vacuum_eV": self.edges_vs_vacuum_eV,
                "crbr3_edges_at_K_vs_vacuum_eV": self.edges_at_K_vs_vacuum_eV}


def vacuum_aligned_barriers(sc_gs: dict, mag_gs: dict, mag_bands: BandStructure, label: str | None = None):
    """E_F of the superconductor vs its vacuum, the magnet's band edges vs its vacuum (whole path, or
    at ``label``), and the barriers CBM_σ − E_F per spin (``up``/``down``): Anderson's rule."""
    ef_vs_vac = sc_gs["fermi_level_eV"] - vacuum_level_eV(sc_gs)
    edges = _relative_to(band_edges(mag_bands, label), vacuum_level_eV(mag_gs))
    return ef_vs_vac, edges, {spin: e["cbm_eV"] - ef_vs_vac for spin, e in edges.items()}


def band_alignment(sc_gs: dict, mag_gs: dict, mag_bands: BandStructure, het_mesh: BandStructure,
                   magnet_layers: list[int], min_layer_weight: float) -> Alignment:
    """Tunnelling barriers of the magnet for each spin, two ways.

    Vacuum-aligned monolayers: barrier = CBM_σ(magnet) − E_F(superconductor), both against their
    own vacuum level, with the global CBM of the path and with the lowest conduction state at K
    (the paper's alignment; the Fermi-surface pockets of NbSe2 around K tunnel through it).
    Inside the heterostructure: the lowest empty state with weight >
    ``min_layer_weight`` on ``magnet_layers`` above the stack's E_F.
    """
    ef_vs_vac, edges, barriers = vacuum_aligned_barriers(sc_gs, mag_gs, mag_bands)
    _, edges_K, barriers_K = vacuum_aligned_barriers(sc_gs, mag_gs, mag_bands, "K")
    het = [lowest_state_above_ef(het_mesh, magnet_layers, i, min_layer_weight) for i in (0, 1)]
    return Alignment(fermi_level_vs_vacuum_eV=ef_vs_vac, edges_vs_vacuum_eV=edges, edges_at_K_vs_vacuum_eV=edges_K,
                     barrier_up_eV=barriers["up"], barrier_down_eV=barriers["down"],
                     barrier_at_K_up_eV=barriers_K["up"], barrier_at_K_down_eV=barriers_K["down"],
                     barrier_in_heterostructure_up_eV=het[0], barrier_in_heterostructure_down_eV=het[1])
