"""Rule entry point: V_Se supercell spin density → moments, radial profile, R_d, Fig. 3a."""
import json
import time

import numpy as np

from isingflow.plots.vacancy import plot_radial_profile, plot_spin_density_map
from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging
from isingflow.vacancy import analyse_gpw, load_manifest, public

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
settings = smk.params.vacancy
t0 = time.perf_counter()
manifest = load_manifest(smk.input.manifest)
gs = json.loads(open(smk.input.summary).read())
res = analyse_gpw(smk.input.gpw, manifest, settings)
maps = res.pop("_maps")
out = {"system": smk.params.system, "profile": smk.params.profile, **public(res),
       "dft_ground_state": {k: gs.get(k) for k in ("energy_eV", "fermi_level_eV", "magmom_total_muB", "kpts_size",
                                                  "scf_iterations", "spin_polarized")},
       "paper": {"vacancy_moment_muB": 0.6, "R_d_angstrom": 15.0, "supercell_N": 10,
                 "note": "PRB 104, L060501: ≈0.6 µB in a 10×10×1 (300-atom) supercell; length ~15 Å, "
                         "'commensurate with the in-plane lattice constant of our large supercell'"},
       "analysis_seconds": time.perf_counter() - t0}
out["provenance"] = provenance(inputs=[smk.input.gpw, smk.input.summary, smk.input.structure, smk.input.manifest],
                               settings=settings)
write_json(smk.output.params, out)
with atomic_path(smk.output.maps) as tmp:
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, sigma_nb_muB_per_angstrom2=maps["sigma_nb"], sigma_muB_per_angstrom2=maps["sigma"],
                            r_angstrom=maps["r"], cell_angstrom=maps["cell"],
                            vacancy_position_angstrom=np.array(res["vacancy_position_angstrom"]))
fig = settings["figure"]
N = res["supercell_N"]
plot_spin_density_map(maps["sigma_nb"], maps["cell"], res["vacancy_position_angstrom"], smk.output.fig3a,
                      positions=maps["positions"], symbols=maps["symbols"], tiles=int(fig["tiles"]),
                      color_scale=fig["color_scale"], linthresh_fraction=float(fig["linthresh_fraction"]),
                      moment_muB=res["vacancy_moment_muB"], R_d=res["R_d_angstrom"],
                      half_width=res["plane_half_width_angstrom"],
                      title=f"Fig. 3a: V$_{{Se}}$ spin density, Nb plane, {N}×{N}×1 ({smk.params.profile})")
plot_radial_profile(out, smk.output.radial,
                    title=f"V$_{{Se}}$ in {N}×{N}×1 NbSe$_2$: radial profile ({smk.params.profile})")
log.info("M = %.4f µB (GPAW %.4f), |M| = %.4f µB, R_d = %.2f Å, ξ = %s Å, r_in = %.2f Å, sign changes at %s",
         res["vacancy_moment_muB"], res["gpaw_total_moment_muB"], res["vacancy_abs_moment_muB"], res["R_d_angstrom"],
         res["R_d_exp_angstrom"], res["r_inscribed_angstrom"], res["sign_changes_radii_angstrom"])
for note in res["notes"]:
    log.warning(note)
