"""Files of the structures stage: ``<variant>.extxyz``, ``<variant>.cif`` and ``manifest.json`` per system.

:func:`write_system` builds a system once and writes what was built (:func:`write_built`).  In
the manifest, ``registry`` (of a variant) and ``registry_frac`` (of the conventions) are the
lateral stacking shift, and ``registry_file`` (of a material) the material library file.
"""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from isingflow.structures.distances import minimum_distance
from isingflow.structures.materials import composition, formula, load_materials, material_library_files
from isingflow.structures.plan import BASE, PRISTINE, structure_settings, vacuum_angstrom
from isingflow.structures.symmetry import symmetry_info
from isingflow.structures.systems import BuiltSystem, build_system


def variant_record(atoms, params: Mapping, files: Mapping[str, str]) -> dict:
    """The manifest entry of one variant: files, composition, cell, distances, symmetry, ``params``."""
    symbols = atoms.get_chemical_symbols()
    dmin, _, _ = minimum_distance(atoms)
    rec = {
        "files": dict(files),
        "formula": formula(symbols),
        "composition": composition(symbols),
        "n_atoms": len(atoms),
        "cell_angstrom": np.array(atoms.cell).round(8).tolist(),
        "in_plane_lattice_angstrom": [round(float(np.linalg.norm(atoms.cell[0])), 6),
                                      round(float(np.linalg.norm(atoms.cell[1])), 6)],
        "pbc": [bool(x) for x in atoms.pbc],
        "min_interatomic_distance_angstrom": round(dmin, 6),
    }
    if "layer" in atoms.arrays and len(set(atoms.arrays["layer"])) > 1:
        dl, _, _ = minimum_distance(atoms, interlayer_only=True)
        rec["min_interlayer_distance_angstrom"] = round(dl, 6)
    rec.update(symmetry_info(atoms))
    rec.update(copy.deepcopy(dict(params)))
    if rec.get("layers"):
        rec["strain_biaxial_percent_by_layer"] = [lm["strain"]["biaxial_percent"] for lm in rec["layers"]]
    rec["layer_of_atom"] = [int(x) for x in atoms.arrays["layer"]]
    rec["initial_magmoms"] = [float(x) for x in atoms.get_initial_magnetic_moments()]
    return rec


def output_paths(results_dir: str, system: str, variants: Sequence[str]) -> dict[str, Any]:
    """Files the structures rule of ``system`` writes (relative to the working directory)."""
    d = f"{results_dir}/structures/{system}"
    return {"manifest": f"{d}/manifest.json", "extxyz": [f"{d}/{v}.extxyz" for v in variants],
            "cif": [f"{d}/{v}.cif" for v in variants], "overview": f"{d}/overview.png"}


def rule_name(system: str, taken: Iterable[str] = ()) -> str:
    """A Snakemake rule name for ``system`` (an identifier, unique among ``taken``)."""
    name = "structures_" + re.sub(r"\W", "_", system)
    while name in set(taken):
        name += "_"
    return name


def write_structure(atoms, extxyz_path: str | os.PathLike, cif_path: str | os.PathLike) -> None:
    """Write ``atoms`` as extended XYZ (with ``layer`` and ``initial_magmoms``) and as CIF (pymatgen)."""
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.io.cif import CifWriter

    from isingflow.provenance import atomic_path

    with atomic_path(extxyz_path) as tmp:
        write(tmp, atoms, format="extxyz")
    plain = atoms.copy()
    for k in list(plain.arrays):
        if k not in ("numbers", "positions"):
            del plain.arrays[k]
    plain.info = {}
    plain.pbc = True
    structure = AseAtomsAdaptor.get_structure(plain)
    with atomic_path(cif_path) as tmp:
        CifWriter(structure).write_file(tmp)


def _conventions(spec: Mapping) -> dict:
    planes = spec.get("distance_reference") != "surfaces"  # monolayers, vacancies: no interlayer distance
    return {
        "lengths": "Å", "magnetic_moments": "µB",
        "distances_angstrom": ("vertical distances between the reference planes (plane_element) of "
                               "consecutive layers, e.g. d_Cr–Nb between the Nb and the Cr plane"
                               if planes else
                               "vertical gaps between the outermost atomic planes of consecutive layers"),
        "registry_frac": "lateral shift of the shifted layers in fractions of shift_cell_angstrom",
        "layer_of_atom": "0 = bottom layer",
        "strain": "of each layer relative to its own unstrained supercell; the reference layer is unstrained",
    }


def _ensemble_record(built: BuiltSystem, variants: Mapping[str, dict]) -> dict:
    """The manifest's ``ensemble``: shift cell, sampling and the variants at each distance."""
    plan = built.plan
    ens = {"shifted_layers": plan.spec["ensemble"]["shifted_layers"], "distances": {}}
    for d, rs in plan.shift_sets.items():
        ens["shift_cell_angstrom"] = rs.shift_cell_angstrom.round(8).tolist()
        ens["grid"] = rs.grid
        ens["high_symmetry"] = rs.high_symmetry
        ens["distances"][f"{d:.6g}"] = {
            "n_sampled": rs.n_sampled, "n_symmetry_operations": rs.n_operations,
            "variants": [n for n, r in variants.items() if r.get("distance_angstrom") == d]}
    return ens


def write_built(config: Mapping, built: BuiltSystem, outdir: str | os.PathLike,
                overview_png: str | None = None) -> dict:
    """Write the variants of a built system and its ``manifest.json`` into ``outdir``.

    Returns
    -------
    dict
        The manifest.
    """
    from isingflow.provenance import provenance, write_json

    outdir = Path(outdir)
    plan = built.plan
    raw_spec = config["systems"][plan.system]
    variants = {}
    for name, (atoms, params) in built.items():
        files = {"extxyz": f"{name}.extxyz", "cif": f"{name}.cif"}
        write_structure(atoms, outdir / files["extxyz"], outdir / files["cif"])
        rec = variant_record(atoms, params, files)
        rec["role"] = {BASE: "base", PRISTINE: "pristine"}.get(name, "ensemble")
        variants[name] = rec
    manifest: dict[str, Any] = {
        "system": plan.system, "kind": plan.kind, "description": plan.spec.get("description", ""),
        "profile": config["profile"], "variants_order": list(variants), "conventions": _conventions(plan.spec),
        "system_config": copy.deepcopy(dict(raw_spec)), "structure_settings": structure_settings(config),
        "vacuum_angstrom": vacuum_angstrom(config, plan.spec), "materials": {}, "variants": variants,
    }
    mats = load_materials()
    for rec in variants.values():
        for lm in rec.get("layers", []):
            manifest["materials"].setdefault(lm["material"], mats[lm["material"]].as_dict())
    if plan.kind == "stack" and plan.spec.get("ensemble"):
        manifest["ensemble"] = _ensemble_record(built, variants)
    if overview_png:
        from isingflow.plots.structures import plot_overview

        atoms, params = built[BASE]
        vac = params.get("vacancy")
        plot_overview(atoms, overview_png, title=f"{plan.system} ({formula(atoms.get_chemical_symbols())})",
                      mark_angstrom=vac["position_angstrom"] if vac else None)
        manifest["overview_png"] = str(overview_png)
    manifest["provenance"] = provenance(inputs=[str(p) for p in material_library_files()],
                                        settings=manifest["system_config"])
    write_json(outdir / "manifest.json", manifest)
    return manifest


def write_system(config: Mapping, system: str, outdir: str | os.PathLike, overview_png: str | None = None) -> dict:
    """Build every variant of ``system`` once and write its files (see :func:`write_built`).

    Returns
    -------
    dict
        The manifest.
    """
    return write_built(config, build_system(config, system), outdir, overview_png)
