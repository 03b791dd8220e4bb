# Geometry stage (docs/geometry.md): PBE+D3(BJ) binding curves per lateral stacking, the isolated
# layers' energies, a counterpoise BSSE check and the strained layer relaxed at fixed cell.
#
#   results/geometry/<system>/scan/<registry>_d-<d>/gs.json   extra distances of each stacking
#   results/geometry/<system>/layers/<point>.json              its isolated layers (E_DFT, E_D3), same cell
#   results/geometry/<system>/bsse.json                       counterpoise check (LCAO ghosts)
#   results/geometry/<system>/relaxed_layer.{json,extxyz}     strained layer relaxed at fixed cell
#   results/geometry/<system>/binding.json                    E_b(d), d0, E_b(d0) per stacking
#   results/geometry/<system>/lambda_ex_at_d0.json            ⟨λex⟩ with each stacking at its own d0
#   results/figures/binding_<system>.png
#   results/structures/<het>/equilibrium.extxyz             a heterostructure at its bilayer's lowest
#   results/geometry/<het>/equilibrium.json                  stacking and d0 (equilibrium_heterostructures)
# GEOMETRY and EQUILIBRIUM_HETS come from common.smk; the bilayers of the equilibrium heterostructures
# get their binding curves too
GEOMETRY_SYSTEMS = [
    s
    for s in dict.fromkeys(list(GEOMETRY["systems"]) + [HETEROSTRUCTURES[h].ensemble for h in EQUILIBRIUM_HETS])
    if ensemble_variants(s)
]
_missing = sorted(set(GEOMETRY["systems"]) - set(GEOMETRY_SYSTEMS))
if _missing:
    raise WorkflowError(f"config key 'geometry.systems': {_missing} are not stack systems with an ensemble")
GEOMETRY_KWARGS = {
    "xc": config["dft"]["xc"],
    "hubbard_u_eV": config["dft"].get("hubbard_u_eV") or None,
}


rule geometry_scan_point:
    """One stacking at one extra distance: its ensemble variant with the layers moved along z, SCF."""
    input:
        structure=lambda wc: f"{RESULTS}/structures/{wc.system}/{geometry_template(wc.system, wc.registry)}.extxyz",
        manifest=manifest_file,
    output:
        structure=f"{RESULTS}/geometry/{{system}}/scan/{{registry}}_d-{{d}}/structure.extxyz",
        gpw=f"{RESULTS}/geometry/{{system}}/scan/{{registry}}_d-{{d}}/gs.gpw",
        summary=f"{RESULTS}/geometry/{{system}}/scan/{{registry}}_d-{{d}}/gs.json",
        mesh=f"{RESULTS}/geometry/{{system}}/scan/{{registry}}_d-{{d}}/mesh.npz",
    log:
        log=f"{LOGS}/geometry/{{system}}/scan/{{registry}}_d-{{d}}.log",
        gpaw=f"{LOGS}/geometry/{{system}}/scan/{{registry}}_d-{{d}}.gpaw.txt",
    wildcard_constraints:
        registry="reg-[-0-9.]+",
        d="[0-9.]+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 120 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        template=lambda wc: geometry_template(wc.system, wc.registry),
        dft=lambda wc: dft_settings(wc.system, geometry_template(wc.system, wc.registry)),
        gpaw=GEOMETRY_KWARGS,
        dipole_correction=dipole_correction,
    script:
        "../../scripts/geometry_scan_point.py"


rule geometry_point_layers:
    """The isolated layers of one binding-curve point, each alone in that point's cell (same grid as
    the stack: the absolute LCAO energy depends on the grid spacing): E_DFT and E_D3."""
    input:
        structure=lambda wc: geometry_point(wc.system, wc.point, GEOMETRY["scan_distances_angstrom"])["structure"],
    output:
        f"{RESULTS}/geometry/{{system}}/layers/{{point}}.json",
    log:
        log=f"{LOGS}/geometry/{{system}}/layers/{{point}}.log",
        gpaw=f"{LOGS}/geometry/{{system}}/layers/{{point}}.gpaw",
    wildcard_constraints:
        point="reg-[-0-9.]+_d-[0-9.]+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 60 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        dft=lambda wc: dft_settings(wc.system, geometry_template(wc.system, geometry_registry(wc.point))),
        gpaw=GEOMETRY_KWARGS,
        dipole_correction=dipole_correction,
        dispersion=GEOMETRY["dispersion"],
        counterpoise=GEOMETRY["counterpoise_curve"],
    script:
        "../../scripts/geometry_layers.py"


rule geometry_bsse:
    """Counterpoise check: each layer alone and with the other layers as ghost atoms (LCAO), at the
    distances geometry.bsse_distances_angstrom of the base stacking."""
    input:
        structure=f"{RESULTS}/structures/{{system}}/base.extxyz",
        manifest=manifest_file,
    output:
        f"{RESULTS}/geometry/{{system}}/bsse.json",
    log:
        log=f"{LOGS}/geometry/{{system}}/bsse.log",
        gpaw=f"{LOGS}/geometry/{{system}}/bsse.gpaw",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 120 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        dft=lambda wc: dft_settings(wc.system, ensemble_variants(wc.system)[0]),
        gpaw=GEOMETRY_KWARGS,
        dipole_correction=dipole_correction,
        distances=GEOMETRY["bsse_distances_angstrom"],
    script:
        "../../scripts/geometry_bsse.py"


rule geometry_relax_layer:
    """The most strained layer of the base stack (or geometry.relax.layer) relaxed at fixed cell."""
    input:
        structure=f"{RESULTS}/structures/{{system}}/base.extxyz",
        manifest=manifest_file,
    output:
        summary=f"{RESULTS}/geometry/{{system}}/relaxed_layer.json",
        structure=f"{RESULTS}/geometry/{{system}}/relaxed_layer.extxyz",
    log:
        log=f"{LOGS}/geometry/{{system}}/relax.log",
        gpaw=f"{LOGS}/geometry/{{system}}/relax.gpaw.txt",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 120 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        dft=lambda wc: dft_settings(wc.system, "base"),
        gpaw=GEOMETRY_KWARGS,
        relax=GEOMETRY["relax"],
    script:
        "../../scripts/geometry_relax_layer.py"


rule binding_curves:
    """E_b(d) = E_stack − Σ E_layer (PBE + D3(BJ)) per stacking, d0 and E_b(d0), the lowest stacking."""
    input:
        manifest=manifest_file,
        layers=lambda wc: [p["layers"] for p in geometry_points(wc.system, GEOMETRY["scan_distances_angstrom"])],
        gs=lambda wc: [p["gs"] for p in geometry_points(wc.system, GEOMETRY["scan_distances_angstrom"])],
        structures=lambda wc: [p["structure"] for p in geometry_points(wc.system, GEOMETRY["scan_distances_angstrom"])],
    output:
        json=f"{RESULTS}/geometry/{{system}}/binding.json",
        figure=report(
            f"{RESULTS}/figures/binding_{{system}}.png",
            caption="../report/binding.rst",
            category="Geometry",
        ),
    log:
        f"{LOGS}/geometry/{{system}}/binding.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        points=lambda wc: geometry_points(wc.system, GEOMETRY["scan_distances_angstrom"]),
        dispersion=GEOMETRY["dispersion"],
        formula_unit_element=GEOMETRY["formula_unit_element"],
    script:
        "../../scripts/geometry_binding.py"


rule lambda_ex_at_equilibrium:
    """⟨λex⟩ with every lateral shift at the d0 of its own binding curve: λex(τ, d) from the SCF mesh of
    every binding-curve point, interpolated to d0(τ) (isingflow.extract.equilibrium_average)."""
    input:
        binding=f"{RESULTS}/geometry/{{system}}/binding.json",
        manifest=manifest_file,
        mesh=lambda wc: [geometry_mesh(p) for p in geometry_points(wc.system, GEOMETRY["scan_distances_angstrom"])],
    output:
        f"{RESULTS}/geometry/{{system}}/lambda_ex_at_d0.json",
    log:
        f"{LOGS}/geometry/{{system}}/lambda_ex_at_d0.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        points=lambda wc: [
            {k: p[k] for k in ("stacking", "variant", "d_angstrom")}
            for p in geometry_points(wc.system, GEOMETRY["scan_distances_angstrom"])
        ],
        superconductor_layers=lambda wc: superconductor_layers_of(config, wc.system),
        lambda_ex=config["extract"]["lambda_ex"],
        stacking_grids=config["extract"]["ensemble"]["stacking_grids"],
    script:
        "../../scripts/geometry_lambda_at_d0.py"


rule geometry_equilibrium_structure:
    """A heterostructure at the lowest-energy stacking of its one-interface bilayer, every
    superconductor/magnet interface at that stacking's d0 (isingflow.structures.equilibrium)."""
    input:
        base=f"{RESULTS}/structures/{{het}}/base.extxyz",
        manifest=f"{RESULTS}/structures/{{het}}/manifest.json",
        binding=lambda wc: f"{RESULTS}/geometry/{HETEROSTRUCTURES[wc.het].ensemble}/binding.json",
        bilayer_manifest=lambda wc: f"{RESULTS}/structures/{HETEROSTRUCTURES[wc.het].ensemble}/manifest.json",
        bilayer_variants=lambda wc: [
            f"{RESULTS}/structures/{HETEROSTRUCTURES[wc.het].ensemble}/{v}.extxyz"
            for v in ensemble_variants(HETEROSTRUCTURES[wc.het].ensemble)
        ],
    output:
        structure=f"{RESULTS}/structures/{{het}}/{EQUILIBRIUM_VARIANT}.extxyz",
        record=f"{RESULTS}/geometry/{{het}}/{EQUILIBRIUM_VARIANT}.json",
    log:
        f"{LOGS}/geometry/{{het}}/equilibrium_structure.log",
    wildcard_constraints:
        het="|".join(re.escape(h) for h in EQUILIBRIUM_HETS) or "(?!)",
    localrule: True
    conda:
        CONDA_ENV
    params:
        superconductor_layers=lambda wc: list(HETEROSTRUCTURES[wc.het].superconductor_layers),
        magnet_layers=lambda wc: list(HETEROSTRUCTURES[wc.het].magnet_layers),
    script:
        "../../scripts/geometry_equilibrium_structure.py"


rule geometry:
    """Binding curves, BSSE check and relaxed strained layer of every system of geometry.systems."""
    input:
        [
            f"{RESULTS}/{path}"
            for s in GEOMETRY_SYSTEMS
            for path in (
                f"geometry/{s}/binding.json",
                f"geometry/{s}/lambda_ex_at_d0.json",
                f"figures/binding_{s}.png",
                f"geometry/{s}/bsse.json",
                f"geometry/{s}/relaxed_layer.json",
            )
        ],
