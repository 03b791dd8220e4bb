"""Structures: the material library, commensurate stacks, stacking-shift × distance ensembles, vacancies.

Everything the DFT stage computes starts from a structure built here.  Modules, one concern each:

* :mod:`~isingflow.structures.materials` — the material library (monolayer prototypes of
  ``structures/*.yaml``: lattice, sites, initial moments, cited source) and formula helpers;
* :mod:`~isingflow.structures.lattice` — the strain of a layer and the search for small integer
  in-plane supercells of several layers that coincide within a strain tolerance;
* :mod:`~isingflow.structures.build` — monolayers and vertical stacks (interlayer distances
  between the layers' reference planes, e.g. d_Cr–Nb), :mod:`~isingflow.structures.distances`
  (the overlap check) and :mod:`~isingflow.structures.vacancy` (N×N×1 supercells with one atom
  removed);
* :mod:`~isingflow.structures.stacking` — lateral shifts of some layers against the others,
  merged by symmetry (spglib, :mod:`~isingflow.structures.symmetry`), with multiplicities;
* :mod:`~isingflow.structures.plan`, :mod:`~isingflow.structures.systems` and
  :mod:`~isingflow.structures.stack_system` — the ``systems:`` configuration as a typed plan and
  one builder per kind (monolayer, stack, vacancy);
* :mod:`~isingflow.structures.io` — ``<variant>.extxyz``, ``<variant>.cif`` and ``manifest.json``.

Conventions: lengths in Å, magnetic moments in µB.  Cells are stored as rows (ASE).  In-plane
fractional coordinates refer to the two in-plane cell vectors; the third cell vector is along z
and the slab is non-periodic along it (``pbc = (True, True, False)``) with ``vacuum`` Å of empty
space on each side.  Every atom carries its layer index (``atoms.arrays["layer"]``, 0 = bottom)
and its initial moment (``atoms.get_initial_magnetic_moments()``).  See ``docs/structures.md``.
"""
from isingflow.structures.build import LayerSpec, build_monolayer, build_stack, layer_atoms, resolve_commensurate
from isingflow.structures.distances import check_min_distance, minimum_distance
from isingflow.structures.errors import OverlapError, StrainError, StructureError
from isingflow.structures.io import output_paths, rule_name, variant_record, write_built, write_structure, write_system
from isingflow.structures.lattice import (
                                          CommensurateCell,
                                          commensurate_from_supercells,
                                          find_commensurate_supercell,
                                          layer_strain,
)
from isingflow.structures.materials import (
                                          MATERIAL_LIBRARY_DIR,
                                          Material,
                                          Site,
                                          composition,
                                          formula,
                                          get_material,
                                          library_input_files,
                                          load_materials,
                                          material_library_files,
)
from isingflow.structures.plan import BASE, PRISTINE, SystemPlan, VariantPlan
from isingflow.structures.stacking import ShiftSet, StackingShift, apply_shift, high_symmetry_shifts, stacking_shifts
from isingflow.structures.symmetry import symmetry_info
from isingflow.structures.systems import (
                                          BuiltSystem,
                                          build_system,
                                          list_systems,
                                          list_variants,
                                          plan_system,
                                          system_config,
                                          validate_systems,
)
from isingflow.structures.vacancy import vacancy_supercell

__all__ = [  # one line per module, in the order of the imports above
    "LayerSpec", "build_monolayer", "build_stack", "layer_atoms", "resolve_commensurate",
    # distances, errors
    "check_min_distance", "minimum_distance", "OverlapError", "StrainError", "StructureError",
    # io
    "output_paths", "rule_name", "variant_record", "write_built", "write_structure", "write_system",
    # lattice
    "CommensurateCell", "commensurate_from_supercells", "find_commensurate_supercell", "layer_strain",
    # materials
    "MATERIAL_LIBRARY_DIR", "Material", "Site", "composition", "formula", "get_material", "load_materials",
    "library_input_files", "material_library_files",
    # plan, stacking, symmetry
    "BASE", "PRISTINE", "SystemPlan", "VariantPlan",
    "ShiftSet", "StackingShift", "apply_shift", "high_symmetry_shifts", "stacking_shifts", "symmetry_info",
    # systems, vacancy
    "BuiltSystem", "build_system", "list_systems", "list_variants", "plan_system", "system_config",
    "validate_systems", "vacancy_supercell",
]
