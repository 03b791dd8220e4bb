"""Rule entry point: Fig. 2(a), 2(b), 2(c) from the model CSV files."""
from isingflow.model.stage import read_csv
from isingflow.plots.model_figures import plot_fig2_panel, plot_fig2c
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
fig2 = dict(smk.params.fig2)
curves, peaks, op = read_csv(smk.input.dIdV), read_csv(smk.input.peaks), read_csv(smk.input.order_parameter)
dirs = sorted(fig2["directions"], key=lambda d: fig2["directions"][d])  # (a): smallest θ_B, (b): largest
for out, direction in ((smk.output.a, dirs[0]), (smk.output.b, dirs[-1])):
    plot_fig2_panel(out, curves, op, peaks, direction, fig2)
    log.info("wrote %s (%s)", out, direction)
plot_fig2c(smk.output.c, peaks, fig2)
log.info("wrote %s", smk.output.c)
