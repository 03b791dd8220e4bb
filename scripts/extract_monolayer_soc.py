"""Rule entry point: ΔSOC(k) of the monolayer's Nb-d band (:func:`isingflow.extract.monolayer_soc`);
parameters JSON and band figure."""
from isingflow.dft import read_bands
from isingflow.extract import monolayer_soc
from isingflow.plots.bands import plot_spin_bands
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
soc, nosoc = read_bands(smk.input.soc), read_bands(smk.input.nosoc)
params = monolayer_soc(soc, nosoc)
system = smk.wildcards.system
write_json(smk.output.params, {"system": system, "profile": smk.params.profile, "code": soc.code, **params,
                               "provenance": provenance(inputs=[smk.input.soc, smk.input.nosoc],
                                                        settings=smk.params.profile)})
log.info("Ising splitting at K: %.1f meV (full), ΔSOC = %.1f meV (half)",
         params["ising_splitting_full_K_meV"], params["delta_soc_half_K_meV"])
plot_spin_bands(soc, nosoc, smk.output.figure,
                title=f"{system} ({soc.code}, profile {smk.params.profile})",
                inset_text=f"Ising splitting at K: {params['ising_splitting_full_K_meV']:.0f} meV")
