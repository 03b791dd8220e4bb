# Structures stage: material library (structures/*.yaml) -> monolayers, commensurate stacks,
# stacking-shift × distance ensembles and vacancy supercells; one job per system of `systems:`.
#
# Every system is built once here, at DAG-build time (about a second): an unknown material, a
# strain beyond tolerance, overlapping atoms or a structure too large for the profile stops
# `snakemake` (also `-n`) with a message naming the config key, before any job runs.  The variant
# names are therefore known from the configuration alone: STRUCTURE_VARIANTS[system] (or
# isingflow.structures.list_variants) lists them; later stages fan out over
#   results/structures/<system>/<variant>.extxyz
from isingflow import structures as _structures

try:
    _built = {s: _structures.build_system(config, s) for s in _structures.list_systems(config)}
except ConfigError as _exc:
    raise WorkflowError(str(_exc))
STRUCTURE_VARIANTS = {s: list(b) for s, b in _built.items()}
# variants that are the very same structure as another one (e.g. the ensemble member that equals
# `base`): later stages reuse that variant's DFT instead of computing it twice
STRUCTURE_DUPLICATES = {
    s: {v: p["same_structure_as"] for v, (_atoms, p) in b.items() if p.get("same_structure_as")}
    for s, b in _built.items()
}

# atoms per variant: the DFT rules schedule the largest (longest) jobs first
STRUCTURE_N_ATOMS = {s: {v: len(atoms) for v, (atoms, _p) in b.items()} for s, b in _built.items()}

STRUCTURE_OUTPUTS = {s: _structures.output_paths(RESULTS, s, v) for s, v in STRUCTURE_VARIANTS.items()}

_structure_rules = []
for _system, _out in STRUCTURE_OUTPUTS.items():
    _structure_rules.append(_structures.rule_name(_system, _structure_rules))

    rule:
        name:
            _structure_rules[-1]
        localrule: True
        input:
            materials=[str(p) for p in _structures.material_library_files()],
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
        conda:
            CONDA_ENV
        log:
            f"{LOGS}/structures/{_system}.log",
        params:
            system=_system,
            config=_structures.system_config(config, _system),
        threads: 1
        priority: 1000  # seconds each; built first so the DFT jobs can start largest-first
        resources:
            runtime=10,
            mem_mb=2000,
        script:
            "../../scripts/structures_build.py"


rule structures:
    """Every structure of `systems:` (extxyz + cif + manifest per system)."""
    input:
        [f for o in STRUCTURE_OUTPUTS.values() for f in [o["manifest"], *o["extxyz"], *o["cif"]]],


ALL_TARGETS.extend([o["manifest"] for o in STRUCTURE_OUTPUTS.values()])
