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
