# Extraction stage: model parameters from the normalised band files.

MONOLAYER = config["dft"]["monolayer"]["system"]


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
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/extract/{MONOLAYER}_soc.log",
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
HET = EXTRACT["heterostructure"]
# ⟨λex⟩ comes from the registry × distance variants of ENSEMBLE_SYSTEM: the heterostructure itself
# or (extract.ensemble.system) a cheaper system with the same interface, e.g. NbSe2/CrBr3
ENSEMBLE_SYSTEM = EXTRACT["ensemble"].get("system", HET)
ENSEMBLE_VARIANTS = ensemble_variants(ENSEMBLE_SYSTEM)


rule extract_heterostructure:
    """Every DFT-derived number of the paper for the heterostructure, with Fig. 1b/1c/1d."""
    input:
        het_gs=f"{RESULTS}/dft/{HET}/base/gs.json",
        het_mesh=f"{RESULTS}/dft/{HET}/base/mesh.npz",
        het_unfolded=f"{RESULTS}/dft/{HET}/base/bands_unfolded.npz",
        het_manifest=f"{RESULTS}/structures/{HET}/manifest.json",
        ensemble_manifest=f"{RESULTS}/structures/{ENSEMBLE_SYSTEM}/manifest.json",
        bilayer_unfolded=f"{RESULTS}/dft/{EXTRACT['bilayer']}/base/bands_unfolded.npz",
        sc_gs=f"{RESULTS}/dft/{EXTRACT['monolayer_superconductor']}/base/gs.json",
        sc_soc=f"{RESULTS}/dft/{EXTRACT['monolayer_superconductor']}/base/bands_soc.npz",
        sc_nosoc=f"{RESULTS}/dft/{EXTRACT['monolayer_superconductor']}/base/bands_nosoc.npz",
        mag_gs=f"{RESULTS}/dft/{EXTRACT['monolayer_magnet']}/base/gs.json",
        mag_bands=f"{RESULTS}/dft/{EXTRACT['monolayer_magnet']}/base/bands_nosoc.npz",
        ensemble_mesh=[f"{RESULTS}/dft/{ENSEMBLE_SYSTEM}/{dft_variant(ENSEMBLE_SYSTEM, v)}/mesh.npz" for v in ENSEMBLE_VARIANTS],
    output:
        params=f"{RESULTS}/parameters/{HET}.json",
        ensemble_csv=f"{RESULTS}/parameters/{HET}_lambda_ex_ensemble.csv",
        fig1b=report(f"{RESULTS}/figures/fig1b.png", caption="../report/fig1b.rst", category="DFT"),
        fig1c=report(f"{RESULTS}/figures/fig1c.png", caption="../report/fig1c.rst", category="DFT"),
        fig1d=report(f"{RESULTS}/figures/fig1d.png", caption="../report/fig1d.rst", category="DFT"),
        hotspots=report(f"{RESULTS}/figures/hotspots.png", caption="../report/hotspots.rst", category="DFT"),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/extract/{HET}.log",
    params:
        extract=EXTRACT,
        het=HET,
        bilayer=EXTRACT["bilayer"],
        ensemble_system=ENSEMBLE_SYSTEM,
        ensemble_variants=ENSEMBLE_VARIANTS,
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


VACANCY_SYSTEM = config.get("vacancy", {}).get("system", "NbSe2-VSe")


rule summary:
    """results/summary.md: each number we compute beside the paper's value and the ratio."""
    input:
        monolayer=f"{RESULTS}/parameters/{MONOLAYER}.json",
        heterostructure=f"{RESULTS}/parameters/{HET}.json",
        vacancy=f"{RESULTS}/parameters/{VACANCY_SYSTEM}.json",
        peaks=f"{RESULTS}/model/fig2c_peaks.csv",
        paper_values=os.path.join(workflow.basedir, "workflow", "paper_values.yaml"),
    output:
        f"{RESULTS}/summary.md",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/extract/summary.log",
    params:
        profile=PROFILE,
    script:
        "../../scripts/summary.py"


ALL_TARGETS.append(f"{RESULTS}/summary.md")
