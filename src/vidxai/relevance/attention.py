"""Where a video transformer's attention probabilities are, and how its tokens are laid out.

One :class:`AttentionModel` per architecture (a small registry, :func:`register_attention`):

* Hugging Face **TimeSformer** (divided space-time attention): per encoder layer the temporal
  attention (``temporal_attention.attention.attn_drop``, ``(B·P)×heads×T×T``) then the spatial
  attention (``attention.attention.attn_drop``, ``(B·T)×heads×(1+P)×(1+P)``); one class token;
  patch tokens space-major (token ``1 + p·T + t``); the head reads the class token.
  ``attention_type="joint_space_time"`` has one joint attention over all tokens per layer.
* Hugging Face **VideoMAE**: one joint attention per layer over the ``T′·h·w`` tubelet tokens
  (time-major, no class token; the self-attention module's second output, produced only by the
  ``eager`` attention implementation, which :meth:`AttentionModel.capture` switches on for the
  call); the head mean-pools the tokens (``use_mean_pooling``) or reads the first one.

torchvision's MViT (pooled attention) and Swin3D (shifted windows) raise one
:class:`~vidxai.errors.UnsupportedModelError` naming the methods that do work on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor, nn

from vidxai.cam.layers import forward_hooks
from vidxai.cam.layout import ActivationLayout
from vidxai.errors import UnsupportedModelError
from vidxai.relevance.hf_attention import dispatches, recording
from vidxai.relevance.tokens import JointOp, Order, SpatialOp, TemporalOp, TokenOp

Kind = Literal["joint", "temporal", "spatial"]
Readout = Literal["cls", "mean", "first"]
OnProbs = Callable[["AttentionSite", Tensor], None]

#: Methods that explain MViT / Swin3D (their token layouts are handled by the CAM layout code).
TOKEN_METHODS = (
    "gradcam",
    "gradcampp",
    "layercam",
    "scorecam",
    "saliency",
    "integrated_gradients",
    "smoothgrad",
    "occlusion3d",
)


@dataclass(frozen=True)
class AttentionSite:
    """One attention call per forward pass.

    Attributes:
        name: dotted path of the hooked module.
        module: the module whose forward output holds the post-softmax probabilities.
        kind: ``joint`` (all tokens), ``temporal`` (per patch over frames) or ``spatial`` (per
            frame over ``[CLS, patches]``).
        output_index: where the probabilities are in the output (``None``: the output itself).
    """

    name: str
    module: nn.Module
    kind: Kind
    output_index: int | None = None

    def probs(self, output: Any) -> Tensor | None:
        """The ``…×heads×n×n`` probabilities in the module's output (or None)."""
        value = output if self.output_index is None else output[self.output_index]
        return value if isinstance(value, Tensor) else None


@dataclass(frozen=True)
class AttentionModel:
    """A transformer's attention sites (forward order) and token layout.

    Attributes:
        name: the architecture (``timesformer``, ``videomae``).
        sites: attention calls in forward order.
        prefix: number of class tokens in front of the patch tokens.
        order: patch token order, ``thw`` (time-major) or ``hwt`` (space-major).
        cell: ``(frames, height, width)`` of input covered by one token (tubelet × patch).
        readout: what the head reads: the class token, the mean of all tokens, or the first.
        config: a Hugging Face config whose ``_attn_implementation`` must be ``eager`` during
            the call (or None).
        dispatched: the sites' modules run whatever attention ``config`` names (HF's
            ``ALL_ATTENTION_FUNCTIONS``): the probabilities come from vidxai's registered
            implementation (:mod:`vidxai.relevance.hf_attention`) instead of eager + hooks.
    """

    name: str
    sites: tuple[AttentionSite, ...]
    prefix: int
    order: Order
    cell: tuple[int, int, int]
    readout: Readout
    config: Any = None
    dispatched: bool = False

    def num_tokens(self, x: Tensor) -> int:
        """Token count for clips ``x`` (``N×C×T×H×W``)."""
        t, h, w = (int(s) // c for s, c in zip(x.shape[2:], self.cell))
        return self.prefix + t * h * w

    def lift(self, site: AttentionSite, fused: Tensor, layout: ActivationLayout) -> TokenOp:
        """Head-fused attention ``(B·m)×n×n`` of one site → an operator on all tokens.

        Args:
            site: where the attention came from.
            fused: ``(B·m)×n×n`` (``m`` = patches for temporal, frames for spatial, 1 for joint).
            layout: the resolved token layout (prefix, order) of the clips' tokens.
        """
        n = int(fused.shape[-1])
        order = layout.order
        clips = int(fused.shape[0]) // self.blocks(site, layout)
        if site.kind == "temporal":
            return TemporalOp(fused.reshape(clips, -1, n, n), int(layout.prefix or 0), order)
        if site.kind == "spatial":
            return SpatialOp(fused.reshape(clips, -1, n, n), order)
        return JointOp(fused.reshape(clips, n, n))

    def blocks(self, site: AttentionSite, layout: ActivationLayout) -> int:
        """Attention matrices per clip at ``site``: patches (temporal), frames (spatial) or 1."""
        assert layout.grid is not None
        t, h, w = layout.grid
        return {"temporal": h * w, "spatial": t}.get(site.kind, 1)

    @contextmanager
    def capture(self, on_probs: OnProbs) -> Iterator[None]:
        """Call ``on_probs(site, probs)`` at every attention call; hooks (or the attention
        implementation) restored in ``finally``."""
        by_name = {s.name: s for s in self.sites}

        def record(name: str, _m: nn.Module, _inp: Any, out: Any) -> None:
            probs = by_name[name].probs(out)
            if probs is None:
                raise UnsupportedModelError(
                    f"Attention module {name!r} returned no attention probabilities."
                )
            on_probs(by_name[name], probs)

        if self.dispatched:
            by_module = {id(s.module): s for s in self.sites}
            modules = {id(s.module): s.module for s in self.sites}
            with recording(self.config, modules, lambda m, p: on_probs(by_module[id(m)], p)):
                yield
            return
        with ExitStack() as stack:
            if self.config is not None:
                stack.enter_context(_eager_attention(self.config))
            stack.enter_context(forward_hooks({s.name: s.module for s in self.sites}, record))
            yield

    def run_to_last(self, model: Callable[[Tensor], Any], x: Tensor, on_probs: OnProbs) -> None:
        """``model(x)`` up to and including its last attention call, ``on_probs`` at every
        call (as :meth:`capture`); the rest of the pass (the last block's output projection and
        MLP, the norm and the head), which nothing reads, is not run.

        The hook of the last site raises a private exception that ends the pass; any other
        error of the model propagates unchanged.
        """
        last = self.sites[-1]

        def record(site: AttentionSite, probs: Tensor) -> None:
            on_probs(site, probs)
            if site is last:
                raise _LastAttention

        try:
            with self.capture(record):
                model(x)
        except _LastAttention:
            return
        raise UnsupportedModelError(  # the pass ended without reaching the last attention call
            f"The model's forward pass finished without calling {last.name!r}; vidxai's view of "
            f"its attention sites ({self.name}) does not match how it runs."
        )


class _LastAttention(Exception):
    """Ends a pass at its last attention call (:meth:`AttentionModel.run_to_last`)."""


@contextmanager
def _eager_attention(config: Any) -> Iterator[None]:
    """Switch a Hugging Face config to the eager attention implementation for the block."""
    before = getattr(config, "_attn_implementation", None)
    try:
        config._attn_implementation = "eager"
        yield
    finally:
        config._attn_implementation = before


Detector = Callable[[nn.Module], "AttentionModel | None"]
_DETECTORS: list[Detector] = []


def register_attention(detector: Detector) -> Detector:
    """Add ``detector(module) -> AttentionModel | None`` to the architectures vidxai knows."""
    _DETECTORS.append(detector)
    return detector


def _find(module: nn.Module, class_name: str) -> tuple[str, Any] | None:
    for name, sub in module.named_modules():
        if type(sub).__name__ == class_name:
            return name, sub
    return None


def _other_model(module: nn.Module, other: str) -> bool:
    """``module`` is a Hugging Face model of type ``other`` (its config says so): a detector of
    another architecture can answer None without walking its sub-modules."""
    return getattr(getattr(module, "config", None), "model_type", None) == other


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@register_attention
def _timesformer(module: nn.Module) -> AttentionModel | None:
    if _other_model(module, "videomae"):
        return None
    found = _find(module, "TimesformerModel")
    if found is None:
        return None
    base, model = found
    config = model.config
    kind = config.attention_type
    if kind == "space_only":
        raise UnsupportedModelError(
            "TimeSformer with attention_type='space_only' is not supported by the attention "
            "methods (only 'divided_space_time' and 'joint_space_time'); use "
            + ", ".join(TOKEN_METHODS[:3])
            + " instead."
        )
    sites: list[AttentionSite] = []
    for i, layer in enumerate(model.encoder.layer):
        path = _join(base, f"encoder.layer.{i}")
        if kind == "divided_space_time":
            sites.append(
                AttentionSite(
                    f"{path}.temporal_attention.attention.attn_drop",
                    layer.temporal_attention.attention.attn_drop,
                    "temporal",
                )
            )
        sites.append(
            AttentionSite(
                f"{path}.attention.attention.attn_drop",
                layer.attention.attention.attn_drop,
                "spatial" if kind == "divided_space_time" else "joint",
            )
        )
    patch = int(config.patch_size)
    return AttentionModel("timesformer", tuple(sites), 1, "hwt", (1, patch, patch), "cls")


@register_attention
def _videomae(module: nn.Module) -> AttentionModel | None:
    if _other_model(module, "timesformer"):
        return None
    found = _find(module, "VideoMAEModel")
    if found is None:
        return None
    base, model = found
    config = model.config
    sites = tuple(
        AttentionSite(
            _join(base, f"encoder.layer.{i}.attention.attention"),
            layer.attention.attention,
            "joint",
            output_index=1,
        )
        for i, layer in enumerate(model.encoder.layer)
    )
    patch = int(config.patch_size)
    readout: Readout = "mean" if getattr(config, "use_mean_pooling", True) else "first"
    cell = (int(config.tubelet_size), patch, patch)
    dispatched = dispatches(sites[0].module)
    return AttentionModel("videomae", sites, 0, "thw", cell, readout, config, dispatched)


def find_attention(module: nn.Module, method: str) -> AttentionModel:
    """The :class:`AttentionModel` of ``module``.

    Raises:
        UnsupportedModelError: pooled/windowed attention (MViT, Swin3D), or no attention that
            vidxai knows; the message names the methods that work instead.
    """
    for detector in _DETECTORS:
        found = detector(module)
        if found is not None:
            return found
    names = {type(m).__name__ for m in module.modules()}
    if names & {"MViT", "SwinTransformer3d"}:
        arch = "MViT (pooled attention)" if "MViT" in names else "Swin3D (shifted windows)"
        raise UnsupportedModelError(
            f"{method!r} needs attention over a fixed token set; {arch} pools or windows its "
            "attention, so attention maps cannot be chained over the clip's tokens. Methods that "
            f"work on this model: {', '.join(TOKEN_METHODS)} (CAMs on its tokens)."
        )
    raise UnsupportedModelError(
        f"{method!r} explains video transformers whose attention vidxai knows (Hugging Face "
        "TimeSformer and VideoMAE); this model has none. For 3D CNNs use 'lrp', "
        "'guided_backprop', 'excitation_backprop' or the CAM and gradient methods."
    )
