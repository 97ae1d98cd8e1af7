"""attention_rollout and transformer_relevance on tiny Hugging Face TimeSformer and VideoMAE.

Known answers: (1) the methods equal plain re-implementations that build every lifted attention
matrix densely and multiply them in forward order; (2) a transformer built so that only one
known token carries the input puts the map's maximum exactly on that token's frames and pixels
(TimeSformer: space-major tokens, class token; VideoMAE: tubelets, time-major, mean pooling).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import vidxai
from vidxai.core.hooks import count_hooks
from vidxai.errors import ParameterError, UnsupportedModelError
from vidxai.models.zoo import load_model

pytest.importorskip("transformers")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

from test_relevance_tokens import dense_spatial, dense_temporal  # noqa: E402

T, S, P = 4, 32, 8  # frames, size, patch: a 4×4 patch grid
TINY = dict(num_frames=T, image_size=S, patch_size=P, hidden_size=16, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=32, num_classes=3)  # fmt: skip


def tiny(name: str, **kw: Any) -> Any:
    torch.manual_seed(0)
    options: dict[str, Any] = {"weights": None, **TINY, **kw}
    return load_model(name, **options)


def clip(seed: int = 0) -> torch.Tensor:
    return torch.rand(3, T, S, S, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ plain reference implementations


def _record(model, x, grads: bool):
    """(kind, probs, grad) of every attention call, in forward order, by hooks on the model."""
    calls = []
    mod = model.module
    if type(mod).__name__.startswith("Timesformer"):
        sites = []
        for layer in mod.timesformer.encoder.layer:
            sites += [("temporal", layer.temporal_attention.attention.attn_drop)]
            sites += [("spatial", layer.attention.attention.attn_drop)]
    else:
        mod.config._attn_implementation = "eager"
        sites = [("joint", layer.attention.attention) for layer in mod.videomae.encoder.layer]

    def hook(kind):
        def f(_m, _i, out):
            a = out if kind != "joint" else out[1]
            if a.requires_grad:
                a.retain_grad()
            calls.append((kind, a))

        return f

    handles = [m.register_forward_hook(hook(k)) for k, m in sites]
    try:
        xg = x.unsqueeze(0).clone().requires_grad_(grads)
        with torch.set_grad_enabled(grads):
            out = model(xg)
            if grads:
                out[0, out[0].argmax()].backward()
    finally:
        for h in handles:
            h.remove()
        if not type(mod).__name__.startswith("Timesformer"):
            mod.config._attn_implementation = "sdpa"
    return [(k, a.detach(), a.grad if grads else None) for k, a in calls]


def _dense(kind, fused, patches, frames):
    if kind == "temporal":
        return dense_temporal(fused.reshape(1, patches, frames, frames), "hwt")
    if kind == "spatial":
        return dense_spatial(fused.reshape(1, frames, patches + 1, patches + 1), "hwt")
    return fused.reshape(1, *fused.shape[-2:])


def _grid_of_row(row, name):
    """The readout row of all tokens → T′×h×w, written out per index."""
    g = S // P
    if name == "timesformer":
        out = torch.zeros(T, g, g)
        for p in range(g * g):
            for t in range(T):
                out[t, p // g, p % g] = row[1 + p * T + t]
        return out
    return row.reshape(T // 2, g, g)


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
def test_transformer_relevance_matches_a_dense_reference(name):
    model, x = tiny(name), clip()
    patches = (S // P) ** 2
    n = 1 + patches * T if name == "timesformer" else patches * T // 2
    r = torch.eye(n).unsqueeze(0)
    for kind, a, g in _record(model, x, grads=True):
        cam = (g * a).clamp(min=0).mean(dim=1)
        r = r + _dense(kind, cam, patches, T) @ r
    row = r[0, 0] if name == "timesformer" else r[0].mean(0)
    e = vidxai.explain(model, x, method="transformer_relevance", progress=False)
    torch.testing.assert_close(e.extras["tokens"], _grid_of_row(row, name), rtol=1e-4, atol=1e-6)
    assert e.extras["layers"] == (4 if name == "timesformer" else 2)
    assert e.n_backward >= 1


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
def test_attention_rollout_matches_a_dense_reference(name, fusion):
    model, x = tiny(name), clip(1)
    patches = (S // P) ** 2
    n = 1 + patches * T if name == "timesformer" else patches * T // 2
    r = torch.eye(n).unsqueeze(0)
    for kind, a, _ in _record(model, x, grads=False):
        fused = {"mean": a.mean(1), "max": a.amax(1), "min": a.amin(1)}[fusion]
        m = 0.5 * _dense(kind, fused, patches, T) + 0.5 * torch.eye(n)
        m = m / m.sum(dim=-1, keepdim=True)  # rows (the bug of vit-explain issue 16: columns)
        r = m @ r
    row = r[0, 0] if name == "timesformer" else r[0].mean(0)
    e = vidxai.explain(model, x, method="attention_rollout", head_fusion=fusion, progress=False)
    torch.testing.assert_close(e.extras["tokens"], _grid_of_row(row, name), rtol=1e-4, atol=1e-6)
    assert e.n_backward == 0


def test_attention_rollout_measures_rows_that_are_not_probabilities():
    """A model whose attention rows do not sum to one (here: TimeSformer's probabilities halved
    after the softmax, as a head mask would) gets the normalisers measured, not assumed."""
    model, x = tiny("timesformer"), clip(4)
    mod = model.module
    drops = [m for layer in mod.timesformer.encoder.layer
             for m in (layer.temporal_attention.attention.attn_drop,
                       layer.attention.attention.attn_drop)]  # fmt: skip
    handles = [m.register_forward_hook(lambda _m, _i, out: out * 0.5) for m in drops]
    try:
        patches = (S // P) ** 2
        n = 1 + patches * T
        r = torch.eye(n).unsqueeze(0)
        for kind, a, _ in _record(model, x, grads=False):
            m = 0.5 * _dense(kind, a.mean(1), patches, T) + 0.5 * torch.eye(n)
            r = (m / m.sum(dim=-1, keepdim=True)) @ r
        e = vidxai.explain(model, x, method="attention_rollout", progress=False)
    finally:
        for h in handles:
            h.remove()
    expected = _grid_of_row(r[0, 0], "timesformer")
    torch.testing.assert_close(e.extras["tokens"], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
def test_rollout_pass_stops_at_the_last_attention_call(name):
    """Nothing after the last attention call runs (the head is never called), every call is
    seen, the hooks are gone afterwards, and a pass that never reaches the last call is an
    error, not a silently short rollout."""
    from vidxai.relevance.attention import find_attention

    model = tiny(name)
    arch = find_attention(model.module, "attention_rollout")
    head_calls: list[int] = []
    handle = model.module.classifier.register_forward_hook(lambda *_: head_calls.append(1))
    seen: list[str] = []
    try:
        with torch.no_grad():
            arch.run_to_last(model, clip().unsqueeze(0), lambda site, _p: seen.append(site.name))
        e = vidxai.explain(model, clip(), method="attention_rollout", progress=False)
    finally:
        handle.remove()
    assert seen == [site.name for site in arch.sites]
    assert head_calls == [1]  # only explain's own pass on the intact clip reached the head
    assert e.n_forward == 2 and count_hooks(model.module) == 0
    with pytest.raises(UnsupportedModelError, match="without calling"):
        arch.run_to_last(lambda _x: None, clip().unsqueeze(0), lambda *_: None)
    assert count_hooks(model.module) == 0


def _discard_plain(fused, ratio, keep_first_column):
    """Zero the int(ratio·n²) lowest entries of each n×n matrix, column 0 kept if asked."""
    out = fused.clone()
    n = fused.shape[-1]
    k = int(ratio * n * n)
    for m in out.reshape(-1, n, n):
        ranked = m.clone()
        if keep_first_column:
            ranked[:, 0] = float("inf")
        for flat in ranked.flatten().argsort()[:k].tolist():
            m[flat // n, flat % n] = 0.0
    return out


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
def test_attention_rollout_with_discarding_matches_a_dense_reference(name):
    model, x = tiny(name), clip(3)
    patches = (S // P) ** 2
    n = 1 + patches * T if name == "timesformer" else patches * T // 2
    r = torch.eye(n).unsqueeze(0)
    for kind, a, _ in _record(model, x, grads=False):
        fused = _discard_plain(a.amax(1), 0.6, name == "timesformer" and kind != "temporal")
        m = 0.5 * _dense(kind, fused, patches, T) + 0.5 * torch.eye(n)
        r = (m / m.sum(dim=-1, keepdim=True)) @ r
    row = r[0, 0] if name == "timesformer" else r[0].mean(0)
    e = vidxai.explain(
        model, x, method="attention_rollout", head_fusion="max", discard_ratio=0.6, progress=False
    )
    torch.testing.assert_close(e.extras["tokens"], _grid_of_row(row, name), rtol=1e-4, atol=1e-6)


def test_rollout_rows_stay_normalised_with_discarding():
    model, x = tiny("timesformer"), clip(2)
    e = vidxai.explain(model, x, method="attention_rollout", discard_ratio=0.9, progress=False)
    plain = vidxai.explain(model, x, method="attention_rollout", progress=False)
    # the class token's row sums to one; the patch part is what is left after its own share
    assert 0 < float(e.extras["tokens"].sum()) < 1
    assert not torch.allclose(e.extras["tokens"], plain.extras["tokens"])


# ------------------------------------------------------------------------ one-token known answers


def _one_token_model(name: str, temporal: bool = True):
    """Only the token whose pixels are non-zero carries anything: embeddings without bias or
    positions; queries are a constant (bias), keys and values the normalised token, so
    attention goes to the non-zero token (normalised tokens have zero mean, so the query points
    along channel 0, where the patch embedding writes); MLPs off. One head, one layer."""
    model = tiny(name, num_hidden_layers=1, num_attention_heads=1)
    mod = model.module
    d = TINY["hidden_size"]
    with torch.no_grad():
        for p in mod.parameters():
            p.zero_()
        base = mod.timesformer if name == "timesformer" else mod.videomae
        proj = base.embeddings.patch_embeddings.projection
        proj.weight[0] = 1.0 / proj.weight[0].numel()
        if name == "videomae":
            base.embeddings.position_embeddings.zero_()
        for m in mod.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.fill_(1.0)
        layer = base.encoder.layer[0]
        eye = torch.eye(d)
        if name == "timesformer":
            attns = [layer.attention]
            if temporal:
                attns.append(layer.temporal_attention)
                layer.temporal_dense.weight.copy_(eye)
            for att in attns:
                qkv = att.attention.qkv
                qkv.bias[0] = 8.0  # queries
                qkv.weight[d : 2 * d] = eye  # keys
                qkv.weight[2 * d :] = eye  # values
                att.output.dense.weight.copy_(eye)
        else:
            att = layer.attention
            att.attention.query.bias[0] = 8.0
            att.attention.key.weight.copy_(eye)
            att.attention.value.weight.copy_(eye)
            att.output.dense.weight.copy_(eye)
        mod.classifier.weight[0, 0] = 1.0
        mod.classifier.weight[1, 0] = -1.0
    return model


def _token_clip(name: str, t: int, row: int, col: int) -> tuple[torch.Tensor, slice]:
    x = torch.zeros(3, T, S, S)
    frames = slice(t, t + 1) if name == "timesformer" else slice(2 * t, 2 * t + 2)
    x[:, frames, row * P : (row + 1) * P, col * P : (col + 1) * P] = 1.0
    return x, frames


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
@pytest.mark.parametrize("method", ["transformer_relevance", "attention_rollout"])
def test_map_peaks_exactly_on_the_one_token(name, method):
    model = _one_token_model(name)
    t, row, col = 1, 2, 1  # asymmetric: a wrong order or transpose would land elsewhere
    x, frames = _token_clip(name, t, row, col)
    a = vidxai.explain(model, x, method=method, target=0, progress=False).attribution
    inside = torch.zeros_like(a, dtype=torch.bool)
    inside[frames, row * P : (row + 1) * P, col * P : (col + 1) * P] = True
    assert torch.all(a[inside] == a.max())
    assert float(a[~inside].max()) < float(a.max())


def test_relevance_against_the_class_is_flat():
    # class 1's logit falls when attention goes to the token: (∇A ⊙ A)⁺ = 0 everywhere
    model = _one_token_model("timesformer", temporal=False)
    x, _ = _token_clip("timesformer", 1, 2, 1)
    e = vidxai.explain(model, x, method="transformer_relevance", target=1, progress=False)
    assert float(e.attribution.abs().max()) == 0.0


# --------------------------------------------------------------------------- contract and errors


@pytest.mark.parametrize("method", ["transformer_relevance", "attention_rollout"])
def test_contract_on_a_transformer(method):
    model = tiny("timesformer")
    model.train()
    model.module.classifier.bias.requires_grad_(False)
    before = ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()])
    x = clip(3)
    first = vidxai.explain(model, x, method=method, seed=1, progress=False)
    again = vidxai.explain(model, x, method=method, seed=1, progress=False)
    assert torch.equal(first.attribution, again.attribution)
    assert first.attribution.shape == (T, S, S) and first.attribution.dtype == torch.float32
    assert torch.isfinite(first.attribution).all()
    after = ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()])
    assert after == before and count_hooks(model) == 0
    assert torch.equal(x, clip(3))


def test_videomae_attention_implementation_is_restored():
    model = tiny("videomae")
    before = model.module.config._attn_implementation
    vidxai.explain(model, clip(), method="transformer_relevance", progress=False)
    assert model.module.config._attn_implementation == before


@pytest.mark.parametrize("method", ["transformer_relevance", "attention_rollout"])
def test_cnn_raises_unsupported(method, tiny_model, tiny_clip):
    with pytest.raises(UnsupportedModelError, match="lrp"):
        vidxai.explain(tiny_model, tiny_clip[0], method=method, progress=False)


def test_mvit_names_the_methods_that_work():
    model = load_model("mvit_v2_s", weights=None, num_frames=4, size=32)
    with pytest.raises(UnsupportedModelError, match="gradcam"):
        vidxai.explain(model, torch.rand(3, 4, 32, 32), method="attention_rollout")


@pytest.mark.parametrize("bad", [{"discard_ratio": 1.0}, {"head_fusion": "median"}])
def test_bad_rollout_parameters(bad):
    with pytest.raises(ParameterError):
        vidxai.explain(tiny("videomae"), clip(), method="attention_rollout", **bad)


@pytest.mark.parametrize("method", ["transformer_relevance", "attention_rollout"])
def test_a_batch_of_clips_gives_each_clips_own_map(method):
    model = tiny("videomae")
    batch = torch.stack([clip(4), clip(5)])
    maps = vidxai.explain(model, batch, method=method, progress=False)
    for single, e in zip(batch, maps):
        alone = vidxai.explain(model, single, method=method, progress=False)
        torch.testing.assert_close(e.attribution, alone.attribution)


def test_joint_space_time_timesformer_has_one_joint_attention_per_layer():
    model = tiny("timesformer", attention_type="joint_space_time")
    e = vidxai.explain(model, clip(6), method="transformer_relevance", progress=False)
    assert e.extras["layers"] == TINY["num_hidden_layers"]
    assert e.attribution.shape == (T, S, S) and torch.isfinite(e.attribution).all()
