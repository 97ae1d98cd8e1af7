"""Activation methods: Grad-CAM family, Score-CAM, Saliency Tubes, Class Feature Pyramids."""

from vidxai.cam import (  # noqa: F401
    class_feature_pyramids,
    gradcam,
    gradcampp,
    layercam,
    saliency_tubes,
    scorecam,
)
