"""Rule entry point: hysteresis onset (defect-moment flop temperature versus anisotropy K)."""
from isingflow.model.stage import HYSTERESIS_FIELDS, hysteresis_compute, write_csv
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
h = dict(smk.params.hysteresis)
rows = hysteresis_compute(h)
write_csv(smk.output.csv, HYSTERESIS_FIELDS, rows, settings={"hysteresis": h})
for r in rows:
    log.info("c=%.4g K=%.4g ueV: Delta/Delta0=%.4g, T_flop/Tc=%.4g, Tc-T_flop=%.3g K", r["c"], r["K_ueV"],
             r["delta_ratio"], r["t_flop"], r["Tc_minus_T_flop_K"])
