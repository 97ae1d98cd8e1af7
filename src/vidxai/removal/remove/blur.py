"""The removal stage's blur: vidxai's one Gaussian blur from :mod:`vidxai.ops.blur`.

Reflect border, kernel radius ``int(4σ + 0.5)`` (SciPy's ``gaussian_filter`` rules).
"""

from __future__ import annotations

from torch import Tensor

from vidxai.ops.blur import blur_axis, gaussian_blur, gaussian_matrix

__all__ = ["blur_axis", "blur_video", "gaussian_matrix"]


def blur_video(x: Tensor, sigma: float, mode: str = "3d") -> Tensor:
    """Blur a ``…×T×H×W`` tensor over (T, H, W) (``"3d"``) or over (H, W) per frame (``"2d"``)."""
    return gaussian_blur(x, sigma, mode)
