"""Rule entry point: a heterostructure at the lowest-energy stacking of its one-interface bilayer,
every superconductor/magnet interface at that stacking's d0
(:func:`isingflow.structures.equilibrium.equilibrium_stack`)."""
import json
from pathlib import Path

from ase.io import read, write

from isingflow.provenance import atomic_path, provenance, write_json
from isingflow.runtime import setup_logging
from isingflow.structures.equilibrium import equilibrium_stack, equilibrium_variant_name

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
manifest = json.loads(Path(smk.input.manifest).read_text())
bilayer_manifest = json.loads(Path(smk.input.bilayer_manifest).read_text())
binding = json.loads(Path(smk.input.binding).read_text())
name = equilibrium_variant_name(bilayer_manifest, binding)
reference = next(p for p in smk.input.bilayer_variants if Path(p).stem == name)
atoms, record = equilibrium_stack(read(smk.input.base), manifest["variants"]["base"], bilayer_manifest,
                                  read(reference), binding, smk.params.superconductor_layers,
                                  smk.params.magnet_layers, manifest["vacuum_angstrom"])
with atomic_path(smk.output.structure) as tmp:
    write(tmp, atoms, format="extxyz")
write_json(smk.output.record, {**record, "provenance": provenance(inputs=list(smk.input))})
log.info("%s: stacking %s, d0 = %.3f Å (counterpoise %s), distances %s", smk.wildcards.het, record["stacking"],
         record["d0_angstrom"], record["counterpoise_corrected"], record["distances_angstrom"])
