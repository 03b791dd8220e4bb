# Extraction stage: model parameters from the normalised band files.
#
#   results/parameters/<monolayer>.json               ΔSOC(k) of each superconductor monolayer
#   results/parameters/ensemble/<system>.json         ⟨λex⟩ of a stack's lateral-shift × distance variants
#   results/heterostructures/<het>/parameters.json    every DFT number of one heterostructure
#   results/heterostructures/<het>/figures/*.png      its Fig. 1b/1c/1d and hot spots
#   results/heterostructures/<het>/equilibrium/...    the same at the van der Waals equilibrium
#                                                     (geometry.equilibrium_heterostructures)
#   results/figures/fig1{b,c,d}.png, hotspots.png     those of extract.heterostructure (the paper's)

MONOLAYER = SYSTEMS.monolayer


rule monolayer_soc:
    """ΔSOC(k) of a superconductor monolayer's d band along Γ–K and at K; band figure coloured by ⟨σz⟩."""
    input:
        soc=f"{RESULTS}/dft/{{system}}/base/bands_soc.npz",
        nosoc=f"{RESULTS}/dft/{{system}}/base/bands_nosoc.npz",
    output:
        params=f"{RESULTS}/parameters/{{system}}.json",
        figure=report(
            f"{RESULTS}/figures/{{system}}_bands.png",
            caption="../report/monolayer_bands.rst",
            category="DFT",
        ),
    log:
        f"{LOGS}/extract/{{system}}_soc.log",
    wildcard_constraints:
        system="|".join(re.escape(s) for s in superconductor_monolayers()),
    conda:
        CONDA_ENV
    params:
        profile=PROFILE,
    script:
        "../../scripts/extract_monolayer_soc.py"


ALL_TARGETS.extend(
    [f"{RESULTS}/parameters/{s}.json" for s in superconductor_monolayers()]
    + [f"{RESULTS}/figures/{s}_bands.png" for s in superconductor_monolayers()]
)

# --- heterostructures: λex, moments, alignment, spin filter, t⊥(k), ⟨λex⟩ --------------------
EXTRACT = config["extract"]


rule extract_ensemble:
    """λex of each lateral shift × distance variant of a stack; ⟨λex⟩ over the shift grids and the λex(d) fit."""
    input:
        manifest=manifest_file,
        mesh=lambda wc: [
            f"{RESULTS}/dft/{wc.system}/{dft_variant(wc.system, v)}/mesh.npz" for v in ensemble_members(wc.system)
        ],
        gs=lambda wc: [
            f"{RESULTS}/dft/{wc.system}/{dft_variant(wc.system, v)}/gs.json" for v in ensemble_members(wc.system)
        ],
    output:
        json=f"{RESULTS}/parameters/ensemble/{{system}}.json",
        csv=f"{RESULTS}/parameters/ensemble/{{system}}.csv",
    log:
        f"{LOGS}/extract/ensemble_{{system}}.log",
    conda:
        CONDA_ENV
    params:
        variants=lambda wc: ensemble_members(wc.system),
        superconductor_layers=lambda wc: superconductor_layers_of(config, wc.system),
        lambda_ex=EXTRACT["lambda_ex"],
        d_eval_angstrom=EXTRACT["ensemble"]["d_eval_angstrom"],
        stacking_grids=EXTRACT["ensemble"]["stacking_grids"],
        profile=PROFILE,
    script:
        "../../scripts/extract_ensemble.py"


rule ensemble_systems:
    """⟨λex⟩ of the paper heterostructure's own ensemble beside that of its one-interface bilayer, with
    cost: the evidence that the cheaper system moves ⟨λex⟩ less than its uncertainty (docs/ensemble.md)."""
    input:
        [
            f"{RESULTS}/parameters/ensemble/{s}.json"
            for s in dict.fromkeys([PAPER_HET, HETEROSTRUCTURES[PAPER_HET].ensemble])
        ],
    output:
        f"{RESULTS}/convergence/ensemble_systems.md",
    log:
        f"{LOGS}/convergence/ensemble_systems.log",
    conda:
        CONDA_ENV
    script:
        "../../scripts/ensemble_systems_table.py"


HET_FIGURES = ("fig1b", "fig1c", "fig1d", "hotspots")


# Every DFT-derived number of one heterostructure, with its Fig. 1b/1c/1d and hot spots: at its configured
# geometry (variant `base`, results/heterostructures/<het>/) and, for geometry.equilibrium_heterostructures,
# at the van der Waals equilibrium of its lowest stacking (results/heterostructures/<het>/equilibrium/)
for _variant, _sub, _suffix in (
    ("base", "", ""),
    (EQUILIBRIUM_VARIANT, f"{EQUILIBRIUM_VARIANT}/", f"_{EQUILIBRIUM_VARIANT}"),
):

    rule:
        name:
            f"extract_heterostructure{_suffix}"
        input:
            unpack(heterostructure_inputs(_variant)),
        output:
            params=f"{HET_DIR}/{_sub}parameters.json",
            fig1b=f"{HET_DIR}/{_sub}figures/fig1b.png",
            fig1c=f"{HET_DIR}/{_sub}figures/fig1c.png",
            fig1d=f"{HET_DIR}/{_sub}figures/fig1d.png",
            hotspots=f"{HET_DIR}/{_sub}figures/hotspots.png",
        log:
            f"{LOGS}/extract/heterostructures/{{het}}{_suffix}.log",
        wildcard_constraints:
            het=het_wildcard(),
        conda:
            CONDA_ENV
        params:
            extract=lambda wc: HETEROSTRUCTURES[wc.het].extract_settings(EXTRACT),
            bilayer=lambda wc: HETEROSTRUCTURES[wc.het].superconductor_bilayer,
            layers=lambda wc: list(HETEROSTRUCTURES[wc.het].layers),
            profile=PROFILE,
        script:
            "../../scripts/extract_heterostructure.py"


# Fig. 1b/1c/1d and the hot spots of the heterostructure compared with the paper, under results/figures/
for _fig in HET_FIGURES:

    rule:
        name:
            f"paper_{_fig}"
        input:
            het_file(PAPER_HET, f"figures/{_fig}.png"),
        output:
            report(f"{RESULTS}/figures/{_fig}.png", caption=f"../report/{_fig}.rst", category="DFT"),
        log:
            f"{LOGS}/extract/paper_{_fig}.log",
        localrule: True
        conda:
            CONDA_ENV
        shell:
            "cp {input} {output} 2> {log}"


ALL_TARGETS.extend(
    [het_file(h, "parameters.json") for h in HETEROSTRUCTURES]
    + [het_file(h, f"{EQUILIBRIUM_VARIANT}/parameters.json") for h in EQUILIBRIUM_HETS]
    + [f"{RESULTS}/figures/{f}.png" for f in HET_FIGURES]
)


rule extract:
    """Every extracted parameter file and DFT figure."""
    input:
        [f"{RESULTS}/parameters/{s}.json" for s in superconductor_monolayers()],
        [het_file(h, "parameters.json") for h in HETEROSTRUCTURES],
        [het_file(h, f"{EQUILIBRIUM_VARIANT}/parameters.json") for h in EQUILIBRIUM_HETS],
        [f"{RESULTS}/figures/{f}.png" for f in HET_FIGURES],
