# Report stage: results/summary.md puts our numbers beside the paper's; results/comparison.md puts the
# heterostructures side by side.  They read the outputs of the extraction, vacancy and model stages, so
# this file is included after them.  `snakemake --report results/report.zip` bundles every figure with
# its caption from workflow/report/.


rule summary:
    """results/summary.md: each number we compute beside the paper's value and the ratio."""
    input:
        unpack(summary_handoff),
        unpack(summary_equilibrium),
        monolayer=f"{RESULTS}/parameters/{MONOLAYER}.json",
        heterostructure=het_file(PAPER_HET, "parameters.json"),
        vacancy=f"{RESULTS}/parameters/{VACANCY_SYS}.json",
        peaks=f"{RESULTS}/model/fig2c_peaks.csv",
        paper_values=os.path.join(workflow.basedir, "workflow", "paper_values.yaml"),
    output:
        f"{RESULTS}/summary.md",
    log:
        f"{LOGS}/report/summary.log",
    conda:
        CONDA_ENV
    params:
        profile=PROFILE,
    script:
        "../../scripts/summary.py"


rule comparison:
    """results/comparison.md and its figure: one row per heterostructure (λex, ⟨λex⟩, B, moments,
    barriers, spin filter, t⊥, the model's Δo and FWHM change)."""
    input:
        unpack(comparison_inputs),
    output:
        table=report(f"{RESULTS}/comparison.md", caption="../report/comparison.rst", category="Heterostructures"),
        json=f"{RESULTS}/comparison.json",
        figure=report(
            f"{RESULTS}/figures/comparison.png", caption="../report/comparison.rst", category="Heterostructures"
        ),
    log:
        f"{LOGS}/report/comparison.log",
    conda:
        CONDA_ENV
    params:
        names=list(HETEROSTRUCTURES),
        elements={h.name: h.superconductor_element for h in HETEROSTRUCTURES.values()},
        profile=PROFILE,
    script:
        "../../scripts/comparison.py"


ALL_TARGETS.extend([f"{RESULTS}/summary.md", f"{RESULTS}/comparison.md", f"{RESULTS}/figures/comparison.png"])
