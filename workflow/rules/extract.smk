# Extraction stage: model parameters from the normalised band files.

MONOLAYER = SYSTEMS.monolayer


rule monolayer_soc:
    """ΔSOC(k) of the monolayer Nb-d band along Γ–K and at K; band figure coloured by ⟨σz⟩."""
    input:
        soc=f"{RESULTS}/dft/{MONOLAYER}/base/bands_soc.npz",
        nosoc=f"{RESULTS}/dft/{MONOLAYER}/base/bands_nosoc.npz",
    output:
        params=f"{RESULTS}/parameters/{MONOLAYER}.json",
        figure=report(
            f"{RESULTS}/figures/nbse2_monolayer_bands.png",
            caption="../report/monolayer_bands.rst",
            category="DFT",
        ),
    log:
        f"{LOGS}/extract/{MONOLAYER}_soc.log",
    conda:
        CONDA_ENV
    params:
        profile=PROFILE,
        system=MONOLAYER,
    script:
        "../../scripts/extract_monolayer_soc.py"


ALL_TARGETS.extend(
    [
        f"{RESULTS}/parameters/{MONOLAYER}.json",
        f"{RESULTS}/figures/nbse2_monolayer_bands.png",
    ]
)

# --- heterostructure: λex, moments, alignment, spin filter, t⊥(k), ⟨λex⟩ ----------------------
EXTRACT = config["extract"]
HET = SYSTEMS.heterostructure
# ⟨λex⟩ comes from the shift × distance variants of ENSEMBLE_SYSTEM: the heterostructure itself
# or (extract.ensemble.system) a cheaper system with the same interface, e.g. NbSe2/CrBr3
ENSEMBLE_SYSTEM = SYSTEMS.ensemble


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
    """⟨λex⟩ of the heterostructure's own ensemble beside that of extract.ensemble.system, with cost:
    the evidence that the cheaper system moves ⟨λex⟩ less than its uncertainty (docs/ensemble.md)."""
    input:
        [f"{RESULTS}/parameters/ensemble/{s}.json" for s in dict.fromkeys([HET, ENSEMBLE_SYSTEM])],
    output:
        f"{RESULTS}/convergence/ensemble_systems.md",
    log:
        f"{LOGS}/convergence/ensemble_systems.log",
    conda:
        CONDA_ENV
    script:
        "../../scripts/ensemble_systems_table.py"


rule extract_heterostructure:
    """Every DFT-derived number of the paper for the heterostructure, with Fig. 1b/1c/1d."""
    input:
        het_gs=f"{RESULTS}/dft/{HET}/base/gs.json",
        het_mesh=f"{RESULTS}/dft/{HET}/base/mesh.npz",
        het_unfolded=f"{RESULTS}/dft/{HET}/base/bands_unfolded.npz",
        ensemble=f"{RESULTS}/parameters/ensemble/{ENSEMBLE_SYSTEM}.json",
        bilayer_unfolded=f"{RESULTS}/dft/{SYSTEMS.bilayer}/base/bands_unfolded.npz",
        sc_gs=f"{RESULTS}/dft/{SYSTEMS.monolayer_superconductor}/base/gs.json",
        sc_soc=f"{RESULTS}/dft/{SYSTEMS.monolayer_superconductor}/base/bands_soc.npz",
        sc_nosoc=f"{RESULTS}/dft/{SYSTEMS.monolayer_superconductor}/base/bands_nosoc.npz",
        mag_gs=f"{RESULTS}/dft/{SYSTEMS.monolayer_magnet}/base/gs.json",
        mag_bands=f"{RESULTS}/dft/{SYSTEMS.monolayer_magnet}/base/bands_nosoc.npz",
    output:
        params=f"{RESULTS}/parameters/{HET}.json",
        fig1b=report(f"{RESULTS}/figures/fig1b.png", caption="../report/fig1b.rst", category="DFT"),
        fig1c=report(f"{RESULTS}/figures/fig1c.png", caption="../report/fig1c.rst", category="DFT"),
        fig1d=report(f"{RESULTS}/figures/fig1d.png", caption="../report/fig1d.rst", category="DFT"),
        hotspots=report(f"{RESULTS}/figures/hotspots.png", caption="../report/hotspots.rst", category="DFT"),
    log:
        f"{LOGS}/extract/{HET}.log",
    conda:
        CONDA_ENV
    params:
        extract=EXTRACT,
        het=HET,
        bilayer=SYSTEMS.bilayer,
        profile=PROFILE,
    script:
        "../../scripts/extract_heterostructure.py"


ALL_TARGETS.extend(
    [
        f"{RESULTS}/parameters/{HET}.json",
        f"{RESULTS}/figures/fig1b.png",
        f"{RESULTS}/figures/fig1c.png",
        f"{RESULTS}/figures/fig1d.png",
        f"{RESULTS}/figures/hotspots.png",
    ]
)


rule extract:
    """Every extracted parameter file and DFT figure."""
    input:
        f"{RESULTS}/parameters/{MONOLAYER}.json",
        f"{RESULTS}/parameters/{HET}.json",
