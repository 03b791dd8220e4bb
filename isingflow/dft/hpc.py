"""Complete VASP or Quantum ESPRESSO input sets (SCF, bands, bands with SOC) for one structure."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from isingflow.dft.kpoints import band_path_for, kpath_record

STEPS = (("scf", {"calculation": "scf", "soc": False}),
         ("bands", {"calculation": "bands", "soc": False}),
         ("bands_soc", {"calculation": "bands", "soc": True}))


def hpc_settings(code: str, dft: dict[str, Any], code_cfg: dict[str, Any], xc: str,
                 hubbard_u_eV: dict[str, float] | None) -> dict[str, Any]:
    """The writer settings shared by the three steps, from a profile's ``dft`` section and the code's config."""
    common = {"ecut_eV": dft["ecut_eV"], "kpt_density_per_inv_angstrom": dft["kpt_density_per_inv_angstrom"],
              "smearing_eV": dft["smearing_eV"], "xc": xc, "hubbard_u_eV": hubbard_u_eV,
              "command": code_cfg["command"]}
    if code == "vasp":
        common["potcar_symbols"] = code_cfg["potcar_symbols"]
    else:
        common["pseudopotentials"] = code_cfg["pseudopotentials"]
    return common


def write_hpc_inputs(atoms, code: str, outdir: str | os.PathLike, common: dict[str, Any], band_path: str,
                     npoints: int) -> dict[str, list[Path]]:
    """Write ``outdir/{scf,bands,bands_soc}`` for ``code`` ("vasp" or "qe"); return the files per step."""
    if code == "vasp":
        from isingflow.dft.vasp import write_vasp_inputs as writer
    else:
        from isingflow.dft.qe import write_qe_inputs as writer
    kpath = kpath_record(band_path_for(atoms, band_path, npoints))
    written = {}
    for step, extra in STEPS:
        settings = {**common, **extra, **({"kpath": kpath} if extra["calculation"] == "bands" else {})}
        written[step] = writer(atoms, Path(outdir) / step, settings)
    return written
