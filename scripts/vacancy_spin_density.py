"""Rule entry point: V_Se supercell spin density → moments, radial profile, R_d, Fig. 3a
(:func:`isingflow.extract.vacancy.analyse_gpw`)."""
import json
import time

from isingflow.extract.vacancy import analyse_gpw, load_manifest, vacancy_record, write_maps
from isingflow.plots.vacancy import plot_vacancy_figures
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
settings = smk.params.vacancy
t0 = time.perf_counter()
res = analyse_gpw(smk.input.gpw, load_manifest(smk.input.manifest), settings)
with open(smk.input.summary) as fh:
    out = vacancy_record(res, json.load(fh), smk.params.system, smk.params.profile)
out["analysis_seconds"] = time.perf_counter() - t0
out["provenance"] = provenance(inputs=[smk.input.gpw, smk.input.summary, smk.input.structure, smk.input.manifest],
                               settings=settings)
write_json(smk.output.params, out)
write_maps(smk.output.maps, res)
plot_vacancy_figures(res, settings["figure"], smk.params.profile, smk.output.fig3a, smk.output.radial)
p = res.parameters
log.info("M = %.4f µB (GPAW %.4f), |M| = %.4f µB, R_d = %.2f Å, ξ = %s Å, r_in = %.2f Å, sign changes at %s",
         p["vacancy_moment_muB"], p["gpaw_total_moment_muB"], p["vacancy_abs_moment_muB"], p["R_d_angstrom"],
         p["R_d_exp_angstrom"], p["r_inscribed_angstrom"], p["sign_changes_radii_angstrom"])
for note in p["notes"]:
    log.warning(note)
