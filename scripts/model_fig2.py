"""Rule entry point: Fig. 2 data (dI/dV curves, peaks, Δo(B) insets) from config["model"]."""
from isingflow.model.stage import fig2_compute, write_csv
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
settings = {"fig2": smk.params.fig2, "numerics": smk.params.numerics}
data = fig2_compute(dict(smk.params.fig2), dict(smk.params.numerics))
write_csv(smk.output.dIdV, ["direction", "B", "V", "G"], data["dIdV"], settings=settings)
write_csv(smk.output.peaks, ["direction", "B", "delta_o", "V_peak", "fwhm"], data["peaks"], settings=settings)
write_csv(smk.output.order_parameter, ["direction", "B", "delta_o"], data["order_parameter"], settings=settings)
log.info("wrote %d dI/dV points, %d peaks", len(data["dIdV"]), len(data["peaks"]))
