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


rule all:
    input:
        all_targets(),
    default_target: True
