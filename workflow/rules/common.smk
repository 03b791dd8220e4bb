# Shared set-up: config validation (before any job), profile look-up, target registry.
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir)))  # isingflow importable without installation

from isingflow import structures as _structures
from isingflow.dft.restart_plan import restart_sources
from isingflow.config import (
    ConfigError,
    fill_schema_defaults,
    heterostructures,
    profile_settings,
    study_systems,
    superconductor_layers_of,
    validate_config,
)

try:
    validate_config(config)
except ConfigError as _exc:
    raise WorkflowError(str(_exc))

PROFILE = config["profile"]
DFT = profile_settings(config, "dft")
RESULTS = "results"
LOGS = "results/logs"
# the systems of the single-system stages (monolayer slice, paper heterostructure, vacancy): resolved here only
SYSTEMS = study_systems(config)
# every heterostructure of `heterostructures:` with its derived roles and auxiliary systems
# (isingflow.study); each goes through the whole chain into results/heterostructures/<name>/
PAPER_HET = SYSTEMS.heterostructure  # compared with the paper: Fig. 1, results/summary.md
# ... the paper's first (the comparison table's first row), the others in config order
HETEROSTRUCTURES = dict(sorted(heterostructures(config).items(), key=lambda item: item[0] != PAPER_HET))
HET_DIR = f"{RESULTS}/heterostructures/{{het}}"


def heterostructure_of(system):
    """A hint for an error in ``system``: the heterostructures that need it (their ``stack:`` keys
    reach the stacks derived for them), or nothing."""
    names = [h.name for h in HETEROSTRUCTURES.values() if system in h.systems()]
    if not names:
        return ""
    return f" (a system of {', '.join(f'heterostructures.{n}' for n in names)}: a derived stack takes its keys from the entry's 'stack')"


# Every system is built here, at DAG-build time (about a second), before the rules of the stages; an
# unknown material, a strain beyond tolerance, overlapping atoms or a structure too large for the
# profile stops `snakemake` (also `-n`) with a message naming the config key.  The variant names
# are therefore known from the configuration alone.
_BUILT = {}
for _system in _structures.list_systems(config):
    try:
        _BUILT[_system] = _structures.build_system(config, _system)
    except ConfigError as _exc:
        raise WorkflowError(str(_exc) + heterostructure_of(_system))
STRUCTURE_VARIANTS = {s: list(b) for s, b in _BUILT.items()}
# variants that are the very same structure as another one (e.g. the ensemble member that equals
# `base`): later stages reuse that variant's DFT instead of computing it twice
STRUCTURE_DUPLICATES = {
    s: {v: p["same_structure_as"] for v, (_atoms, p) in b.items() if p.get("same_structure_as")}
    for s, b in _BUILT.items()
}
# atoms per variant: the DFT rules schedule the largest (longest) jobs first
STRUCTURE_N_ATOMS = {s: {v: len(atoms) for v, (atoms, _p) in b.items()} for s, b in _BUILT.items()}
STRUCTURE_OUTPUTS = {s: _structures.output_paths(RESULTS, s, v) for s, v in STRUCTURE_VARIANTS.items()}

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


def het_wildcard():
    """Regex of the heterostructure names (the ``{het}`` wildcard)."""
    return "|".join(re.escape(h) for h in HETEROSTRUCTURES) or "(?!)"


def superconductor_monolayers():
    """The superconductor monolayers of the heterostructures (ΔSOC(k) of each is extracted once)."""
    return sorted({h.monolayer_superconductor for h in HETEROSTRUCTURES.values()} | {SYSTEMS.monolayer})


def heterostructure_inputs(variant):
    """Input function of the extraction of variant ``variant`` (``base`` or ``equilibrium``) of
    heterostructure ``wildcards.het``: the variant's DFT files, its ensemble's ⟨λex⟩, the
    superconductor bilayer, the two monolayers and, at equilibrium, the geometry chosen."""

    def inputs(wildcards):
        h = HETEROSTRUCTURES[wildcards.het]
        files = {
            "het_gs": f"{RESULTS}/dft/{h.name}/{variant}/gs.json",
            "het_mesh": f"{RESULTS}/dft/{h.name}/{variant}/mesh.npz",
            "het_unfolded": f"{RESULTS}/dft/{h.name}/{variant}/bands_unfolded.npz",
            **auxiliary_inputs(h),
        }
        if variant == EQUILIBRIUM_VARIANT:
            files["geometry"] = f"{RESULTS}/geometry/{h.name}/equilibrium.json"
        return files

    return inputs


def auxiliary_inputs(h):
    """The files of a heterostructure's auxiliary systems that its extraction reads."""
    dft = lambda system, name: f"{RESULTS}/dft/{system}/base/{name}"
    return {
        "ensemble": f"{RESULTS}/parameters/ensemble/{h.ensemble}.json",
        "bilayer_unfolded": dft(h.superconductor_bilayer, "bands_unfolded.npz"),
        "sc_gs": dft(h.monolayer_superconductor, "gs.json"),
        "sc_soc": dft(h.monolayer_superconductor, "bands_soc.npz"),
        "sc_nosoc": dft(h.monolayer_superconductor, "bands_nosoc.npz"),
        "mag_gs": dft(h.monolayer_magnet, "gs.json"),
        "mag_bands": dft(h.monolayer_magnet, "bands_nosoc.npz"),
    }


# Heterostructures computed also at the van der Waals equilibrium of their bilayer's lowest stacking
# (geometry.equilibrium_heterostructures; variant `equilibrium`, isingflow.structures.equilibrium)
GEOMETRY = fill_schema_defaults(config.get("geometry"), "geometry.schema.yaml")
EQUILIBRIUM_HETS = list(dict.fromkeys(GEOMETRY["equilibrium_heterostructures"]))
EQUILIBRIUM_VARIANT = "equilibrium"


def manifest_variant(wildcards):
    """The manifest record of a variant: the equilibrium variant is the base stack moved (same layers)."""
    return "base" if wildcards.variant == EQUILIBRIUM_VARIANT else wildcards.variant


def het_file(het, name):
    """``results/heterostructures/<het>/<name>``."""
    return f"{RESULTS}/heterostructures/{het}/{name}"


# DFT settings per variant
def ensemble_variants(system):
    """The registry × distance variants of a stack (every variant but ``base``; none for other kinds)."""
    if config["systems"].get(system, {}).get("kind") != "stack":
        return []
    return [v for v in STRUCTURE_VARIANTS.get(system, []) if v != "base"]


def ensemble_members(system):
    """The variants whose λex enter ⟨λex⟩ (``base`` alone when the profile builds no ensemble)."""
    return ensemble_variants(system) or ["base"]


ENSEMBLE_OVERRIDES = DFT.get("ensemble_overrides") or {}
SYSTEM_OVERRIDES = DFT.get("system_overrides") or {}
_OVERRIDE_KEYS = ("ensemble_overrides", "system_overrides")


def dft_settings(system, variant):
    """The DFT settings of one variant: the profile's, then its ``system_overrides`` for this system,
    then ``ensemble_overrides`` for the registry × distance variants of a stack (docs/ensemble.md)."""
    settings = {k: v for k, v in DFT.items() if k not in _OVERRIDE_KEYS}
    settings["seed_moments_muB"] = config["dft"].get("seed_moments_muB", {})
    settings.update(SYSTEM_OVERRIDES.get(system, {}))
    if variant in ensemble_variants(system):
        settings.update(ENSEMBLE_OVERRIDES)
    return settings


def dft_variant(system, variant):
    """The variant whose DFT serves ``variant``: an ensemble member that is the very structure of
    another variant reuses that one's calculation, unless the two use different settings."""
    twin = STRUCTURE_DUPLICATES.get(system, {}).get(variant, variant)
    return twin if dft_settings(system, twin) == dft_settings(system, variant) else variant


# ensemble members that start their SCF from a converged neighbouring registry (profile key
# restart_from_neighbour; isingflow.dft.restart_plan): target variant -> source variant, per system
RESTART_SOURCES = (
    {s: restart_sources({v: p for v, (_a, p) in b.items() if v in ensemble_variants(s)}) for s, b in _BUILT.items()}
    if DFT.get("restart_from_neighbour")
    else {}
)


def restart_source(wildcards):
    """Input of a ground state that restarts from a neighbouring registry: the source's gs.gpw and
    gs.json (its GPAW parameters are compared at run time); none for every other ground state."""
    source = RESTART_SOURCES.get(wildcards.system, {}).get(wildcards.variant)
    if source is None or dft_settings(wildcards.system, source) != dft_settings(wildcards.system, wildcards.variant):
        return []
    folder = f"{RESULTS}/dft/{wildcards.system}/{dft_variant(wildcards.system, source)}"
    return [f"{folder}/gs.gpw", f"{folder}/gs.json"]


def dipole_correction(wildcards):
    return bool(config["systems"][wildcards.system].get("dipole_correction", False))


def cost_priority(wildcards):
    """Scheduling priority of a DFT job: the atom count of its structure, so that the longest jobs
    (the heterostructure, the vacancy supercell) start first and the small ones fill the gaps."""
    return STRUCTURE_N_ATOMS.get(wildcards.system, {}).get(manifest_variant(wildcards), 0)


def check_equilibrium_heterostructures():
    """Each heterostructure of geometry.equilibrium_heterostructures exists and has a one-interface
    bilayer with a stacking ensemble (whose binding curves give its equilibrium)."""
    for i, het in enumerate(EQUILIBRIUM_HETS):
        key = f"config key 'geometry.equilibrium_heterostructures[{i}]'"
        if het not in HETEROSTRUCTURES:
            raise WorkflowError(
                f"{key}: {het!r} is not a heterostructure of 'heterostructures:' ({sorted(HETEROSTRUCTURES)})"
            )
        ens = HETEROSTRUCTURES[het].ensemble
        if ens == het or not ensemble_variants(ens):
            raise WorkflowError(
                f"{key}: {het!r} has no one-interface bilayer with a stacking ensemble ({ens!r}); its binding "
                "curves give the equilibrium (heterostructures.<name>.stacking_ensemble: true)"
            )


check_equilibrium_heterostructures()


# Geometry stage (geometry.smk): the stack calculations of each lateral shift's binding curve
def geometry_registry(variant):
    """The lateral-shift label of an ensemble variant (``reg-<p1>-<p2>`` of ``reg-<p1>-<p2>_d-<d>``)."""
    return variant.rsplit("_d-", 1)[0]


def geometry_template(system, registry):
    """The first ensemble variant of ``system`` with lateral shift ``registry``."""
    return next(v for v in ensemble_variants(system) if geometry_registry(v) == registry)


def geometry_points(system, scan_distances):
    """Every (stacking, distance) point of the binding curves of ``system``: the ensemble variants
    (their ground states, via dft_variant) and the ``scan_distances`` (Å) not among their distances."""
    points = []
    for v in ensemble_variants(system):
        params = _BUILT[system][v][1]
        run = dft_variant(system, v)
        points.append(
            {
                "stacking": geometry_registry(v),
                "registry_frac": params["registry"]["frac"],
                "variant": v,
                "d_angstrom": float(params["distance_angstrom"]),
                "gs": f"{RESULTS}/dft/{system}/{run}/gs.json",
                "structure": f"{RESULTS}/structures/{system}/{v}.extxyz",
                "layers": f"{RESULTS}/geometry/{system}/layers/{v}.json",
            }
        )
    for reg in dict.fromkeys(p["stacking"] for p in list(points)):
        have = [p["d_angstrom"] for p in points if p["stacking"] == reg]
        frac = next(p["registry_frac"] for p in points if p["stacking"] == reg)
        for d in scan_distances:
            if min(abs(d - x) for x in have) > 1e-6:
                folder = f"{RESULTS}/geometry/{system}/scan/{reg}_d-{d:.2f}"
                points.append(
                    {
                        "stacking": reg,
                        "registry_frac": frac,
                        "variant": f"{reg}_d-{d:.2f}",
                        "d_angstrom": float(d),
                        "gs": f"{folder}/gs.json",
                        "structure": f"{folder}/structure.extxyz",
                        "layers": f"{RESULTS}/geometry/{system}/layers/{reg}_d-{d:.2f}.json",
                    }
                )
    return points


def geometry_mesh(point):
    """The SCF-mesh band file of a binding-curve point (beside its ``gs.json``): λex along the curve."""
    return os.path.join(os.path.dirname(point["gs"]), "mesh.npz")


def geometry_point(system, name, scan_distances):
    """The binding-curve point ``name`` (``reg-<p1>-<p2>_d-<d>``) of ``system`` (see geometry_points)."""
    return next(p for p in geometry_points(system, scan_distances) if p["variant"] == name)


def summary_handoff(wildcards):
    """Input of the summary rule: the paper heterostructure's DFT → model hand-off (its experimental
    bound) when the model stage makes one (``MODEL_CFG`` comes from model.smk)."""
    if MODEL_CFG.get("from_dft", {}).get("enabled", False):
        return {"handoff": het_file(PAPER_HET, "model/dft_handoff.json")}
    return {}


def summary_equilibrium(wildcards):
    """Input of the summary rule: the paper heterostructure's parameters at the van der Waals
    equilibrium, when geometry.equilibrium_heterostructures asks for them."""
    if PAPER_HET in EQUILIBRIUM_HETS:
        return {
            "equilibrium": het_file(PAPER_HET, f"{EQUILIBRIUM_VARIANT}/parameters.json"),
            "lambda_at_d0": f"{RESULTS}/geometry/{HETEROSTRUCTURES[PAPER_HET].ensemble}/lambda_ex_at_d0.json",
        }
    return {}


def comparison_inputs(wildcards):
    """Per heterostructure, in config order: its parameters, manifest, superconductor monolayer's ΔSOC
    and (when the model stage makes it) its hand-off; the comparison rule zips them by name."""
    names = list(HETEROSTRUCTURES)
    out = {
        "parameters": [het_file(h, "parameters.json") for h in names],
        "manifests": [f"{RESULTS}/structures/{h}/manifest.json" for h in names],
    }
    if MODEL_CFG.get("from_dft", {}).get("enabled", False):
        out["handoffs"] = [het_file(h, "model/dft_handoff.json") for h in names]
    return out


# Settings study (settings_study.smk): its section with the schema defaults, and its points.
STUDY = fill_schema_defaults(config.get("settings_study"), "settings_study.schema.yaml")
STONER = STUDY["stoner"]


def settings_points():
    """The bilayer's (k, σ) grid at the first U, the other U at the densest k and smallest σ, and
    the two monolayers at each U (barriers; their own profile k-mesh and smearing: "auto")."""
    u0, k_max, s_min = STUDY["hubbard_U_eV"][0], max(STUDY["kpts_in_plane"]), min(STUDY["smearing_eV"])
    pts = [(STUDY["system"], str(k), f"{s:g}", f"{u0:g}") for k in STUDY["kpts_in_plane"] for s in STUDY["smearing_eV"]]
    pts += [(STUDY["system"], str(k_max), f"{s_min:g}", f"{u:g}") for u in STUDY["hubbard_U_eV"][1:]]
    pts += [(STUDY["monolayer_magnet"], "auto", "auto", f"{u:g}") for u in STUDY["hubbard_U_eV"]]
    pts.append((STUDY["monolayer_superconductor"], "auto", "auto", "0"))
    return [f"{RESULTS}/studies/settings/{sys}/k{k}_s{s}_U{u}/gs.json" for sys, k, s, u in pts]


def settings_point_dft(wc):
    """The profile's settings of the system with the point's k-mesh and smearing."""
    dft = dft_settings(wc.system, "base")
    if wc.k != "auto":
        dft["kpts_in_plane"] = int(wc.k)
    if wc.smearing != "auto":
        dft["smearing_eV"] = float(wc.smearing)
    return dft
