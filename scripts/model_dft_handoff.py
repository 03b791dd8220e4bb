"""Rule entry point: model dI/dV with the field (and optionally Δ_SOC) from the DFT parameters."""
import csv
import json
import math

import numpy as np

from isingflow.model import conductance, order_parameter, peak_and_fwhm
from isingflow.plots.model_figures import plot_handoff
from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
cfg = smk.params.cfg
het = json.load(open(smk.input.het))
mono = json.load(open(smk.input.monolayer))
B = float(het["B_equiv_Tc_units"])
k_B_meV = 0.08617333262 * het["Tc_K"]
delta_soc = mono["delta_soc_half_K_meV"] / k_B_meV if cfg.get("use_dft_delta_soc") else cfg.get("delta_soc", 20.0)
n_layers = str(cfg.get("spin_filter_layers", 1))
w_up = next(r["weight_up"] for r in het["spin_filter_vacuum_aligned"] if str(r["n_layers"]) == n_layers)
if not het["B_equiv_parallel_to_magnet"]:
    # the exchange field points against the CrBr3 moment: the barrier favours the model's minority spin
    w_up = 1.0 - w_up
    log.info("⟨λex⟩ < 0: field antiparallel to the magnet; spin-filter weights swapped (w+ = %.3f)", w_up)
T, eta, gamma0 = cfg.get("T", 0.5), cfg.get("eta", 1.0), cfg.get("gamma0", 0.01)
V = np.linspace(0.0, cfg.get("v_max", 5.0), 2001)
rows, summary = [], {}
for name, theta in (("par", 0.0), ("perp", math.pi / 2)):
    d_o = order_parameter(T, B, theta_B=theta, delta_soc=delta_soc, eta=eta)
    G = conductance(V, T, B, theta_B=theta, delta_soc=delta_soc, eta=eta, gamma0=gamma0,
                    spin_filter=(w_up, 1 - w_up), delta=d_o)
    if d_o > 0:
        vp, fwhm = peak_and_fwhm(V, G, d_o)
    else:  # the field destroys superconductivity: no coherence peak to report
        vp, fwhm = float("nan"), float("nan")
        log.warning("%s: Δo = 0 at B = %.4g Tc0 (normal state); no coherence peak", name, B)
    summary[name] = {"delta_o": d_o, "V_peak": vp, "fwhm": fwhm}
    rows += [{"direction": name, "B": B, "V": float(v), "G": float(g)} for v, g in zip(V, G)]
    log.info("%s: Δo = %.6f, V_p = %.5f, FWHM = %.5f (B = %.4g Tc0)", name, d_o, vp, fwhm, B)
with atomic_path(smk.output.csv) as tmp, open(tmp, "w", newline="") as fh:
    wr = csv.DictWriter(fh, fieldnames=["direction", "B", "V", "G"])
    wr.writeheader()
    wr.writerows(rows)
write_json(smk.output.json, {
    "B_Tc0": B, "B_T": het["B_equiv_T"], "B_convention": het["B_equiv_convention"],
    "lambda_ex_avg_meV": het["lambda_ex_avg_meV"], "delta_soc_Tc0": delta_soc,
    "delta_soc_source": "DFT (monolayer, half splitting at K)" if cfg.get("use_dft_delta_soc") else "config",
    "spin_filter_weight_up": w_up, "B_parallel_to_magnet": het["B_equiv_parallel_to_magnet"], "T": T, "eta": eta, "gamma0": gamma0, "results": summary,
    "provenance": provenance(inputs=[smk.input.het, smk.input.monolayer], settings=cfg)})
plot_handoff(rows, summary, B, het["B_equiv_T"], smk.output.figure)
