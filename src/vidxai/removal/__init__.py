"""Removal-based explanations (the REVEX framework): segment/ sample/ remove/ summarize/ stages,
composed by :mod:`vidxai.removal.pipeline` and declared as methods in :mod:`vidxai.removal.presets`.
"""

from vidxai.removal import aosa, presets  # noqa: F401  (registers lime3d, …, aosa)
from vidxai.removal.pipeline import Pipeline, run_pipeline

__all__ = ["Pipeline", "run_pipeline"]
