"""Explaining with one method does not pay for the others' heavy dependencies.

The registry imports every built-in method module to list them; those modules must import
their heavy third-party libraries only when their method runs. zennit (LRP) imports all of
torchvision, which imports ``torch._dynamo`` — seconds on a CPU — and scikit-image's SLIC is
only needed by the segmenting methods.
"""

from __future__ import annotations

import subprocess
import sys

from vidxai.relevance.composites import COMPOSITES
from vidxai.relevance.lrp import COMPOSITE_NAMES


def test_lrp_validates_the_composite_names_that_zennit_builds() -> None:
    assert set(COMPOSITE_NAMES) == set(COMPOSITES)


def test_a_saliency_explanation_of_the_demo_model_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import vidxai\n"
        "from vidxai.core.registry import list_methods\n"
        "assert len(list_methods()) > 20\n"
        "model = vidxai.load_model('vidxai-demo')\n"
        "clip = vidxai.data.make_clip(20_000_000)\n"
        "vidxai.explain(model, clip.frames, method='saliency', progress=False)\n"
        "heavy = ('zennit', 'torchvision', 'torch._dynamo', 'skimage.segmentation', "
        "'matplotlib', 'transformers')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "", f"imported: {out.stdout.strip()}"
