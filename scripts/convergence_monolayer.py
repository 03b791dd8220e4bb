"""Rule entry point: the monolayer chain (SCF → SOC/no-SOC bands → ΔSOC(K)) at one profile, timed."""
import os
import time

from isingflow.config import profile_settings
from isingflow.dft.gpaw import run_band_structure, run_ground_state
from isingflow.extract import monolayer_soc_parameters
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging
from isingflow.structures import build_monolayer

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
cfg = dict(smk.params.config)
cfg["profile"] = smk.wildcards.profile
dft = profile_settings(cfg, "dft")
atoms = build_monolayer(smk.params.material, vacuum_angstrom=dft["vacuum_angstrom"])
workdir = smk.params.workdir
os.makedirs(workdir, exist_ok=True)
t0 = time.perf_counter()
gs = run_ground_state(atoms, dft, f"{workdir}/gs.gpw", txt=f"{workdir}/gs.txt", xc=cfg["dft"]["xc"])
t1 = time.perf_counter()
soc = run_band_structure(f"{workdir}/gs.gpw", cfg["dft"]["band_path"], dft["band_path_points"], soc=True, txt=None)
nosoc = run_band_structure(f"{workdir}/gs.gpw", cfg["dft"]["band_path"], dft["band_path_points"], soc=False, txt=None)
t2 = time.perf_counter()
params = monolayer_soc_parameters(soc, nosoc)
out = {"profile": smk.wildcards.profile, "system": smk.params.material, "settings": dft,
       "kpts_size": gs["kpts_size"], "scf_iterations": gs["scf_iterations"],
       "wall_time_scf_s": t1 - t0, "wall_time_bands_s": t2 - t1,
       "ising_splitting_full_K_meV": params["ising_splitting_full_K_meV"],
       "work_function_eV": gs["work_function_top_eV"],
       "provenance": provenance(settings=dft)}
write_json(smk.output[0], out)
log.info("%s: ΔSOC(K) = %.2f meV, SCF %.1f s, bands %.1f s", smk.wildcards.profile,
         params["ising_splitting_full_K_meV"], t1 - t0, t2 - t1)
