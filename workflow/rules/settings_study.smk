# Settings study (`snakemake settings_study`; docs/dft.md, "Convergence of λex"): λex of the
# one-interface bilayer against k-mesh and smearing, the DFT+U bracket, the Stoner enhancement.
#
#   results/studies/settings/<system>/k<n>_s<σ>_U<U>/gs.json, mesh.npz   one SCF per point
#   results/studies/stoner/<system>/M<M>.json                           fixed-spin-moment energies
#   results/studies/settings_study.{md,json}                            the tables
# STUDY, STONER, settings_points and settings_point_dft: common.smk


rule settings_point:
    """One SCF of the settings study (the structure's base variant at one k, σ, U)."""
    input:
        structure=f"{RESULTS}/structures/{{system}}/base.extxyz",
    output:
        gpw=temp(f"{RESULTS}/studies/settings/{{system}}/k{{k}}_s{{smearing}}_U{{u}}/gs.gpw"),
        summary=f"{RESULTS}/studies/settings/{{system}}/k{{k}}_s{{smearing}}_U{{u}}/gs.json",
        mesh=f"{RESULTS}/studies/settings/{{system}}/k{{k}}_s{{smearing}}_U{{u}}/mesh.npz",
    log:
        f"{LOGS}/convergence/settings/{{system}}/k{{k}}_s{{smearing}}_U{{u}}.log",
    wildcard_constraints:
        k=r"\d+|auto",
        smearing=r"[0-9.e-]+|auto",
        u=r"[0-9.]+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 120 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        dft=settings_point_dft,
        xc=config["dft"]["xc"],
        hubbard_u_eV=lambda wc: {STUDY["hubbard_element"]: float(wc.u)} if float(wc.u) else {},
    script:
        "../../scripts/settings_point.py"


rule stoner_point:
    """One fixed-spin-moment SCF of the superconductor monolayer."""
    input:
        structure=f"{RESULTS}/structures/{{system}}/base.extxyz",
    output:
        f"{RESULTS}/studies/stoner/{{system}}/M{{moment}}.json",
    log:
        f"{LOGS}/convergence/stoner/{{system}}/M{{moment}}.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        dft=lambda wc: {
            **dft_settings(wc.system, "base"),
            "kpts_in_plane": STONER["kpts_in_plane"],
            "smearing_eV": STONER["smearing_eV"],
        },
        element=STONER["element"],
    script:
        "../../scripts/stoner_point.py"


rule settings_study:
    """Target: λex against k-mesh, smearing and U, and the Stoner enhancement (tables)."""
    input:
        points=settings_points(),
        stoner=[
            f"{RESULTS}/studies/stoner/{STUDY['monolayer_superconductor']}/M{m:g}.json" for m in STONER["moments_muB"]
        ],
    output:
        table=f"{RESULTS}/studies/settings_study.md",
        json=f"{RESULTS}/studies/settings_study.json",
    log:
        f"{LOGS}/convergence/settings_study.log",
    conda:
        CONDA_ENV
    params:
        study=STUDY,
        lambda_ex=config["extract"]["lambda_ex"],
    script:
        "../../scripts/settings_study_table.py"
