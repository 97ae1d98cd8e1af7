"""The README figures of issue 14: AOSA / SWAG-V / selective relevance, and the CAM variants.

Every map is computed with the bundled demo model (``vidxai.load_model("vidxai-demo")``) on a
held-out clip of the synthetic benchmark (``make_clip(20_000_001)``: seeds from 20 000 000 were
never trained on) and on the bundled real clip (``vidxai.data.example_video()``, which the demo
model was not trained on: its maps show what it reacts to on real footage, not a ground truth).
The pictures are drawn by vidxai's own :func:`vidxai.viz.frame_grid` (one row per method,
sampled frames as columns, the video on top; each map on its own colour scale, positive part,
top 30 % of voxels shown). One display step is this script's own, stated in the captions:

* The PNGs are reduced to a 256-colour palette (Pillow) and, if still over 300 KB, shrunk
  (:func:`compress`); the drawing is vidxai's.

Usage (from the repository root; about half a minute of CPU)::

    OMP_NUM_THREADS=1 python scripts/figure_families.py   # docs/figures/families_*.png
    OMP_NUM_THREADS=1 python scripts/figure_families.py --out /tmp/f --clips synthetic
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import vidxai
from vidxai.data.synthetic import make_clip

#: The held-out synthetic clip of the figures.
CLIP_SEED = 20_000_001

#: Figure (a): (row label, method, parameters); the methods' defaults unless stated.
REMOVAL_ROWS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("AOSA exact", "aosa", {}),
    ("AOSA Taylor", "aosa", {"approximate": True}),
    ("SWAG-V", "swag_v", {}),
    ("Grad-CAM", "gradcam", {}),
    ("selective", "selective_relevance", {"base": "gradcam"}),
)

#: Figure (b): Grad-CAM first as the reference, then the seven variants at their defaults.
CAM_ROWS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("Grad-CAM", "gradcam", {}),
    ("XGrad-CAM", "xgradcam", {}),
    ("HiResCAM", "hirescam", {}),
    ("SmoothGC++", "smooth_gradcampp", {}),
    ("SS-CAM", "sscam", {}),
    ("IS-CAM", "iscam", {}),
    ("AblationCAM", "ablationcam", {}),
    ("Eigen-CAM", "eigencam", {}),
)

#: Largest PNG written (the README's budget per figure).
MAX_BYTES = 300_000

#: Sampled frames per figure: fewer for the wide real clip, to keep the PNG small.
N_FRAMES = {"synthetic": 6, "example": 4}

FIGURES: dict[str, tuple[tuple[str, str, dict[str, Any]], ...]] = {
    "aosa_swagv": REMOVAL_ROWS,
    "cam": CAM_ROWS,
}


def explain_rows(
    model: Any, frames: Any, rows: tuple[tuple[str, str, dict[str, Any]], ...], target: int | None
) -> dict[str, Any]:
    """``{row label: Explanation}`` of every row on the same clip, target and seed (0)."""
    return {
        label: vidxai.explain(
            model, frames, method=method, target=target, seed=0, progress=False, **params
        )
        for label, method, params in rows
    }


def compress(path: Path, max_bytes: int = MAX_BYTES) -> Path:
    """Rewrite the PNG at ``path`` with a 256-colour palette (fast octree, no dithering),
    shrinking it by 10 % steps (Lanczos) while the file is larger than ``max_bytes``."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    scale = 1.0
    while True:
        size = (round(rgb.width * scale), round(rgb.height * scale))
        frame = rgb if scale == 1.0 else rgb.resize(size, Image.Resampling.LANCZOS)
        small = frame.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        small.save(path, optimize=True)
        if path.stat().st_size <= max_bytes or scale < 0.5:
            return path
        scale *= 0.9


def render(path: Path, frames: Any, maps: Mapping[str, Any], title: str, n_frames: int) -> Path:
    """One :func:`vidxai.viz.frame_grid` PNG (positive part, top 30 % of voxels shown),
    then compressed (:func:`compress`)."""
    from vidxai import viz

    options = viz.VizOptions(polarity="positive", selection="topk", topk=0.3, alpha=0.7)
    shown = dict(maps)
    path = viz.frame_grid(
        path, frames, shown, n_frames=n_frames, options=options, title=title, pdf=False
    )
    return compress(path)


def clips(which: list[str]) -> list[tuple[str, Any, int | None, str]]:
    """(name, frames, target, description) of the requested clips."""
    out: list[tuple[str, Any, int | None, str]] = []
    if "synthetic" in which:
        clip = make_clip(CLIP_SEED)
        what = f"held-out synthetic clip {CLIP_SEED:_} (class {clip.class_name})"
        out.append(("synthetic", clip.frames, int(clip.label), what))
    if "example" in which:
        video = vidxai.read_video(vidxai.data.example_video())
        out.append(("example", video, None, "Big Buck Bunny excerpt (top-1 class)"))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures", help="folder of the PNGs")
    parser.add_argument(
        "--clips", nargs="+", choices=("synthetic", "example"), default=["synthetic", "example"]
    )
    parser.add_argument("--figures", nargs="+", choices=tuple(FIGURES), default=list(FIGURES))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    model = vidxai.load_model("vidxai-demo")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for clip_name, frames, target, what in clips(args.clips):
        for figure in args.figures:
            maps = explain_rows(model, frames, FIGURES[figure], target)
            name = next(iter(maps.values())).target_name
            title = f"demo model, {what}: target {name}"
            path = out / f"families_{figure}_{clip_name}.png"
            render(path, frames, maps, title, N_FRAMES[clip_name])
            print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
