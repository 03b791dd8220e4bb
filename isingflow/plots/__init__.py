"""Figures of the pipeline.

The matplotlib backend is chosen here, once for the whole package: every figure is written to a
file by a batch job (no display), so the non-interactive ``Agg`` backend is used.  Every plotting
module lives in this package, so importing any of them runs this first.
"""
import matplotlib

matplotlib.use("Agg")
