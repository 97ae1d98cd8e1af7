"""Summary stage: turn (design, scores) into attributions and standard errors."""

from vidxai.removal.summarize.base import Summary, SummaryInput, feature_output
from vidxai.removal.summarize.difference import Difference
from vidxai.removal.summarize.mean import MeanWhenKept, PixelMean
from vidxai.removal.summarize.occluded import OccludedValue
from vidxai.removal.summarize.regression import ridge_loo
from vidxai.removal.summarize.ridge import LimeRidge, lime_kernel, weighted_ridge
from vidxai.removal.summarize.shapley import KernelShapWLS, constrained_wls

__all__ = [
    "Difference",
    "KernelShapWLS",
    "LimeRidge",
    "MeanWhenKept",
    "OccludedValue",
    "PixelMean",
    "Summary",
    "SummaryInput",
    "constrained_wls",
    "feature_output",
    "lime_kernel",
    "ridge_loo",
    "weighted_ridge",
]
