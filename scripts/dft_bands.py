"""Rule entry point: non-self-consistent band structure (with or without SOC) from a .gpw."""
from ase.io import read

from isingflow.dft.bandfile import write_bands
from isingflow.dft.gpaw_engine import run_band_structure
from isingflow.provenance import provenance
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log.log)
soc = smk.wildcards.soc == "soc"
structure = read(smk.input.structure)
layers = structure.arrays["layer"].tolist() if "layer" in structure.arrays else None
bands = run_band_structure(smk.input.gpw, path=smk.params.path, npoints=smk.params.npoints, soc=soc,
                           txt=smk.log.gpaw, atom_layers=layers)
bands.provenance = provenance(inputs=[smk.input.gpw], settings={"path": smk.params.path,
                                                                 "npoints": smk.params.npoints, "soc": soc})
write_bands(smk.output.bands, bands)
log.info("bands: %d k-points x %d bands, soc=%s, E_F = %.4f eV", bands.nkpts, bands.nbands, soc,
         bands.fermi_level)
