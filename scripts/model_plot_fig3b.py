"""Rule entry point: Fig. 3(b), B_c(φ_B) for defect easy axes x, y, z."""
from isingflow.model.stage import read_csv
from isingflow.plots.model_figures import plot_fig3b
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
plot_fig3b(smk.output.png, read_csv(smk.input.bc), dict(smk.params.fig3b))
log.info("wrote %s", smk.output.png)
