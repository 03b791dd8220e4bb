"""isingflow: DFT to Ising-superconductor model pipeline."""
__version__ = "0.1.0"
