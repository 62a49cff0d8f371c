"""Plots of evaluation results (matplotlib, written to files)."""
from .plots import plot_eao, plot_ope

__all__ = ["plot_eao", "plot_ope"]
