"""Feature and sample selection stage: samplers produce the design matrix of perturbed clips."""

from vidxai.removal.sample.base import Sampler, Samples
from vidxai.removal.sample.bernoulli import BernoulliSampler
from vidxai.removal.sample.cuboid import SlidingCuboidSampler, box_indicators
from vidxai.removal.sample.design import DESIGNS, DesignName, uniform_points
from vidxai.removal.sample.one_in import OneInSampler
from vidxai.removal.sample.one_out import OneOutSampler
from vidxai.removal.sample.shapley import ShapleySampler, shapley_kernel

__all__ = [
    "DESIGNS",
    "BernoulliSampler",
    "DesignName",
    "OneInSampler",
    "OneOutSampler",
    "Sampler",
    "Samples",
    "ShapleySampler",
    "SlidingCuboidSampler",
    "box_indicators",
    "shapley_kernel",
    "uniform_points",
]
