"""Every DFT-derived number of the heterostructure: one entry point, :func:`heterostructure_parameters`.

From the band files of the heterostructure's base variant, its two-layer reference without the
magnet, the two monolayers and the stacking ensemble's ⟨λex⟩: the exchange splitting λex, the
local moments, the band alignment and WKB spin filter, t⊥(k) and the hot spots, and the
equivalent field B of ⟨λex⟩.  Definitions: ``docs/extraction.md``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Mapping, TypedDict

import numpy as np

from isingflow.dft import BandStructure, read_bands
from isingflow.extract.alignment import Alignment, BandEdges, SpinFilterRow, band_alignment, spin_filter
from isingflow.extract.bands import (
    ExchangeSplitting,
    exchange_splitting,
    ising_splitting,
    layer_moments,
    monolayer_soc_parameters,
)
from isingflow.extract.errors import PhysicsGateError
from isingflow.extract.hopping import (
    HotSpots,
    TPerpCurve,
    hot_spots,
    spin_averaged,
    t_perp_curves,
    tunnelling_spin_filter,
)
from isingflow.extract.units import field_from_exchange, tesla_to_tc_units

log = logging.getLogger(__name__)

_JSON_INPUTS = ("het_gs", "sc_gs", "mag_gs", "ensemble")
_BAND_INPUTS = ("het_mesh", "het_unfolded", "bilayer_unfolded", "sc_soc", "sc_nosoc", "mag_bands")


@dataclass
class HeterostructureInputs:
    """What :func:`heterostructure_parameters` reads (the inputs of rule ``extract_heterostructure``)."""

    het_gs: dict                      # gs.json of the heterostructure's base variant
    het_mesh: BandStructure           # its SCF-mesh bands with projections
    het_unfolded: BandStructure       # its unfolded band path
    bilayer_unfolded: BandStructure   # the two superconductor layers without the magnet, unfolded
    sc_gs: dict                       # superconductor monolayer: gs.json (vacuum levels)
    sc_soc: BandStructure             # ... bands with and without SOC
    sc_nosoc: BandStructure
    mag_gs: dict                      # magnet monolayer: gs.json (vacuum levels)
    mag_bands: BandStructure          # ... spin-polarised bands without SOC
    ensemble: dict                    # results/parameters/ensemble/<system>.json

    @classmethod
    def from_files(cls, paths: Mapping[str, Any]) -> HeterostructureInputs:
        """Read every input from ``paths`` (field name → file, e.g. ``dict(snakemake.input.items())``)."""
        data: dict[str, Any] = {}
        for name in _JSON_INPUTS:
            with open(paths[name]) as fh:
                data[name] = json.load(fh)
        data.update({name: read_bands(paths[name]) for name in _BAND_INPUTS})
        return cls(**data)


class EquivalentField(TypedDict):
    B_equiv_T: float
    B_equiv_parallel_to_magnet: bool
    B_equiv_half_convention_T: float
    B_equiv_full_convention_T: float
    B_equiv_convention: str
    B_equiv_Tc_units: float
    Tc_K: float


class TPerpRecord(TypedDict):
    k_inv_angstrom: np.ndarray
    t_perp_meV: np.ndarray


class HeterostructureParameters(EquivalentField, total=False):
    """``results/parameters/<heterostructure>.json`` (the rule adds ``provenance``); the file ends
    with the :class:`EquivalentField` keys."""

    system: str
    profile: str
    code: str
    lambda_ex_meV: float                       # Fermi-surface average on the SCF mesh
    lambda_ex_path_average_meV: float
    lambda_ex_at_G_meV: float | None
    lambda_ex_at_K_meV: float | None
    m_Nb_muB: list[float]
    m_Nb_mean_abs_muB: float
    m_Nb_layer_integrated_muB: list[float] | None   # magnetisation over each superconductor layer's slab
    m_Cr_muB: list[float]
    total_moment_muB: float
    nbse2_fermi_level_vs_vacuum_eV: float
    crbr3_band_edges_vs_vacuum_eV: dict[str, BandEdges]
    crbr3_band_edges_at_K_vs_vacuum_eV: dict[str, BandEdges]
    barrier_up_eV: float                       # vacuum-aligned, global CBM of the magnet
    barrier_down_eV: float
    barrier_at_K_up_eV: float                  # vacuum-aligned, conduction state at K (the paper's)
    barrier_at_K_down_eV: float
    barrier_in_heterostructure_up_eV: float
    barrier_in_heterostructure_down_eV: float
    spin_polarization: dict[str, float]        # n_layers → P, vacuum-aligned barriers
    spin_filter_vacuum_aligned: list[SpinFilterRow]
    spin_filter_heterostructure: list[SpinFilterRow]
    t_perp_Gamma_meV: float                    # spin-averaged: √⟨t⊥²⟩ over the two spins
    t_perp_K_meV: float
    t_perp_M_meV: float
    t_perp_Gamma_up_meV: float
    t_perp_Gamma_down_meV: float
    t_perp_K_up_meV: float
    t_perp_K_down_meV: float
    spin_filter_tunnelling: dict[str, dict]    # "Gamma"/"K" → (t⊥↑/t⊥↓)², P
    bilayer_t_perp_Gamma_meV: float
    bilayer_t_perp_K_meV: float
    t_perp_curves: dict[str, TPerpRecord]      # "<system>|<spin>|<segment>", spin up/down/both
    hotspot_correlation_tperp2_vs_abs_delta_soc: float
    ensemble: dict
    lambda_ex_avg_meV: float
    lambda_ex_grid_change_meV: float | None   # ⟨λex⟩ change between the two finest shift grids


@dataclass
class HeterostructureResult:
    """:func:`heterostructure_parameters`'s result: the JSON record and what the figures draw."""

    parameters: HeterostructureParameters
    alignment: Alignment                                # Fig. 1b
    t_perp: dict[str, dict[str, dict[str, TPerpCurve]]]  # Fig. 1d: system → spin → segment → t⊥(k)
    hot_spots: HotSpots                                 # hot-spot figure
    unfolded: BandStructure                             # Fig. 1c
    superconductor_layers: list[int]
    lambda_ex: ExchangeSplitting                        # on the SCF mesh


def equivalent_field(lambda_ex_avg_meV: float, convention: str, Tc_K: float) -> EquivalentField:
    """The field B of ⟨λex⟩ in tesla (both conventions) and in units of Tc0.

    B is a field strength, |⟨λex⟩|.  Lateral shifts can split the superconductor's bands parallel
    or antiparallel to the magnet's moment (λex of either sign), so the average can be small or
    negative; its sign is kept as the field's direction relative to the magnet.
    """
    B_half = field_from_exchange(abs(lambda_ex_avg_meV), "half")
    B_full = field_from_exchange(abs(lambda_ex_avg_meV), "full")
    B_used = B_half if convention == "half" else B_full
    return EquivalentField(B_equiv_T=B_used, B_equiv_parallel_to_magnet=lambda_ex_avg_meV >= 0,
                           B_equiv_half_convention_T=B_half, B_equiv_full_convention_T=B_full,
                           B_equiv_convention="µB·B = λex/2" if convention == "half" else "µB·B = λex",
                           B_equiv_Tc_units=tesla_to_tc_units(B_used, Tc_K), Tc_K=Tc_K)


def _moments(inputs: HeterostructureInputs, settings: dict[str, Any]) -> tuple[list[float], list[float]]:
    """Local moments of the superconductor's and the magnet's atoms; the magnet's are gated."""
    gs, mesh = inputs.het_gs, inputs.het_mesh
    if not gs["spin_polarized"]:
        raise PhysicsGateError("the heterostructure calculation is not spin-polarised")
    m_sc = layer_moments(gs["magmoms_muB"], mesh.symbols, mesh.atom_layers, settings["superconductor_element"],
                         settings["superconductor_layers"])
    m_mag = layer_moments(gs["magmoms_muB"], mesh.symbols, mesh.atom_layers, settings["magnet_element"],
                          settings["magnet_layers"])
    lo, hi = settings["gates"]["magnet_moment_muB"]
    if not all(lo <= abs(m) <= hi for m in m_mag):
        raise PhysicsGateError(f"magnet moments {m_mag} µB outside {lo}–{hi} µB "
                               "(config key 'extract.gates.magnet_moment_muB')")
    return m_sc, m_mag


def _slab_moments(gs: dict, layers: list[int]) -> list[float] | None:
    """The moments integrated over the slabs of ``layers`` (``gs.json`` ``layer_moments_muB``; None
    for a ground state that did not record them, e.g. a parsed VASP/QE run)."""
    slabs = gs.get("layer_moments_muB")
    return None if not slabs else [float(slabs[str(lay)]) for lay in layers]


def _spin_filters(align: Alignment, sf: dict[str, Any]) -> tuple[list[SpinFilterRow], list[SpinFilterRow]]:
    """WKB spin filter with the vacuum-aligned barriers (floored at 1 µeV) and with those inside the stack."""
    args = (sf["layer_thickness_angstrom"], sf["n_layers"], sf["effective_mass"])
    vac = spin_filter(max(align.barrier_up_eV, 1e-6), max(align.barrier_down_eV, 1e-6), *args)
    het = spin_filter(align.barrier_in_heterostructure_up_eV, align.barrier_in_heterostructure_down_eV, *args)
    return vac, het


def _t_perp_record(curves: dict[str, dict[str, dict[str, TPerpCurve]]], system: str, bilayer: str) -> dict[str, Any]:
    """The t⊥ numbers of the record: spin-averaged at Γ, K, M, per spin at Γ and K, the tunnelling
    spin filter, the bilayer's, and every curve."""
    het = {seg: spin_averaged({s: c[seg] for s, c in curves[system].items()}) for seg in ("G-M", "G-K")}
    bil = {seg: spin_averaged({s: c[seg] for s, c in curves[bilayer].items()}) for seg in ("G-M", "G-K")}
    by_spin = curves[system]
    up, down = by_spin.get("up", by_spin.get("both")), by_spin.get("down", by_spin.get("both"))
    return {"t_perp_Gamma_meV": het["G-M"].at_start_meV, "t_perp_K_meV": het["G-K"].at_end_meV,
            "t_perp_M_meV": het["G-M"].at_end_meV,
            "t_perp_Gamma_up_meV": up["G-M"].at_start_meV, "t_perp_Gamma_down_meV": down["G-M"].at_start_meV,
            "t_perp_K_up_meV": up["G-K"].at_end_meV, "t_perp_K_down_meV": down["G-K"].at_end_meV,
            "spin_filter_tunnelling": {
                "Gamma": tunnelling_spin_filter(up["G-M"].at_start_meV, down["G-M"].at_start_meV),
                "K": tunnelling_spin_filter(up["G-K"].at_end_meV, down["G-K"].at_end_meV)},
            "bilayer_t_perp_Gamma_meV": bil["G-M"].at_start_meV, "bilayer_t_perp_K_meV": bil["G-K"].at_end_meV,
            "t_perp_curves": {f"{name}|{spin}|{seg}": TPerpRecord(k_inv_angstrom=c.k_distance_inv_angstrom,
                                                                  t_perp_meV=c.t_perp_meV)
                              for name, spins in curves.items() for spin, segs in spins.items()
                              for seg, c in segs.items()}}


def heterostructure_parameters(inputs: HeterostructureInputs, settings: dict[str, Any], system: str,
                               bilayer: str, profile: str) -> HeterostructureResult:
    """Every DFT-derived number of the heterostructure ``system`` (the rule's JSON record and figure data).

    ``settings``: the ``extract`` config section with the heterostructure's roles
    (:meth:`isingflow.study.Heterostructure.extract_settings`); ``bilayer``: the superconductor
    bilayer without the magnet (its ``superconductor_bilayer``); ``profile`` is recorded.
    Raises :class:`PhysicsGateError` when the stack is not spin-polarised or the magnet's moments
    lie outside ``extract.gates.magnet_moment_muB``.
    """
    sc_layers, lam_cfg = settings["superconductor_layers"], settings["lambda_ex"]
    m_sc, m_mag = _moments(inputs, settings)
    lam_mesh = exchange_splitting(inputs.het_mesh, sc_layers, **lam_cfg)
    lam_path = exchange_splitting(inputs.het_unfolded, sc_layers, **lam_cfg)
    if lam_mesh.average_meV < 0:
        log.warning("λex < 0: the NbSe2 bands are split antiparallel to the CrBr3 moment")
    log.info("λex (Fermi-surface average on the SCF mesh) = %.2f meV; along the path %.2f meV; at labels %s",
             lam_mesh.average_meV, lam_path.average_meV, lam_path.at_label_meV)
    align = band_alignment(inputs.sc_gs, inputs.mag_gs, inputs.mag_bands, inputs.het_mesh,
                           settings["magnet_layers"], lam_cfg["min_layer_weight"])
    filt_vac, filt_het = _spin_filters(align, settings["spin_filter"])
    n_d = monolayer_soc_parameters(inputs.sc_soc, inputs.sc_nosoc)["band_index_nosoc"]
    curves = {name: t_perp_curves(b, n_d, lam_cfg["min_layer_weight"])
              for name, b in ((system, inputs.het_unfolded), (bilayer, inputs.bilayer_unfolded))}
    soc = ising_splitting(inputs.sc_soc, inputs.sc_nosoc, "G", "K")
    spots = hot_spots(spin_averaged({s: c["G-K"] for s, c in curves[system].items()}),
                      soc.k_distance_inv_angstrom, soc.splitting_meV)
    ens = {k: v for k, v in inputs.ensemble.items() if k != "provenance"}
    log.info("⟨λex⟩ = %.3f meV (grid change %s) from %s (%s)", ens["lambda_ex_avg_meV"],
             ens.get("lambda_ex_grid_change_meV"), ens["system"], ens["method"])
    params = HeterostructureParameters(
        system=system, profile=profile, code=inputs.het_mesh.code,
        lambda_ex_meV=lam_mesh.average_meV, lambda_ex_path_average_meV=lam_path.average_meV,
        lambda_ex_at_G_meV=lam_path.at_label_meV.get("G"), lambda_ex_at_K_meV=lam_path.at_label_meV.get("K"),
        m_Nb_muB=m_sc, m_Nb_mean_abs_muB=float(np.mean(np.abs(m_sc))),
        m_Nb_layer_integrated_muB=_slab_moments(inputs.het_gs, sc_layers),
        m_Cr_muB=m_mag, total_moment_muB=inputs.het_gs["magmom_total_muB"],
        nbse2_fermi_level_vs_vacuum_eV=align.fermi_level_vs_vacuum_eV,
        crbr3_band_edges_vs_vacuum_eV=align.edges_vs_vacuum_eV,
        crbr3_band_edges_at_K_vs_vacuum_eV=align.edges_at_K_vs_vacuum_eV,
        barrier_up_eV=align.barrier_up_eV, barrier_down_eV=align.barrier_down_eV,
        barrier_at_K_up_eV=align.barrier_at_K_up_eV, barrier_at_K_down_eV=align.barrier_at_K_down_eV,
        barrier_in_heterostructure_up_eV=align.barrier_in_heterostructure_up_eV,
        barrier_in_heterostructure_down_eV=align.barrier_in_heterostructure_down_eV,
        spin_polarization={str(r["n_layers"]): r["spin_polarization"] for r in filt_vac},
        spin_filter_vacuum_aligned=filt_vac, spin_filter_heterostructure=filt_het,
        **_t_perp_record(curves, system, bilayer),
        hotspot_correlation_tperp2_vs_abs_delta_soc=spots.correlation,
        ensemble=ens, lambda_ex_avg_meV=ens["lambda_ex_avg_meV"],
        lambda_ex_grid_change_meV=ens.get("lambda_ex_grid_change_meV"),
        **equivalent_field(ens["lambda_ex_avg_meV"], settings["field"]["convention"], settings["field"]["Tc_K"]))
    return HeterostructureResult(parameters=params, alignment=align, t_perp=curves, hot_spots=spots,
                                 unfolded=inputs.het_unfolded, superconductor_layers=sc_layers, lambda_ex=lam_mesh)
