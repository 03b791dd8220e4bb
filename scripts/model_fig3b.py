"""Rule entry point: Fig. 3b in-plane critical field B_c(φ_B) for easy axes x, y, z."""
from isingflow.model.stage import fig3b_compute, write_csv
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
settings = {"fig3b": smk.params.fig3b, "numerics": smk.params.numerics}
rows = fig3b_compute(dict(smk.params.fig3b), dict(smk.params.numerics))
write_csv(smk.output.bc, ["easy_axis", "phi_deg", "Bc"], rows, settings=settings)
log.info("wrote %d critical fields", len(rows))
