"""Post-processing of attribution maps (selective relevance) and the methods built on it."""

from vidxai.postprocess import selective_relevance  # noqa: F401  (registers the method)
from vidxai.postprocess.selective import (
    SelectiveParams,
    apply_selective,
    selective_map,
    temporal_change,
)

__all__ = ["SelectiveParams", "apply_selective", "selective_map", "temporal_change"]
