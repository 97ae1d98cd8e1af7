"""The model zoo: every architecture builds and runs small, layouts, weights, errors, registry."""

from __future__ import annotations

import sys
import time

import pytest
import torch
from torch import nn

from vidxai.errors import (
    InvalidInputError,
    ParameterError,
    UnknownNameError,
    UnsupportedModelError,
    WeightsUnavailableError,
)
from vidxai.models import zoo
from vidxai.models.adapter import InputSpec, VideoClassifier
from vidxai.models.heads import replace_head
from vidxai.models.kinetics import kinetics400_names
from vidxai.models.zoo import get_model_info, list_models, load_model, register_model

SMALL = {"num_frames": 8, "size": 32}
TINY_HF = {
    "num_frames": 4, "image_size": 32, "patch_size": 8, "hidden_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
}  # fmt: skip
SMALL_OPTIONS = {
    "r3d_18": SMALL, "mc3_18": SMALL, "r2plus1d_18": SMALL, "s3d": SMALL,
    "mvit_v2_s": SMALL, "swin3d_t": SMALL, "tsm_r18": SMALL,
    "timesformer": TINY_HF, "videomae": TINY_HF,
}  # fmt: skip
FAMILIES = {
    "r3d_18": "cnn3d", "mc3_18": "cnn3d", "r2plus1d_18": "cnn3d", "s3d": "cnn3d",
    "mvit_v2_s": "transformer", "swin3d_t": "transformer", "timesformer": "transformer",
    "videomae": "transformer", "tsm_r18": "frame2d", "vidxai-demo": "cnn3d",
}  # fmt: skip


def _small(name: str, **kw) -> VideoClassifier:
    torch.manual_seed(0)
    return load_model(name, **{"weights": None, **SMALL_OPTIONS[name], **kw})


def _activation(clf: VideoClassifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Default-layer activation (first element of tuple outputs) and the logits."""
    store: dict[str, torch.Tensor] = {}

    def hook(_m, _i, out):
        store["a"] = out[0] if isinstance(out, tuple) else out

    assert clf.default_layer is not None
    handle = clf.module.get_submodule(clf.default_layer).register_forward_hook(hook)
    try:
        logits = clf(x)
    finally:
        handle.remove()
    return store["a"], logits


def _expected_activation_shape(layout: dict, n: int, channels: int) -> tuple[int, ...]:
    kind = layout["kind"]
    if kind == "frames":
        return (n * layout["t"], channels)
    if kind == "tokens":
        return (n, int(layout["cls"]) + layout["t"] * layout["h"] * layout["w"], channels)
    if kind == "channels_last":
        return (n, layout["t"], layout["h"], layout["w"], channels)
    return (n, channels)


# ---- listing -----------------------------------------------------------------------------------


def test_list_models_names_families_layers() -> None:
    infos = {i.name: i for i in list_models()}
    assert set(FAMILIES) <= set(infos)
    for name, family in FAMILIES.items():
        info = infos[name]
        assert info.family == family
        assert info.default_layer
        assert info.description
        assert info.spec is not None
    assert infos["r3d_18"].default_layer == "layer4"
    assert infos["tsm_r18"].layout_kind == "frames"
    assert infos["videomae"].extra == "transformers"
    assert infos["mvit_v2_s"].layout_kind == "tokens"


@pytest.mark.parametrize(
    "name", ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "swin3d_t"]
)
def test_torchvision_specs_follow_the_weights_transforms(name: str) -> None:
    from torchvision.models import get_model_weights

    transform = get_model_weights(name).DEFAULT.transforms()
    spec = get_model_info(name).spec
    assert spec is not None
    assert list(spec.size) == list(transform.crop_size)
    resize = [spec.resize] if isinstance(spec.resize, int) else list(spec.resize)
    assert resize == list(transform.resize_size)
    assert spec.mean == pytest.approx(tuple(transform.mean))
    assert spec.std == pytest.approx(tuple(transform.std))


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
def test_hf_listed_spec_matches_the_default_config(name: str) -> None:
    import transformers

    from vidxai.models import hf

    config = getattr(transformers, hf._MODELS[name].config_class)()
    info = get_model_info(name)
    assert info.spec == hf._spec(name, config)
    assert info.default_layer == hf._default_layer(name, config)


def test_kinetics_names_match_torchvision() -> None:
    from torchvision.models.video import R3D_18_Weights

    names = kinetics400_names()
    assert len(names) == 400 and len(set(names)) == 400
    assert names == list(R3D_18_Weights.DEFAULT.meta["categories"])


# ---- every model builds and runs small -----------------------------------------------------------


@pytest.mark.parametrize("name", list(SMALL_OPTIONS))
def test_zoo_model_builds_runs_and_matches_its_layout(name: str) -> None:
    clf = _small(name)
    spec = clf.spec
    assert not clf.training
    x = torch.randn(2, 3, spec.num_frames, *spec.size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        act, logits = _activation(clf, x)
    assert logits.shape == (2, 400) and torch.isfinite(logits).all()
    assert clf.class_names == kinetics400_names()
    layout = clf.layer_layout
    assert layout is not None
    if layout["kind"] == "conv3d":
        assert act.ndim == 5 and act.shape[0] == 2
    else:
        expected = _expected_activation_shape(
            layout, 2, act.shape[-1] if layout["kind"] != "frames" else act.shape[1]
        )
        assert tuple(act.shape[: len(expected)]) == expected


@pytest.mark.parametrize("name", ["mvit_v2_s", "timesformer", "videomae"])
def test_transformer_default_layer_patch_tokens_reach_the_output(name: str) -> None:
    """The default CAM layer must carry gradient on its patch tokens (not only the class token)."""
    clf = _small(name)
    spec = clf.spec
    x = torch.randn(1, 3, spec.num_frames, *spec.size, generator=torch.Generator().manual_seed(1))
    act, logits = _activation(clf, x)
    (grad,) = torch.autograd.grad(logits[0, 0], act)
    first_patch = 1 if clf.layer_layout and clf.layer_layout["cls"] else 0
    assert grad[:, first_patch:].abs().sum() > 0


def test_batch_parity_on_a_zoo_model() -> None:
    clf = _small("r3d_18")
    x = torch.randn(3, 3, 8, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        together = clf(x)
        apart = torch.cat([clf(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, apart, rtol=1e-4, atol=1e-5)


def test_num_classes_replaces_the_head() -> None:
    clf = load_model("r3d_18", weights=None, num_classes=7, **SMALL)
    assert clf(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 7)
    assert clf.class_names is None
    names = [f"c{i}" for i in range(3)]
    clf = load_model("videomae", weights=None, num_classes=3, class_names=names, **TINY_HF)
    assert clf(torch.zeros(1, 3, 4, 32, 32)).shape == (1, 3)
    assert clf.class_names == names


def test_replace_head_linear_and_conv() -> None:
    module = nn.Sequential(nn.Conv3d(8, 4, 1), nn.Sequential(nn.Dropout(), nn.Linear(4, 400)))
    replace_head(module, "1.1", 5)
    replace_head(module, "0", 6)
    assert module[1][1].out_features == 5 and module[0].out_channels == 6
    with pytest.raises(UnsupportedModelError):
        replace_head(module, "1.0", 5)


def test_size_options_scale_the_resize() -> None:
    spec = load_model("r3d_18", weights=None, **SMALL).spec
    assert spec.size == (32, 32) and spec.num_frames == 8
    assert spec.resize == (37, 49)  # 128×171 scaled by 32/112
    assert load_model("mvit_v2_s", weights=None, **SMALL).spec.resize == 37  # 256 · 32/224 rounded


# ---- weights -----------------------------------------------------------------------------------


def test_weights_file_round_trip(tmp_path) -> None:
    clf = _small("r3d_18", num_classes=5)
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        expected = clf(x)
    torch.save(clf.module.state_dict(), tmp_path / "plain.pt")
    torch.save(clf.state_dict(), tmp_path / "wrapped.pt")  # keys prefixed with "module."
    torch.save({"state_dict": clf.module.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    for fname in ["plain.pt", "wrapped.pt", "ckpt.pt"]:
        torch.manual_seed(123)  # a different random init, overwritten by the file
        loaded = load_model("r3d_18", weights=tmp_path / fname, num_classes=5, **SMALL)
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), expected)


def test_weights_file_mismatch_names_keys(tmp_path) -> None:
    clf = _small("r3d_18", num_classes=5)
    state = clf.module.state_dict()
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(
        InvalidInputError, match=r"fc\.weight \(file \(5, 512\), model \(400, 512\)\)"
    ):
        load_model("r3d_18", weights=str(tmp_path / "w.pt"), **SMALL)
    state["extra.weight"] = torch.zeros(1)
    del state["fc.bias"]
    torch.save(state, tmp_path / "w2.pt")
    with pytest.raises(
        InvalidInputError, match=r"missing keys: fc\.bias.*unexpected keys: extra\.weight"
    ):
        load_model("r3d_18", weights=tmp_path / "w2.pt", num_classes=5, **SMALL)


def test_missing_or_corrupt_weights_file(tmp_path) -> None:
    with pytest.raises(WeightsUnavailableError, match="not found"):
        load_model("r3d_18", weights=tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="Cannot read"):
        load_model("r3d_18", weights=tmp_path / "bad.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(InvalidInputError, match="state_dict"):
        load_model("r3d_18", weights=tmp_path / "list.pt")
    with pytest.raises(InvalidInputError):
        load_model("r3d_18", weights=3)


def test_default_weights_offline_fail_fast_with_advice(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    monkeypatch.setenv("VIDXAI_OFFLINE", "1")
    import torchvision.models.video  # noqa: F401  (import time is not what is measured)

    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as info:
        load_model("r3d_18", weights="DEFAULT")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "torch.save(m.module.state_dict()" in message
    assert "weights='r3d_18.pt'" in message and "--weights" in message
    assert "download.pytorch.org" in message


def test_default_weights_download_error_is_wrapped(tmp_path, monkeypatch) -> None:
    import urllib.error

    import torchvision.models._api as tv_api

    from vidxai.models import torchvision_models

    def fail(*args, **kwargs):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torchvision_models, "network_available", lambda host: True)
    monkeypatch.setattr(tv_api, "load_state_dict_from_url", fail)
    with pytest.raises(WeightsUnavailableError, match="connection refused"):
        load_model("mc3_18", weights="DEFAULT")


def test_hf_default_weights_offline(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("VIDXAI_OFFLINE", "1")
    import transformers

    transformers.VideoMAEForVideoClassification  # noqa: B018  (import time is not measured)
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError, match="videomae-base-finetuned-kinetics") as info:
        load_model("videomae", weights="DEFAULT")
    assert time.perf_counter() - start < 5
    assert "weights='videomae.pt'" in str(info.value)


def test_tsm_has_no_default_weights() -> None:
    with pytest.raises(WeightsUnavailableError, match="weights=PATH"):
        load_model("tsm_r18", weights="DEFAULT")


def test_network_probe_respects_offline_switch(monkeypatch) -> None:
    from vidxai.models.weights import network_available

    monkeypatch.setenv("VIDXAI_OFFLINE", "1")
    assert network_available("example.invalid") is False


# ---- names, options, registry ------------------------------------------------------------------


def test_unknown_model_name_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="r3d_18"):
        load_model("r3d18")
    with pytest.raises(UnknownNameError):
        get_model_info("nonexistent-model")


def test_unknown_option_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match=r"num_frame.*num_frames"):
        load_model("r3d_18", weights=None, num_frame=8)
    with pytest.raises(ParameterError, match="hidden_sise"):
        load_model("videomae", weights=None, hidden_sise=8)
    with pytest.raises(ParameterError):
        load_model("r3d_18", weights=None, num_classes=0)
    with pytest.raises(ParameterError, match="tubelet"):
        load_model("videomae", weights=None, **{**TINY_HF, "num_frames": 3})


def test_register_model_wraps_a_plain_module(monkeypatch, tiny_model, tmp_path) -> None:
    monkeypatch.setattr(zoo, "_REGISTRY", dict(zoo._REGISTRY))
    spec = InputSpec(num_frames=8, size=(32, 32), resize=None, crop="none")

    @register_model("tiny", family="cnn3d", spec=spec, default_layer="features.2",
                    description="test net", layout={"kind": "conv3d"})  # fmt: skip
    def build(weights=None, num_classes=None):
        return tiny_model

    clf = load_model("tiny", weights=None)
    assert isinstance(clf, VideoClassifier) and clf.module is tiny_model
    assert clf.name == "tiny" and clf.default_layer == "features.2" and clf.spec == spec
    assert clf.layer_layout == {"kind": "conv3d"}
    info = get_model_info("tiny")
    assert info.family == "cnn3d" and info.layout_kind == "conv3d"
    torch.save({k: v + 1 for k, v in tiny_model.state_dict().items()}, tmp_path / "t.pt")
    before = tiny_model.fc.bias.clone()
    load_model("tiny", weights=tmp_path / "t.pt")
    torch.testing.assert_close(tiny_model.fc.bias, before + 1)
    with pytest.raises(InvalidInputError, match="already registered"):
        register_model("tiny", family="cnn3d", spec=spec)(build)
    with pytest.raises(InvalidInputError):
        register_model("x", family="rnn")


def test_missing_transformers_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(UnsupportedModelError, match=r"pip install vidxai\[transformers\]"):
        load_model("timesformer", weights=None)
    assert get_model_info("timesformer").spec is not None  # listing still works


def test_demo_model_loads_or_says_why() -> None:
    from vidxai.data import demo_model

    if not demo_model.DEMO_WEIGHTS_PATH.is_file():
        with pytest.raises(WeightsUnavailableError):
            load_model("vidxai-demo")
        return
    clf = load_model("vidxai-demo")
    spec = clf.spec
    assert clf.default_layer == demo_model.DEMO_DEFAULT_LAYER
    assert clf.class_names == list(demo_model.DEMO_CLASS_NAMES)
    out = clf(torch.zeros(1, 3, spec.num_frames, *spec.size))
    assert out.shape == (1, len(demo_model.DEMO_CLASS_NAMES))
    with pytest.raises(ParameterError):
        load_model("vidxai-demo", num_classes=3)
