"""Rule entry point: ΔSOC(k) of the monolayer's Nb-d band; parameters JSON and band figure."""
from isingflow.dft import read_bands
from isingflow.extract import ising_splitting, monolayer_soc_parameters
from isingflow.plots.bands import plot_spin_bands
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
soc = read_bands(smk.input.soc)
nosoc = read_bands(smk.input.nosoc)
params = monolayer_soc_parameters(soc, nosoc)
split = ising_splitting(soc, nosoc, "G", "K")
params["delta_soc_G_to_K"] = {
    "k_distance_from_G_inv_angstrom": split.k_distance_inv_angstrom.tolist(),
    "ising_splitting_full_meV": split.splitting_meV.tolist(),
    "band_energy_minus_EF_meV": split.energy_meV.tolist(),
}
out = {"system": smk.params.system, "profile": smk.params.profile, "code": soc.code,
       **params, "provenance": provenance(inputs=[smk.input.soc, smk.input.nosoc], settings=smk.params.profile)}
write_json(smk.output.params, out)
log.info("Ising splitting at K: %.1f meV (full), ΔSOC = %.1f meV (half)",
         params["ising_splitting_full_K_meV"], params["delta_soc_half_K_meV"])
plot_spin_bands(soc, nosoc, smk.output.figure,
                title=f"{smk.params.system} ({soc.code}, profile {smk.params.profile})",
                inset_text=f"Ising splitting at K: {params['ising_splitting_full_K_meV']:.0f} meV")
