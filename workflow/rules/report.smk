# Report stage: results/summary.md puts our numbers beside the paper's; it reads the outputs of the
# extraction, vacancy and model stages, so it is included after them.  `snakemake --report
# results/report.zip` bundles every figure with its caption from workflow/report/.


rule summary:
    """results/summary.md: each number we compute beside the paper's value and the ratio."""
    input:
        unpack(summary_handoff),
        monolayer=f"{RESULTS}/parameters/{MONOLAYER}.json",
        heterostructure=f"{RESULTS}/parameters/{HET}.json",
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


ALL_TARGETS.append(f"{RESULTS}/summary.md")
