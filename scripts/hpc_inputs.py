"""Rule entry point: complete VASP or Quantum ESPRESSO inputs (SCF, bands, bands+SOC) for one structure."""
import os
from pathlib import Path

from ase.io import read

from isingflow.dft.gpaw_engine import band_path_for
from isingflow.provenance import provenance, write_json
from isingflow.runtime import setup_logging

smk = snakemake  # noqa: F821 - injected by Snakemake
log = setup_logging(smk.log[0])
code = smk.wildcards.code
atoms = read(smk.input.structure)
if "initial_magmoms" in atoms.arrays:
    atoms.set_initial_magnetic_moments(atoms.arrays["initial_magmoms"])
dft, cfg = smk.params.dft, smk.params.code_cfg
path = band_path_for(atoms, smk.params.band_path, smk.params.npoints)
x, xs, names = path.get_linear_kpoint_axis()
labels = [(int(abs(x - v).argmin()), "G" if n in ("G", "Γ") else n) for v, n in zip(xs, names)]
common = {
    "ecut_eV": dft["ecut_eV"], "kpt_density_per_inv_angstrom": dft["kpt_density_per_inv_angstrom"],
    "smearing_eV": dft["smearing_eV"], "xc": smk.params.xc, "hubbard_u_eV": smk.params.hubbard_u_eV,
    "command": cfg["command"],
}
if code == "vasp":
    from isingflow.dft.vasp import write_vasp_inputs as writer

    common["potcar_symbols"] = cfg["potcar_symbols"]
else:
    from isingflow.dft.qe import write_qe_inputs as writer

    common["pseudopotentials"] = cfg["pseudopotentials"]
outdir = Path(smk.output.folder)
written = []
for step, extra in (("scf", {"calculation": "scf", "soc": False}),
                    ("bands", {"calculation": "bands", "soc": False, "kpath": {"kpts": path.kpts.tolist(), "labels": labels}}),
                    ("bands_soc", {"calculation": "bands", "soc": True, "kpath": {"kpts": path.kpts.tolist(), "labels": labels}})):
    files = writer(atoms, outdir / step, {**common, **extra})
    written += [str(f) for f in files]
    log.info("%s %s: %s", code, step, ", ".join(os.path.basename(str(f)) for f in files))
write_json(outdir / "inputs.json", {"code": code, "files": written,
                                    "provenance": provenance(inputs=[smk.input.structure], settings=common)})
