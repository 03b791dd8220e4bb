# Structures stage: material library (structures/*.yaml) -> monolayers, commensurate stacks,
# stacking-shift × distance ensembles and vacancy supercells; one job per system of `systems:`.
#
# The systems are planned and built in common.smk (STRUCTURE_VARIANTS, STRUCTURE_OUTPUTS); this file
# writes them, one local job per system.  Later stages fan out over
#   results/structures/<system>/<variant>.extxyz
_structure_rules = []
for _system, _out in STRUCTURE_OUTPUTS.items():
    _structure_rules.append(_structures.rule_name(_system, _structure_rules))

    rule:
        name:
            _structure_rules[-1]
        input:
            materials=[str(p) for p in _structures.library_input_files()],
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
        priority: 1000  # seconds each; built first so the DFT jobs can start largest-first
        localrule: True
        conda:
            CONDA_ENV
        threads: 1
        resources:
            runtime=10,
            mem_mb=2000,
        params:
            system=_system,
            config=_structures.system_config(config, _system),
        script:
            "../../scripts/structures_build.py"


rule structures:
    """Every structure of `systems:` (extxyz + cif + manifest per system)."""
    input:
        [f for o in STRUCTURE_OUTPUTS.values() for f in [o["manifest"], *o["extxyz"], *o["cif"]]],


ALL_TARGETS.extend([o["manifest"] for o in STRUCTURE_OUTPUTS.values()])
