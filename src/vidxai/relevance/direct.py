"""zennit's rules spliced into autograd without the layers' own backward passes.

:func:`direct` wraps a composite so that every layer with a zennit ``BasicHook`` rule (ε, z⁺, γ,
αβ, flat, box, norm, …) goes through a :class:`~vidxai.relevance.direct_hook.DirectHook`: the
layer's forward runs on a detached input and the rule *is* the backward (in a video CNN zennit's
mechanism wastes about a third of LRP's cost on the layers' discarded ordinary backward passes).
A plain convolution or dense layer with the z⁺ rule (:class:`~vidxai.relevance.rules.FastZPlus`)
gets :class:`~vidxai.relevance.fused_zplus.FusedZPlusHook`, which computes ``z`` and ``z⁺`` with
one layer call on stacked weights; ``Pass`` on activations gets
:class:`~vidxai.relevance.direct_hook.DirectPass` (its backward hands the relevance on, so the
activation's own backward and zennit's copy of its input are skipped). Other hooks (guided
backprop's ReLU rule, which needs the ReLU's own gradient) keep zennit's mechanism.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from zennit.core import BasicHook, Composite
from zennit.rules import Pass

from vidxai.relevance.direct_hook import DirectHook, DirectPass
from vidxai.relevance.fused_zplus import FusedZPlusHook

__all__ = ["DirectHook", "DirectPass", "FusedZPlusHook", "direct"]


def direct(composite: Composite) -> Composite:
    """The same composite (rules, canonizers), each ``BasicHook`` rule as a :class:`DirectHook`."""
    inner = composite.module_map

    def module_map(ctx: dict[str, Any], name: str, module: nn.Module) -> Any:
        template = inner(ctx, name, module)
        if FusedZPlusHook.applies(template, module):
            return FusedZPlusHook(template)
        if type(template) is Pass:
            return DirectPass(template)
        return DirectHook(template) if isinstance(template, BasicHook) else template

    return Composite(module_map=module_map, canonizers=composite.canonizers)
