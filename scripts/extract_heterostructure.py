"""Rule entry point: λex, moments, band alignment, spin filter, t⊥(k), hot spots, ⟨λex⟩ → B.

Reads the normalised band files of the heterostructure's base variant, its NbSe2 bilayer reference
and the two monolayers, and ⟨λex⟩ from rule extract_ensemble; writes
results/parameters/<heterostructure>.json and Fig. 1b, 1c, 1d and the hot-spot plot.
"""
import json

import numpy as np

from isingflow import extract as ex
from isingflow.dft import read_bands
from isingflow.plots import dft_figures as figs
from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
cfg = smk.params.extract
sc_layers, mag_layers = cfg["superconductor_layers"], cfg["magnet_layers"]
lam_cfg = cfg["lambda_ex"]


def load_json(path):
    with open(path) as fh:
        return json.load(fh)


# --- λex and moments of the base heterostructure -------------------------------------------
gs = load_json(smk.input.het_gs)
mesh = read_bands(smk.input.het_mesh)
unf = read_bands(smk.input.het_unfolded)
if not gs["spin_polarized"]:
    raise ex.PhysicsGateError(f"{smk.input.het_gs}: the heterostructure calculation is not spin-polarised")
m_sc = ex.layer_moments(gs["magmoms_muB"], mesh.symbols, mesh.atom_layers, cfg.get("superconductor_element", "Nb"), sc_layers)
m_mag = ex.layer_moments(gs["magmoms_muB"], mesh.symbols, mesh.atom_layers, cfg.get("magnet_element", "Cr"), mag_layers)
lo, hi = cfg["gates"]["magnet_moment_muB"]
if not all(lo <= abs(m) <= hi for m in m_mag):
    raise ex.PhysicsGateError(f"magnet moments {m_mag} µB outside {lo}–{hi} µB (config key 'extract.gates.magnet_moment_muB')")
lam_mesh = ex.exchange_splitting(mesh, sc_layers, **lam_cfg)
lam_path = ex.exchange_splitting(unf, sc_layers, **lam_cfg)
if lam_mesh.average_meV < 0:
    log.warning("λex < 0: the NbSe2 bands are split antiparallel to the CrBr3 moment")
log.info("λex (Fermi-surface average on the SCF mesh) = %.2f meV; along the path %.2f meV; at labels %s",
         lam_mesh.average_meV, lam_path.average_meV, lam_path.at_label_meV)

# --- band alignment and spin filter ---------------------------------------------------------
sc_gs = load_json(smk.input.sc_gs)
mag_gs = load_json(smk.input.mag_gs)
mag_bands = read_bands(smk.input.mag_bands)
ef_vs_vac = sc_gs["fermi_level_eV"] - 0.5 * (sc_gs["vacuum_level_bottom_eV"] + sc_gs["vacuum_level_top_eV"])
mag_vac = 0.5 * (mag_gs["vacuum_level_bottom_eV"] + mag_gs["vacuum_level_top_eV"])
edges = {}
for spin, vals in ex.band_edges(mag_bands).items():
    edges[spin] = {k: v - mag_vac if k != "gap_eV" else v for k, v in vals.items()}
edges_K = {spin: {k: v - mag_vac if k != "gap_eV" else v for k, v in vals.items()}
           for spin, vals in ex.band_edges(mag_bands, "K").items()}
barrier_up = edges["up"]["cbm_eV"] - ef_vs_vac
barrier_down = edges["down"]["cbm_eV"] - ef_vs_vac
het_barrier = {s: ex.lowest_state_above_ef(mesh, mag_layers, i, lam_cfg["min_layer_weight"]) for i, s in enumerate(("up", "down"))}
sf = cfg["spin_filter"]
filt_vac = ex.spin_filter(max(barrier_up, 1e-6), max(barrier_down, 1e-6), sf["layer_thickness_angstrom"],
                          sf["n_layers"], sf["effective_mass"])
filt_het = ex.spin_filter(het_barrier["up"], het_barrier["down"], sf["layer_thickness_angstrom"],
                          sf["n_layers"], sf["effective_mass"])
alignment = {"nbse2_fermi_level_vs_vacuum_eV": ef_vs_vac, "crbr3_edges_vs_vacuum_eV": edges,
             "crbr3_edges_at_K_vs_vacuum_eV": edges_K}
figs.plot_level_alignment(alignment, smk.output.fig1b)

# --- t⊥(k) and hot spots ---------------------------------------------------------------------
sc_soc = read_bands(smk.input.sc_soc)
sc_nosoc = read_bands(smk.input.sc_nosoc)
n_d = ex.monolayer_soc_parameters(sc_soc, sc_nosoc)["band_index_nosoc"]
bil = read_bands(smk.input.bilayer_unfolded)
curves, tperp = {}, {}
for name, b in ((smk.params.het, unf), (smk.params.bilayer, bil)):
    curves[name] = {}
    for seg, (s0, s1) in {"G-M": ("G", "M"), "G-K": ("G", "K")}.items():
        r = ex.interlayer_hopping(b, n_d, s0, s1, spin=0, min_weight=lam_cfg["min_layer_weight"])
        curves[name][seg] = (r["k_distance_inv_angstrom"], r["t_perp_meV"])
        tperp[(name, seg)] = r
figs.plot_t_perp(curves, smk.output.fig1d)
het_gk = tperp[(smk.params.het, "G-K")]
split = ex.ising_splitting(sc_soc, sc_nosoc, "G", "K")
n = min(len(split.splitting_meV), len(het_gk["t_perp_meV"]))
corr = ex.hotspot_correlation(het_gk["t_perp_meV"][:n], split.splitting_meV[:n])
figs.plot_hotspots(het_gk["k_distance_inv_angstrom"][:n], het_gk["t_perp_meV"][:n], split.splitting_meV[:n], corr,
                   smk.output.hotspots)
figs.plot_trilayer_bands(unf, sc_layers, smk.output.fig1c, lambda_ex_meV=lam_mesh.average_meV)


def at(r, which):
    t = r["t_perp_meV"]
    i = 0 if which == "start" else len(t) - 1
    return float(t[i])


# --- ⟨λex⟩ from the registry × distance ensemble (rule extract_ensemble) -> field ---------------
ens = {k: v for k, v in load_json(smk.input.ensemble).items() if k != "provenance"}
log.info("⟨λex⟩ = %.3f ± %.3f meV from %s (%s)", ens["lambda_ex_avg_meV"], ens["lambda_ex_avg_err_meV"],
         ens["system"], ens["method"])

field = cfg["field"]
# B is a field strength: |⟨λex⟩|.  Registries can split the NbSe2 bands parallel or antiparallel to
# the CrBr3 moment (λex of either sign), so the average can be small or negative; its sign is kept
# as the field's direction relative to the magnet (the model swaps the spin-filter weights).
parallel = ens["lambda_ex_avg_meV"] >= 0
B_half = ex.field_from_exchange(abs(ens["lambda_ex_avg_meV"]), "half")
B_full = ex.field_from_exchange(abs(ens["lambda_ex_avg_meV"]), "full")
B_used = B_half if field["convention"] == "half" else B_full

out = {
    "system": smk.params.het, "profile": smk.params.profile, "code": mesh.code,
    "lambda_ex_meV": lam_mesh.average_meV,
    "lambda_ex_path_average_meV": lam_path.average_meV,
    "lambda_ex_at_G_meV": lam_path.at_label_meV.get("G"),
    "lambda_ex_at_K_meV": lam_path.at_label_meV.get("K"),
    "m_Nb_muB": m_sc, "m_Nb_mean_abs_muB": float(np.mean(np.abs(m_sc))),
    "m_Cr_muB": m_mag, "total_moment_muB": gs["magmom_total_muB"],
    "nbse2_fermi_level_vs_vacuum_eV": ef_vs_vac,
    "crbr3_band_edges_vs_vacuum_eV": edges, "crbr3_band_edges_at_K_vs_vacuum_eV": edges_K,
    "barrier_up_eV": barrier_up, "barrier_down_eV": barrier_down,
    "barrier_in_heterostructure_up_eV": het_barrier["up"], "barrier_in_heterostructure_down_eV": het_barrier["down"],
    "spin_polarization": {str(r["n_layers"]): r["spin_polarization"] for r in filt_vac},
    "spin_filter_vacuum_aligned": filt_vac, "spin_filter_heterostructure": filt_het,
    "t_perp_Gamma_meV": at(tperp[(smk.params.het, "G-M")], "start"),
    "t_perp_K_meV": at(tperp[(smk.params.het, "G-K")], "end"),
    "t_perp_M_meV": at(tperp[(smk.params.het, "G-M")], "end"),
    "bilayer_t_perp_Gamma_meV": at(tperp[(smk.params.bilayer, "G-M")], "start"),
    "bilayer_t_perp_K_meV": at(tperp[(smk.params.bilayer, "G-K")], "end"),
    "t_perp_curves": {f"{name}|{seg}": {"k_inv_angstrom": r["k_distance_inv_angstrom"], "t_perp_meV": r["t_perp_meV"]}
                      for (name, seg), r in tperp.items()},
    "hotspot_correlation_tperp2_vs_abs_delta_soc": corr,
    "ensemble": ens,
    "lambda_ex_avg_meV": ens["lambda_ex_avg_meV"], "lambda_ex_avg_err_meV": ens["lambda_ex_avg_err_meV"],
    "B_equiv_T": B_used, "B_equiv_parallel_to_magnet": parallel, "B_equiv_half_convention_T": B_half, "B_equiv_full_convention_T": B_full,
    "B_equiv_convention": "µB·B = λex/2" if field["convention"] == "half" else "µB·B = λex",
    "B_equiv_Tc_units": ex.tesla_to_tc_units(B_used, field["Tc_K"]),
    "Tc_K": field["Tc_K"],
    "provenance": provenance(inputs=list(smk.input), settings=cfg),
}
write_json(smk.output.params, out)
log.info("wrote %s", smk.output.params)
