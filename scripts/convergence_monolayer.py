"""Rule entry point: the monolayer chain (SCF → SOC/no-SOC bands → ΔSOC(K)) at one profile, timed."""
from isingflow.config import profile_settings
from isingflow.dft.convergence import monolayer_convergence
from isingflow.provenance import write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
cfg = dict(smk.params.config)
cfg["profile"] = smk.wildcards.profile
dft = profile_settings(cfg, "dft")
out = monolayer_convergence(smk.params.material, dft, cfg["dft"]["band_path"], cfg["dft"]["xc"],
                            smk.wildcards.profile, smk.params.workdir)
write_json(smk.output[0], out)
log.info("%s: ΔSOC(K) = %.2f meV, SCF %.1f s, bands %.1f s", smk.wildcards.profile,
         out["ising_splitting_full_K_meV"], out["wall_time_scf_s"], out["wall_time_bands_s"])
