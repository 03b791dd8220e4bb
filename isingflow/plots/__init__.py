"""Figures of the pipeline (matplotlib, Agg backend)."""
