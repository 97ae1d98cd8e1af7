"""Class Feature Pyramids (Stergiou et al. 2019): the kernels a class depends on, layer by layer.

1. The classifier's weights for the target class are min-max normalised; the last layer's
   kernels with a normalised weight ≥ θ are selected.
2. From each selected kernel a back-step (see :mod:`vidxai.cam.pyramids`) selects the input
   channels it depends on, which are kernels of the convolutions below; this repeats for
   ``depth`` levels.
3. Outputs: the map ``Σ_{selected k} W[c, k]·A_k`` (Saliency Tubes restricted to the selected
   kernels), the kernel dependency graph as a JSON-able dict, and one saliency tube per selected
   kernel (the sum of its selected input channels' maps, upsampled, min-max normalised).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.cam.core import clip_size, upsample, weighted_map
from vidxai.cam.head import find_linear_head
from vidxai.cam.layers import require_class_target
from vidxai.cam.layout import infer_layout, to_volume
from vidxai.cam.pyramids import build_pyramid, producers, pyramid_tube
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError, UnsupportedModelError
from vidxai.ops import minmax


@dataclass(frozen=True)
class ClassFeaturePyramidsParams:
    """Parameters of :func:`class_feature_pyramids`.

    Attributes:
        threshold: θ in [0, 1] for selecting kernels (the reference uses 0.55–0.65).
        depth: number of convolution levels to back-step through (≥ 1).
        layer: the layer feeding global pooling (default: the model's default layer).
        max_tubes: keep at most this many saliency tubes (by level, then score); ``None`` = all.
    """

    threshold: float = 0.6
    depth: int = 3
    layer: str | None = None
    max_tubes: int | None = 16

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ParameterError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.depth < 1:
            raise ParameterError(f"depth must be >= 1, got {self.depth}")
        if self.max_tubes is not None and self.max_tubes < 0:
            raise ParameterError(f"max_tubes must be >= 0, got {self.max_tubes}")


@register_method(
    "class_feature_pyramids",
    params=ClassFeaturePyramidsParams,
    family="cam",
    description="Class Feature Pyramids: back-steps through kernel weights; graph + tubes.",
    quick_params={"depth": 2, "max_tubes": 4},
)
def class_feature_pyramids(ctx: ExplainContext, params: ClassFeaturePyramidsParams) -> MethodOutput:
    """One forward pass, no gradients. Extras: ``graph`` (JSON-able), ``tubes``
    (``"<layer>_k<kernel>" → T×H×W`` map, min-max normalised; the CLI writes one overlay per
    tube) and ``tube_index`` (``[layer, kernel]`` per tube, same order)."""
    cls = require_class_target(ctx, "class_feature_pyramids")
    head = find_linear_head(ctx, params.layer, "class_feature_pyramids", with_convs=True)
    assert head.convs is not None
    convs = head.convs
    class_weights = minmax(head.weight[cls].unsqueeze(0))[0]
    selected = (class_weights >= params.threshold).nonzero().flatten()
    selected = selected[class_weights[selected].argsort(descending=True)]
    roots = [(int(k), float(class_weights[k])) for k in selected]
    root_layers = producers(head.head_input, convs, int(head.weight.shape[1]))
    if not root_layers:
        raise UnsupportedModelError(
            "class_feature_pyramids needs convolutions (Conv2d/Conv3d) whose output channels "
            f"feed the classifier {head.name!r}; none were found."
        )
    roots_by_layer = dict.fromkeys(root_layers, roots)
    pyramid = build_pyramid(convs, roots_by_layer, params.threshold, params.depth)
    nodes = pyramid.nodes

    acts = head.capture.acts
    weights = torch.zeros_like(head.weight[cls])
    weights[selected] = head.weight[cls][selected]
    cam = weighted_map(acts, weights.to(acts.dtype).view(1, -1, 1, 1, 1), relu=False)
    size = clip_size(ctx.x)

    ranked = sorted(
        (node.level, -node.score, layer, kernel)
        for layer, ks in nodes.items()
        for kernel, node in ks.items()
    )
    if params.max_tubes is not None:
        ranked = ranked[: params.max_tubes]
    tubes = {}
    index = []
    for _, _, layer, kernel in ranked:
        node = nodes[layer][kernel]
        if not node.children:
            continue
        raw = pyramid_tube(convs[layer], node.children)
        layout = infer_layout(tuple(raw.shape), tuple(ctx.x.shape))
        vol = to_volume(raw, layout, int(ctx.x.shape[0]))
        tubes[f"{layer}_k{kernel}"] = minmax(upsample(vol[:, 0], size))[0]
        index.append([layer, kernel])

    graph = {
        "class": cls,
        "threshold": params.threshold,
        "depth": params.depth,
        "head": head.name,
        "roots": {layer: [k for k, _ in roots] for layer in root_layers},
        "producers": pyramid.producers,
        "nodes": {
            layer: {
                str(k): {
                    "level": n.level,
                    "score": n.score,
                    "children": n.children,
                    "child_scores": n.child_scores,
                }
                for k, n in ks.items()
            }
            for layer, ks in nodes.items()
        },
    }
    extras = {
        "layer": head.capture.name,
        "head": head.name,
        "graph": graph,
        "tubes": tubes,
        "tube_index": index,
    }
    return MethodOutput(upsample(cam, size)[0], extras)
