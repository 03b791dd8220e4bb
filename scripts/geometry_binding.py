"""Rule entry point: binding curves of every stacking of a stack system
(:func:`isingflow.extract.binding.binding_from_files`) and their figure."""
from isingflow.extract.binding import binding_from_files
from isingflow.plots.binding import plot_binding_curves
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
binding = binding_from_files(smk.params.points, smk.input.manifest, smk.params.dispersion,
                             smk.params.formula_unit_element)
binding["system"] = smk.wildcards.system
binding["provenance"] = provenance(inputs=list(smk.input), settings={"dispersion": smk.params.dispersion})
write_json(smk.output.json, binding)
plot_binding_curves(binding, smk.output.figure, title=f"{smk.wildcards.system}: PBE+D3(BJ) (solid), PBE (dashed)")
for c in binding["curves"]:
    log.info("%s: d0 = %.3f Å, E_b(d0) = %.2f meV/Å² (%s fit)", c["stacking"], c["d0_angstrom"],
             c["e_b0_meV_per_angstrom2"], c["fit_method"])
log.info("lowest stacking: %s", binding["lowest_stacking"])
