"""Activation methods: the Grad-CAM family and its variants, score- and ablation-based CAMs,
Eigen-CAM, Saliency Tubes, Class Feature Pyramids."""

from vidxai.cam import (  # noqa: F401
    ablationcam,
    class_feature_pyramids,
    eigencam,
    gradcam,
    gradcampp,
    hirescam,
    iscam,
    layercam,
    saliency_tubes,
    scorecam,
    smooth_gradcampp,
    sscam,
    xgradcam,
)
