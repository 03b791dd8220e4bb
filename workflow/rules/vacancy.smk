# Vacancy stage: the V_Se NbSe2 supercell's spin density (isingflow.extract.vacancy).
#
#   results/parameters/<system>.json          M, |M|, R_d, radial profiles, sign changes
#   results/vacancy/<system>/maps.npz         Nb-plane and column spin-density maps (µB/Å²)
#   results/figures/fig3a.png                 Fig. 3a: spin density in the Nb plane
#   results/figures/vacancy_radial.png        radial profile and cumulative moments

VACANCY_CFG = config["vacancy"]  # every default filled in by validate_config (vacancy.schema.yaml)
VACANCY_SYS = SYSTEMS.vacancy


rule vacancy_spin_density:
    """Spin density of the V_Se supercell: total/absolute moment, radial profile, R_d, Fig. 3a."""
    input:
        gpw=f"{RESULTS}/dft/{VACANCY_SYS}/base/gs.gpw",
        summary=f"{RESULTS}/dft/{VACANCY_SYS}/base/gs.json",
        structure=f"{RESULTS}/structures/{VACANCY_SYS}/base.extxyz",
        manifest=f"{RESULTS}/structures/{VACANCY_SYS}/manifest.json",
    output:
        params=f"{RESULTS}/parameters/{VACANCY_SYS}.json",
        maps=f"{RESULTS}/vacancy/{VACANCY_SYS}/maps.npz",
        fig3a=report(f"{RESULTS}/figures/fig3a.png", caption="../report/vacancy_fig3a.rst", category="DFT"),
        radial=report(f"{RESULTS}/figures/vacancy_radial.png", caption="../report/vacancy_radial.rst", category="DFT"),
    log:
        f"{LOGS}/vacancy/{VACANCY_SYS}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 20 * attempt,
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        vacancy=VACANCY_CFG,
        system=VACANCY_SYS,
        profile=PROFILE,
    script:
        "../../scripts/vacancy_spin_density.py"


rule vacancy:
    """Target: the vacancy parameters file and its figures."""
    input:
        rules.vacancy_spin_density.output,


ALL_TARGETS.extend(
    [
        f"{RESULTS}/parameters/{VACANCY_SYS}.json",
        f"{RESULTS}/figures/fig3a.png",
        f"{RESULTS}/figures/vacancy_radial.png",
    ]
)
