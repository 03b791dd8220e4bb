# Ising-superconductor model stage (physics: docs/model.md): Γ-pocket Ising superconductor with exchange field,
# disorder and S–FI–S tunnelling.  Fig. 2 (dI/dV, Δo, peaks), Fig. 3b (in-plane B_c(φ_B)),
# Table I (power-law fits) and the hysteresis estimate.  Pure numpy/scipy, seconds per job;
# every physical and numerical setting comes from `model:` of the config (passed as params so
# that a config change reruns the job).  Energies, T, B, eV in units of Tc0.
MODEL = f"{RESULTS}/model"
MODEL_FIGS = f"{RESULTS}/figures"
MODEL_CFG = config["model"]

MODEL_OUTPUTS = [
    f"{MODEL}/fig2_dIdV.csv",
    f"{MODEL}/fig2c_peaks.csv",
    f"{MODEL}/fig2_order_parameter.csv",
    f"{MODEL}/fig3b_Bc.csv",
    f"{MODEL}/table1_scaling.csv",
    f"{MODEL}/hysteresis.csv",
    f"{MODEL_FIGS}/fig2a.png",
    f"{MODEL_FIGS}/fig2b.png",
    f"{MODEL_FIGS}/fig2c.png",
    f"{MODEL_FIGS}/fig3b.png",
    f"{MODEL_FIGS}/table1.md",
]


rule model_fig2:
    """Δo(B), dI/dV(V) and coherence-peak position/FWHM for B ∥ c and B ⊥ c (Fig. 2)."""
    output:
        dIdV=f"{MODEL}/fig2_dIdV.csv",
        peaks=f"{MODEL}/fig2c_peaks.csv",
        order_parameter=f"{MODEL}/fig2_order_parameter.csv",
    log:
        f"{LOGS}/model/fig2.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        fig2=MODEL_CFG["fig2"],
        numerics=MODEL_CFG["numerics"],
    script:
        "../../scripts/model_fig2.py"


rule model_fig3b:
    """In-plane critical field B_c(φ_B) for defect moments along x, y, z (Fig. 3b)."""
    output:
        bc=f"{MODEL}/fig3b_Bc.csv",
    log:
        f"{LOGS}/model/fig3b.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        fig3b=MODEL_CFG["fig3b"],
        numerics=MODEL_CFG["numerics"],
    script:
        "../../scripts/model_fig3b.py"


rule model_table1:
    """Power-law fits of the peak shift and broadening versus B beside Table I's laws."""
    input:
        peaks=f"{MODEL}/fig2c_peaks.csv",
        order_parameter=f"{MODEL}/fig2_order_parameter.csv",
    output:
        csv=f"{MODEL}/table1_scaling.csv",
        md=report(f"{MODEL_FIGS}/table1.md", caption="../report/model_table1.rst", category="Model"),
    log:
        f"{LOGS}/model/table1.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=5,
        mem_mb=500,
    params:
        fig2=MODEL_CFG["fig2"],
        table1=MODEL_CFG["table1"],
    script:
        "../../scripts/model_table1.py"


rule model_hysteresis:
    """Defect-moment flop temperature versus anisotropy energy (docs/model.md#hysteresis-estimate)."""
    output:
        csv=f"{MODEL}/hysteresis.csv",
    log:
        f"{LOGS}/model/hysteresis.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=5,
        mem_mb=500,
    params:
        hysteresis=MODEL_CFG["hysteresis"],
    script:
        "../../scripts/model_hysteresis.py"


rule model_plot_fig2:
    """Fig. 2(a), 2(b) (dI/dV with Δo(B) insets) and 2(c) (peak shift and FWHM)."""
    input:
        dIdV=f"{MODEL}/fig2_dIdV.csv",
        peaks=f"{MODEL}/fig2c_peaks.csv",
        order_parameter=f"{MODEL}/fig2_order_parameter.csv",
    output:
        a=report(f"{MODEL_FIGS}/fig2a.png", caption="../report/model_fig2.rst", category="Model"),
        b=report(f"{MODEL_FIGS}/fig2b.png", caption="../report/model_fig2.rst", category="Model"),
        c=report(f"{MODEL_FIGS}/fig2c.png", caption="../report/model_fig2c.rst", category="Model"),
    log:
        f"{LOGS}/model/plot_fig2.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        fig2=MODEL_CFG["fig2"],
    script:
        "../../scripts/model_plot_fig2.py"


rule model_plot_fig3b:
    """Fig. 3(b): B_c(φ_B), polar and Cartesian."""
    input:
        bc=f"{MODEL}/fig3b_Bc.csv",
    output:
        png=report(f"{MODEL_FIGS}/fig3b.png", caption="../report/model_fig3b.rst", category="Model"),
    log:
        f"{LOGS}/model/plot_fig3b.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        runtime=5,
        mem_mb=500,
    params:
        fig3b=MODEL_CFG["fig3b"],
    script:
        "../../scripts/model_plot_fig3b.py"


rule model:
    """Every output of the model stage (tables, figures)."""
    input:
        MODEL_OUTPUTS,


ALL_TARGETS.extend(MODEL_OUTPUTS)


if MODEL_CFG.get("from_dft", {}).get("enabled", False):

    rule model_dft_handoff:
        """dI/dV of one heterostructure for B ∥ c and B ⊥ c: B = its ⟨λex⟩-equivalent field (Tc0 units),
        its spin-filter weights; Δo, coherence peak and FWHM beside the zero-field ones."""
        input:
            het=het_file("{het}", "parameters.json"),
            monolayer=lambda wc: f"{RESULTS}/parameters/{HETEROSTRUCTURES[wc.het].monolayer_superconductor}.json",
        output:
            csv=het_file("{het}", "model/dft_handoff_dIdV.csv"),
            json=het_file("{het}", "model/dft_handoff.json"),
            figure=report(
                het_file("{het}", "figures/dft_handoff_dIdV.png"),
                caption="../report/model_dft_handoff.rst",
                category="Heterostructures",
                subcategory="{het}",
            ),
        log:
            f"{LOGS}/model/dft_handoff_{{het}}.log",
        wildcard_constraints:
            het=het_wildcard(),
        conda:
            CONDA_ENV
        params:
            cfg=MODEL_CFG["from_dft"],
            numerics=MODEL_CFG["numerics"],
        script:
            "../../scripts/model_dft_handoff.py"

    ALL_TARGETS.extend(het_file(h, "figures/dft_handoff_dIdV.png") for h in HETEROSTRUCTURES)
