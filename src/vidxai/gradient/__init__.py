"""Gradient methods: saliency, gradient × input, integrated gradients, SmoothGrad."""

from vidxai.gradient import saliency  # noqa: F401
