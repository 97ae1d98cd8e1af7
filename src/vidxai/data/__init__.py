"""Synthetic ground-truth benchmark, the bundled demo model and a short real example clip."""

from vidxai.data.demo_model import (
    DEMO_CLASS_NAMES,
    DEMO_DEFAULT_LAYER,
    DEMO_SPEC_KWARGS,
    DemoNet,
    frames_to_input,
    load_demo_module,
)
from vidxai.data.example import EXAMPLE_LICENCE, example_video
from vidxai.data.synthetic import (
    CLASS_NAMES,
    SyntheticClip,
    SyntheticConfig,
    SyntheticDataset,
    make_clip,
    make_dataset,
)

__all__ = [
    "CLASS_NAMES",
    "DEMO_CLASS_NAMES",
    "DEMO_DEFAULT_LAYER",
    "DEMO_SPEC_KWARGS",
    "EXAMPLE_LICENCE",
    "DemoNet",
    "SyntheticClip",
    "SyntheticConfig",
    "SyntheticDataset",
    "example_video",
    "frames_to_input",
    "load_demo_module",
    "make_clip",
    "make_dataset",
]
