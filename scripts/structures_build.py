"""Rule entry point: build every variant of one system (extxyz, cif, manifest.json, overview.png)."""
from pathlib import Path

from isingflow.runtime import setup_logging
from isingflow.structures import write_system

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
system = smk.params.system
log.info("building %s (profile %s)", system, smk.params.config["profile"])
manifest = write_system(smk.params.config, system, Path(smk.output.manifest).parent, overview_png=smk.output.overview)
missing = [f for f in [*smk.output.extxyz, *smk.output.cif] if not Path(f).is_file()]
if missing:
    raise RuntimeError(f"{system}: variants planned at DAG-build time were not written: {missing}")
for name, rec in manifest["variants"].items():
    log.info("%s/%s: %s, %d atoms, in-plane %s Å, strains %s %%", system, name, rec["formula"], rec["n_atoms"],
             rec["in_plane_lattice_angstrom"], rec.get("strain_biaxial_percent_by_layer"))
