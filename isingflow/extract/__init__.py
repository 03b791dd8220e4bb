"""Extraction stage: from normalised band files and spin densities to the numbers the model needs.

=====================  ==================================================================
module                 what it holds
=====================  ==================================================================
``bands``              ΔSOC(k) (Ising splitting), λex (exchange splitting), Fermi crossings
``alignment``          band edges against vacuum, tunnelling barriers, WKB spin filter
``hopping``            t⊥(k) from unfolded bands, hot spots (|t⊥|² against ΔSOC)
``ensemble``           the stacking ensemble: ⟨λex⟩, its error, the λex(d) fit, tables
``heterostructure``    :func:`heterostructure_parameters`, the one entry point of the stack
``vacancy``            Se vacancy: moment, R_d, sign changes, the JSON record and maps
``spin_density``       the spin density n↑ − n↓ on the DFT grid: moments, slabs, columns
``radial``             minimum-image geometry and radial profiles around a point
``units``              constants (CODATA 2018 via ASE) and λex → B → Tc0 conversions
``errors``             :class:`PhysicsGateError`
=====================  ==================================================================

Definitions, conventions, units and sign choices of every quantity: ``docs/extraction.md``.
"""
from isingflow.extract.alignment import band_alignment, band_edges, spin_filter, wkb_transmission
from isingflow.extract.bands import (
    ExchangeSplitting,
    IsingSplitting,
    exchange_splitting,
    fermi_crossing_bands,
    fermi_crossings,
    ising_splitting,
    layer_moments,
    lowest_state_above_ef,
    monolayer_soc,
    monolayer_soc_parameters,
    segment_indices,
)
from isingflow.extract.ensemble import (
    compare_ensembles,
    ensemble_average,
    ensemble_systems_report,
    ensemble_table_markdown,
    fit_exponential_decay,
    grid_averages,
    stacking_ensemble,
)
from isingflow.extract.errors import PhysicsGateError
from isingflow.extract.heterostructure import (
    HeterostructureInputs,
    HeterostructureResult,
    equivalent_field,
    heterostructure_parameters,
)
from isingflow.extract.hopping import hot_spots, hotspot_correlation, interlayer_hopping
from isingflow.extract.units import field_from_exchange, tesla_to_tc_units

__all__ = [
    "ExchangeSplitting", "HeterostructureInputs", "HeterostructureResult", "IsingSplitting", "PhysicsGateError",
    "band_alignment", "band_edges", "compare_ensembles", "ensemble_average", "ensemble_systems_report",
    "ensemble_table_markdown", "equivalent_field", "exchange_splitting", "fermi_crossing_bands", "fermi_crossings",
    "field_from_exchange", "fit_exponential_decay", "grid_averages", "heterostructure_parameters", "hot_spots",
    "hotspot_correlation", "interlayer_hopping", "ising_splitting", "layer_moments", "lowest_state_above_ef",
    "monolayer_soc", "monolayer_soc_parameters", "segment_indices", "spin_filter", "stacking_ensemble",
    "tesla_to_tc_units", "wkb_transmission",
]
