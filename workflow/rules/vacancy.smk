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


# The same vacancy in cells of growing N (`snakemake vacancy_cells`; config
# vacancy.cell_series, e.g. config/studies/vacancy_cells.yaml): R_d only where the cell does not limit it.
CELL_SERIES = VACANCY_CFG["cell_series"]


rule vacancy_cell:
    """One cell of the series: the vacancy analysis of its ground state (no figures)."""
    input:
        gpw=f"{RESULTS}/dft/{{system}}/base/gs.gpw",
        summary=f"{RESULTS}/dft/{{system}}/base/gs.json",
        manifest=f"{RESULTS}/structures/{{system}}/manifest.json",
    output:
        f"{RESULTS}/vacancy/cells/{{system}}.json",
    log:
        f"{LOGS}/vacancy/cells/{{system}}.log",
    wildcard_constraints:
        system="|".join(CELL_SERIES["systems"]) or "^$",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=lambda wc, attempt: 20 * attempt,
        mem_mb=lambda wc, attempt: 8000 * attempt,
    params:
        vacancy=VACANCY_CFG,
        profile=PROFILE,
    script:
        "../../scripts/vacancy_cell.py"


rule vacancy_cells:
    """Target: R_d against the supercell size, reported only when resolved and stable."""
    input:
        [f"{RESULTS}/vacancy/cells/{s}.json" for s in CELL_SERIES["systems"]],
    output:
        table=f"{RESULTS}/studies/vacancy_cells.md",
        json=f"{RESULTS}/studies/vacancy_cells.json",
    log:
        f"{LOGS}/vacancy/cells.log",
    conda:
        CONDA_ENV
    params:
        rel_tol=CELL_SERIES["rel_tol"],
    script:
        "../../scripts/vacancy_cells_table.py"
