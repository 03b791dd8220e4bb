# isingflow: NbSe2/CrBr3/NbSe2 from structures to DFT to Ising-superconductor model.
#   snakemake --cores N                      (workstation)
#   snakemake --workflow-profile workflow/profiles/slurm   (HPC)
import os

from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/structures.smk"
include: "workflow/rules/dft.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/vacancy.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/geometry.smk"
include: "workflow/rules/settings_study.smk"


# Cheap rules (seconds, serial) run inside the submitting snakemake, not as cluster jobs (no
# effect without --executor).  The per-system structure rules are local too (structures.smk).
localrules:
    monolayer_soc,
    summary,
    comparison,
    convergence,
    settings_study,
    vacancy_cells,
    hpc_inputs_one,
    model_table1,
    model_hysteresis,
    model_plot_fig2,
    model_plot_fig3b,


rule all:
    default_target: True
    input:
        all_targets(),
