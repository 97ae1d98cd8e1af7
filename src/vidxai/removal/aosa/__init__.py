"""AOSA: occlusion sensitivity with occluders that follow the motion (exact and first-order)."""

from vidxai.removal.aosa import method  # noqa: F401  (registers aosa)
from vidxai.removal.aosa.occluders import Occluders, flow_occluders, render_keep

__all__ = ["Occluders", "flow_occluders", "render_keep"]
