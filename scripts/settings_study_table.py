"""Rule entry point: the settings-study tables (:func:`isingflow.extract.settings_series.settings_study_from_files`)."""
from isingflow.extract.settings_series import settings_study_from_files
from isingflow.provenance import atomic_write_text, provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
series, stoner, text = settings_study_from_files(smk.input.points, smk.input.stoner, smk.params.study,
                                                 smk.params.lambda_ex)
atomic_write_text(smk.output.table, text)
write_json(smk.output.json, {**series, "stoner": stoner,
                             "provenance": provenance(inputs=list(smk.input), settings=smk.params.study)})
log.info("λex(σ→0) = %s meV, spread %.2f meV; Stoner S = %.3g", series["lambda_ex_extrapolated_meV"],
         series["lambda_ex_spread_meV"], stoner["stoner_enhancement"])
