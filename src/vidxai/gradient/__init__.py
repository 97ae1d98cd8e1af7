"""Gradient methods: saliency, gradient × input, integrated gradients, SmoothGrad, SWAG-V."""

from vidxai.gradient import (  # noqa: F401
    grad_x_input,
    integrated_gradients,
    saliency,
    smoothgrad,
    swag_v,
)
