# DFT stage: GPAW ground states and band structures of the structure variants.


def structure_file(wildcards):
    return f"{RESULTS}/structures/{wildcards.system}/{wildcards.variant}.extxyz"


rule dft_ground_state:
    """Spin-polarised-capable GPAW SCF; the .gpw restart file is kept and reused."""
    input:
        structure=structure_file,
    output:
        gpw=f"{RESULTS}/dft/{{system}}/{{variant}}/gs.gpw",
        summary=f"{RESULTS}/dft/{{system}}/{{variant}}/gs.json",
    log:
        log=f"{LOGS}/dft/{{system}}/{{variant}}/gs.log",
        gpaw=f"{LOGS}/dft/{{system}}/{{variant}}/gs.gpaw.txt",
    params:
        dft=DFT,
        xc=config["dft"]["xc"],
        hubbard_u_eV=config["dft"].get("hubbard_u_eV", {}),
        dipole_correction=False,
        cache_dir=lambda wc: f"{RESULTS}/dft/{wc.system}/{wc.variant}/.scf-cache",
    threads: 1
    resources:
        runtime=lambda wc, attempt: 60 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    script:
        "../../scripts/dft_ground_state.py"


rule dft_bands:
    """Band structure along the configured path, with (soc) or without (nosoc) spin–orbit."""
    input:
        gpw=rules.dft_ground_state.output.gpw,
        structure=structure_file,
    output:
        bands=f"{RESULTS}/dft/{{system}}/{{variant}}/bands_{{soc}}.npz",
    wildcard_constraints:
        soc="soc|nosoc",
    log:
        log=f"{LOGS}/dft/{{system}}/{{variant}}/bands_{{soc}}.log",
        gpaw=f"{LOGS}/dft/{{system}}/{{variant}}/bands_{{soc}}.gpaw.txt",
    params:
        path=config["dft"]["monolayer"]["band_path"],
        npoints=DFT["band_path_points"],
    threads: 1
    resources:
        runtime=lambda wc, attempt: 30 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    script:
        "../../scripts/dft_bands.py"
