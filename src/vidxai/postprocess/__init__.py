"""Post-processing of attribution maps (selective relevance) and the methods built on it."""

from vidxai.postprocess.selective import (
    SelectiveParams,
    apply_selective,
    selective_map,
    temporal_change,
)

__all__ = ["SelectiveParams", "apply_selective", "selective_map", "temporal_change"]
