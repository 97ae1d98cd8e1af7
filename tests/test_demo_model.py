"""The bundled demo model: shipped weights, accuracy, use of motion, GAP+Linear head."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vidxai.data.demo_model import (
    DEMO_CLASS_NAMES,
    DEMO_DEFAULT_LAYER,
    DEMO_SPEC_KWARGS,
    DEMO_WEIGHTS_PATH,
    DemoNet,
    frames_to_input,
    load_demo_module,
)
from vidxai.data.synthetic import CLASS_NAMES, make_dataset
from vidxai.errors import InvalidInputError, WeightsUnavailableError

# Far from the training seeds [0, 9600) and the script's held-out range [10_000_000, +1000).
FRESH_SEED = 20_000_000


@pytest.fixture(scope="module")
def model():
    return load_demo_module()


@pytest.fixture(scope="module")
def fresh():
    data = make_dataset(64, seed=FRESH_SEED)
    return frames_to_input(data.frames), torch.from_numpy(data.labels)


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_shipped_weights_are_small_and_documented():
    assert DEMO_WEIGHTS_PATH.is_file()
    assert DEMO_WEIGHTS_PATH.stat().st_size < 5_000_000
    record = json.loads(DEMO_WEIGHTS_PATH.with_suffix(".json").read_text())
    assert record["held_out_accuracy"] >= 0.95


def test_loads_in_eval_mode(model):
    assert isinstance(model, DemoNet) and not model.training
    assert DEMO_CLASS_NAMES == CLASS_NAMES and len(DEMO_CLASS_NAMES) == 4
    assert isinstance(model.get_submodule(DEMO_DEFAULT_LAYER)[0], torch.nn.Conv3d)


def test_reaches_95_percent_on_fresh_clips(model, fresh):
    x, y = fresh
    assert x.shape == (64, 3, 16, 64, 64)
    assert _accuracy(model, x, y) >= 0.95


def test_uses_motion_not_single_frames(model, fresh):
    x, y = fresh
    g = torch.Generator().manual_seed(0)
    order = torch.stack([torch.randperm(16, generator=g) for _ in range(len(x))])
    shuffled = torch.stack([clip[:, o] for clip, o in zip(x, order, strict=True)])
    # Shuffling keeps the axis (the positions still lie on one row or column), so about 0.5.
    assert _accuracy(model, shuffled, y) <= 0.75
    # Played backwards, a clip is a clip of the opposite class (left<->right, up<->down).
    assert _accuracy(model, x.flip(2), y ^ 1) >= 0.9


def test_head_is_global_average_pooling_then_linear(model, fresh):
    """CAM identity: logit_c = mean over voxels of w_c · A, plus b_c (A: DEMO_DEFAULT_LAYER)."""
    x = fresh[0][:3]
    captured = []
    handle = model.get_submodule(DEMO_DEFAULT_LAYER).register_forward_hook(
        lambda _m, _i, out: captured.append(out)
    )
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        handle.remove()
    a = captured[0]  # 3×C×4×8×8
    assert a.shape[2:] == (4, 8, 8)
    cam = torch.einsum("kc,nctyx->nktyx", model.head.weight, a)  # 3×4×T'×H'×W'
    by_hand = cam.mean(dim=(2, 3, 4)) + model.head.bias
    torch.testing.assert_close(by_hand, logits, rtol=1e-4, atol=1e-4)


def test_batch_size_parity(model, fresh):
    x = fresh[0][:4]
    with torch.no_grad():
        together = model(x)
        alone = torch.cat([model(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_spec_kwargs_describe_the_training_input():
    assert DEMO_SPEC_KWARGS["layout"] == "NCTHW"
    assert DEMO_SPEC_KWARGS["num_frames"] == 16 and DEMO_SPEC_KWARGS["size"] == (64, 64)
    assert DEMO_SPEC_KWARGS["resize"] is None and DEMO_SPEC_KWARGS["crop"] == "none"
    adapter = pytest.importorskip("vidxai.models.adapter")
    spec = adapter.InputSpec(**DEMO_SPEC_KWARGS)
    assert spec.mean == (0.5, 0.5, 0.5) and spec.std == (0.25, 0.25, 0.25)


def test_frames_to_input_normalises_by_hand():
    frames = np.zeros((2, 16, 8, 8, 3), np.uint8)
    frames[1, 3, 2, 5] = (0, 128, 255)
    x = frames_to_input(frames)
    assert x.shape == (2, 3, 16, 8, 8) and x.dtype == torch.float32
    assert x[0].eq(-2.0).all()
    expected = torch.tensor([(0 - 0.5) / 0.25, (128 / 255 - 0.5) / 0.25, (1 - 0.5) / 0.25])
    torch.testing.assert_close(x[1, :, 3, 2, 5], expected)
    assert frames_to_input(frames[0]).shape == (1, 3, 16, 8, 8)
    assert frames[1, 3, 2, 5, 2] == 255  # input untouched


@pytest.mark.parametrize(
    "bad", [np.zeros((16, 8, 8, 3), np.float32), np.zeros((16, 8, 8), np.uint8)]
)
def test_frames_to_input_rejects_bad_frames(bad):
    with pytest.raises(InvalidInputError):
        frames_to_input(bad)


def test_missing_or_bad_weights_raise(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="not found"):
        load_demo_module(tmp_path / "nope.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a state dict")
    with pytest.raises(WeightsUnavailableError):
        load_demo_module(corrupt)
    wrong = tmp_path / "wrong.pt"
    torch.save(DemoNet(widths=(4, 4, 4, 4)).state_dict(), wrong)
    with pytest.raises(WeightsUnavailableError):
        load_demo_module(wrong)
