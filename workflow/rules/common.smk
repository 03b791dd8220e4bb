# Shared set-up: config validation (before any job), profile look-up, target registry.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir)))  # isingflow importable without installation

from isingflow.config import ConfigError, profile_settings, validate_config

try:
    validate_config(config)
except ConfigError as _exc:
    raise WorkflowError(str(_exc))

PROFILE = config["profile"]
DFT = profile_settings(config, "dft")
RESULTS = "results"
LOGS = "results/logs"

# Each stage's .smk appends its final outputs here; `rule all` requests them.
ALL_TARGETS = []


def all_targets():
    return list(ALL_TARGETS)

# One software environment for every rule (`snakemake --sdm conda`); relative to workflow/rules/.
CONDA_ENV = "../envs/isingflow.yaml"


def structure_file(wildcards):
    """The structure file of one variant (input of the DFT rules)."""
    return f"{RESULTS}/structures/{wildcards.system}/{wildcards.variant}.extxyz"


def manifest_file(wildcards):
    """The manifest of a system (variants, layers, supercell matrices)."""
    return f"{RESULTS}/structures/{wildcards.system}/manifest.json"
