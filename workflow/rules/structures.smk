# Structures stage: material registry (structures/*.yaml) -> monolayers, commensurate stacks,
# registry × distance ensembles and vacancy supercells; one job per system of `systems:`.
#
# Every system is built once here, at DAG-build time (about a second): an unknown material, a
# strain beyond tolerance, overlapping atoms or a structure too large for the profile stops
# `snakemake` (also `-n`) with a message naming the config key, before any job runs.  The variant
# names are therefore known from the configuration alone; later stages fan out over
#   results/structures/<system>/<variant>.extxyz   (isingflow.structures.list_variants)
import re as _re

from isingflow import structures as _structures

try:
    STRUCTURE_VARIANTS = _structures.validate_systems(config)
except ConfigError as _exc:
    raise WorkflowError(str(_exc))

STRUCTURES = f"{RESULTS}/structures"


def structure_variants(system):
    """Variant names of ``system`` (``base`` first)."""
    return list(STRUCTURE_VARIANTS[system])


def structure_outputs(system):
    d = f"{STRUCTURES}/{system}"
    variants = STRUCTURE_VARIANTS[system]
    return {
        "manifest": f"{d}/manifest.json",
        "extxyz": [f"{d}/{v}.extxyz" for v in variants],
        "cif": [f"{d}/{v}.cif" for v in variants],
        "overview": f"{d}/overview.png",
    }


_structure_rule_names = set()
for _system in STRUCTURE_VARIANTS:
    _name = "structures_" + _re.sub(r"\W", "_", _system)
    while _name in _structure_rule_names:
        _name += "_"
    _structure_rule_names.add(_name)
    _out = structure_outputs(_system)

    rule:
        name:
            _name
        input:
            registry=[str(p) for p in _structures.registry_files()],
        output:
            manifest=_out["manifest"],
            extxyz=_out["extxyz"],
            cif=_out["cif"],
            overview=report(
                _out["overview"],
                caption="../report/structures_overview.rst",
                category="Structures",
                subcategory=_system,
            ),
        log:
            f"{LOGS}/structures/{_system}.log",
        params:
            system=_system,
            config=_structures.system_config(config, _system),
        threads: 1
        resources:
            runtime=10,
            mem_mb=2000,
        script:
            "../../scripts/structures_build.py"


rule structures:
    """Every structure of `systems:` (extxyz + cif + manifest per system)."""
    input:
        [f for s in STRUCTURE_VARIANTS for f in [structure_outputs(s)["manifest"], *structure_outputs(s)["extxyz"],
                                                  *structure_outputs(s)["cif"]]],


ALL_TARGETS.extend([structure_outputs(s)["manifest"] for s in STRUCTURE_VARIANTS])
