"""TSM-ResNet-18: the temporal shift, the frame folding and the average consensus."""

from __future__ import annotations

import pytest
import torch

from vidxai.errors import InvalidInputError
from vidxai.models.tsm import TSMResNet, temporal_shift


def test_temporal_shift_known_answer() -> None:
    n, t, c = 2, 4, 16  # fold = 2 channels each way
    value = torch.arange(n * t * c, dtype=torch.float32).view(n, t, c, 1, 1)
    x = value.reshape(n * t, c, 1, 1)
    before = x.clone()
    out = temporal_shift(x, t).view(n, t, c)
    v = value.view(n, t, c)
    for b in range(n):
        for f in range(t):
            for ch in range(c):
                if ch < 2:  # from the next frame, zero after the last
                    want = v[b, f + 1, ch] if f + 1 < t else 0.0
                elif ch < 4:  # from the previous frame, zero before the first
                    want = v[b, f - 1, ch] if f > 0 else 0.0
                else:
                    want = v[b, f, ch]
                assert out[b, f, ch] == want
    assert torch.equal(x, before)  # not in place


def test_tsm_activations_are_framewise_and_consensus_is_the_mean() -> None:
    torch.manual_seed(0)
    net = TSMResNet(num_frames=4, num_classes=6).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    store = {}
    handle = net.layer4.register_forward_hook(lambda m, i, o: store.setdefault("a", o))
    try:
        with torch.no_grad():
            out = net(x)
    finally:
        handle.remove()
    act = store["a"]
    assert act.shape == (2 * 4, 512, 1, 1)  # (N·T)×C×H'×W'
    per_frame = net.fc(act.mean(dim=(2, 3))).view(2, 4, 6)
    torch.testing.assert_close(out, per_frame.mean(dim=1))


def test_tsm_mixes_time_only_through_the_shift() -> None:
    torch.manual_seed(0)
    net = TSMResNet(num_frames=4, num_classes=3).eval()
    x = torch.randn(1, 3, 4, 32, 32)
    y = x.clone()
    y[:, :, 0] += 1.0  # change frame 0 only
    store: dict[str, list] = {"a": []}
    handle = net.layer1.register_forward_hook(lambda m, i, o: store["a"].append(o))
    try:
        with torch.no_grad():
            net(x), net(y)
        changed = (store["a"][0] - store["a"][1]).abs().flatten(1).amax(1)
        # layer1 has two blocks, one shift each: a change reaches at most two frames further
        assert changed[1] > 0 and changed[2] > 0
        assert changed[3] == 0
    finally:
        handle.remove()


def test_tsm_rejects_other_frame_counts() -> None:
    net = TSMResNet(num_frames=4, num_classes=3)
    with pytest.raises(InvalidInputError, match="4 frames"):
        net(torch.zeros(1, 3, 8, 32, 32))
