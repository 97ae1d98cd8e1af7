"""Re-export of :class:`vidxai.core.geometry.Geometry` (its home moved to ``core``)."""

from vidxai.core.geometry import Geometry

__all__ = ["Geometry"]
