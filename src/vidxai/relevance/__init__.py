"""Relevance methods: attention rollout and Chefer et al.'s relevance for video transformers;
LRP (zennit) with video canonizers, guided backprop and excitation backprop for CNNs."""

from vidxai.relevance import rollout, transformer_relevance  # noqa: F401  (register methods)
