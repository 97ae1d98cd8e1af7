"""Relevance methods: attention rollout and Chefer et al.'s relevance for video transformers;
LRP (zennit) with video canonizers, guided backprop and excitation backprop for CNNs."""

from vidxai.relevance import (  # noqa: F401  (each module registers its method)
    excitation_backprop,
    guided_backprop,
    lrp,
    rollout,
    transformer_relevance,
)
