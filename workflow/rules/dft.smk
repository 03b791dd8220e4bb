# DFT stage: GPAW ground states and band structures of the structure variants.
#
#   results/dft/<system>/<variant>/gs.gpw        converged density (reused, never recomputed)
#   results/dft/<system>/<variant>/gs.json       energies, Fermi level, moments, vacuum levels
#   results/dft/<system>/<variant>/mesh.npz      bands on the SCF k-mesh with projections
#   results/dft/<system>/<variant>/bands_soc.npz / bands_nosoc.npz    path Γ–M–K–Γ
#   results/dft/<system>/<variant>/bands_unfolded.npz   stacks: unfolded onto the primitive
#                                                       zone of config dft.unfold_material


rule dft_ground_state:
    """Spin-polarised-capable GPAW SCF; the .gpw restart file is kept and reused.  An ensemble
    member may start from a converged neighbouring registry (input ``restart``; common.smk)."""
    input:
        structure=structure_file,
        restart=restart_source,
    output:
        gpw=f"{RESULTS}/dft/{{system}}/{{variant}}/gs.gpw",
        summary=f"{RESULTS}/dft/{{system}}/{{variant}}/gs.json",
        mesh=f"{RESULTS}/dft/{{system}}/{{variant}}/mesh.npz",
    log:
        log=f"{LOGS}/dft/{{system}}/{{variant}}/gs.log",
        gpaw=f"{LOGS}/dft/{{system}}/{{variant}}/gs.gpaw.txt",
    priority: cost_priority
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 120 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        dft=lambda wc: dft_settings(wc.system, wc.variant),
        xc=config["dft"]["xc"],
        hubbard_u_eV=config["dft"].get("hubbard_u_eV", {}),
        dipole_correction=dipole_correction,
        cache_dir=lambda wc: f"{RESULTS}/dft/{wc.system}/{wc.variant}/.scf-cache",
    script:
        "../../scripts/dft_ground_state.py"


rule dft_bands:
    """Band structure along the configured path: with (soc) or without (nosoc) spin–orbit, or
    (unfolded) collinear bands of a stack unfolded onto the primitive zone of one material."""
    input:
        gpw=rules.dft_ground_state.output.gpw,
        structure=structure_file,
        manifest=manifest_file,
    output:
        bands=f"{RESULTS}/dft/{{system}}/{{variant}}/bands_{{kind}}.npz",
    log:
        log=f"{LOGS}/dft/{{system}}/{{variant}}/bands_{{kind}}.log",
        gpaw=f"{LOGS}/dft/{{system}}/{{variant}}/bands_{{kind}}.gpaw.txt",
    wildcard_constraints:
        kind="soc|nosoc|unfolded",
    priority: cost_priority
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 60 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        path=config["dft"]["band_path"],
        npoints=lambda wc: DFT["stack_band_path_points" if wc.kind == "unfolded" else "band_path_points"],
        unfold_material=config["dft"]["unfold_material"],
        manifest_variant=manifest_variant,
    script:
        "../../scripts/dft_bands.py"


CONVERGENCE_PROFILES = [p for p in ("smoke", "quick", "paper") if p in config["profiles"]]


rule convergence_monolayer:
    """The monolayer chain at one fidelity profile (whatever profile is active), timed."""
    output:
        f"{RESULTS}/convergence/{{profile}}.json",
    log:
        f"{LOGS}/convergence/{{profile}}.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        config=config,
        material=lambda wc: config["systems"][SYSTEMS.monolayer]["material"],
        workdir=lambda wc: f"{RESULTS}/convergence/{wc.profile}",
    script:
        "../../scripts/convergence_monolayer.py"


rule convergence:
    """Table of the fidelity profiles: settings, measured cost, change of ΔSOC(K)."""
    input:
        [f"{RESULTS}/convergence/{p}.json" for p in CONVERGENCE_PROFILES],
    output:
        f"{RESULTS}/convergence/profiles.md",
    log:
        f"{LOGS}/convergence/table.log",
    conda:
        CONDA_ENV
    script:
        "../../scripts/convergence_table.py"


rule hpc_inputs_one:
    """Complete VASP or QE inputs (SCF, bands, bands with SOC) of one variant, for HPC users."""
    input:
        structure=structure_file,
    output:
        folder=directory(f"{RESULTS}/hpc/{{code}}/{{system}}/{{variant}}/inputs"),
    log:
        f"{LOGS}/hpc/{{code}}/{{system}}/{{variant}}.log",
    wildcard_constraints:
        code="vasp|qe",
    conda:
        CONDA_ENV
    params:
        dft=lambda wc: dft_settings(wc.system, wc.variant),
        xc=config["dft"]["xc"],
        hubbard_u_eV=config["dft"].get("hubbard_u_eV", {}),
        code_cfg=lambda wc: config["dft"][wc.code],
        band_path=config["dft"]["band_path"],
        npoints=DFT["band_path_points"],
    script:
        "../../scripts/hpc_inputs.py"


rule hpc_inputs:
    """VASP and Quantum ESPRESSO inputs for every system of dft.hpc_systems (base variant)."""
    input:
        [
            f"{RESULTS}/hpc/{code}/{system}/base/inputs"
            for code in ("vasp", "qe")
            for system in config["dft"].get("hpc_systems", [])
        ],
