"""A synthetic ground-truth benchmark: clips whose class can only be seen over time.

Each clip shows a red square (the *actor*) that is visible only during a span of frames
``[t0, t1)`` and moves one of four ways during that span (``CLASS_NAMES``: left, right, up,
down). Around it, coloured discs (*distractors*) drift in random directions for the whole clip
over a smooth static background texture, and every frame carries independent pixel noise.

Design rationale
----------------
* **Time is necessary.** The world is a torus: the actor (and every distractor) leaves one
  edge and comes back at the opposite one. The actor's start position is uniform over the
  frame, so its position in *any single frame* is uniform whatever the class; a frame alone
  carries no information about the label. (On a bounded frame this is impossible: an object
  that always moves right is, on average, further right later on.) Only the displacement
  between frames decides the class.
* **Evidence is exactly localised.** The actor is absent outside ``[t0, t1)``, so no frame
  outside the span can carry class evidence, not even by comparing a frame before with a frame
  after. The ground-truth mask is the actor's pixels during the span (the actor is drawn on
  top of everything, so these pixels are exactly the visible actor).
* **Distractors carry no label information.** The scene (background, distractors), the actor's
  placement and timing, and the noise come from three independent random streams spawned from
  the clip's seed; the label only sets the actor's direction. The same seed with two different
  labels gives two clips that are identical outside the two actors' masks.
* **Deterministic.** ``make_clip(seed, label)`` depends only on its arguments (NumPy's PCG64
  seeded through ``SeedSequence``): same seed ⇒ identical bytes.

Because of the wrap-around, an actor that crosses an edge is split into two pieces; its
``box`` (the bounding box of the mask) then spans the whole axis. Use ``mask`` for
localisation scores; ``box`` is tight for clips whose actor stays clear of the edges (about 60 %
of clips at the default settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vidxai.errors import InvalidInputError

CLASS_NAMES: tuple[str, ...] = ("left", "right", "up", "down")

# (dy, dx) unit step of each class, in the order of CLASS_NAMES.
_DIRECTIONS = np.array([(0, -1), (0, 1), (-1, 0), (1, 0)], dtype=np.int64)

ACTOR_COLOUR = (0.9, 0.1, 0.1)
# Distractor colours: every one far from the actor's red.
_PALETTE = np.array(
    [
        (0.15, 0.35, 0.95),  # blue
        (0.15, 0.80, 0.25),  # green
        (0.95, 0.85, 0.15),  # yellow
        (0.10, 0.80, 0.85),  # cyan
        (0.95, 0.95, 0.95),  # white
        (0.55, 0.25, 0.85),  # violet
    ],
    dtype=np.float32,
)

Box = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class SyntheticConfig:
    """How the benchmark clips are drawn.

    Attributes:
        num_frames: T, frames per clip.
        size: (H, W) of a frame.
        actor_size: side of the actor square, pixels.
        actor_speed: pixels per frame the actor moves along its class direction.
        span: (shortest, longest) number of frames the actor is visible and moving, inclusive.
        n_distractors: number of distractor discs.
        distractor_radius: (min, max) radius of a distractor disc, pixels.
        distractor_speed: (min, max) distractor speed, pixels per frame (random direction).
        noise: standard deviation of the per-frame (uniform) pixel noise, in [0, 1] intensity.
        texture: amplitude of the static background texture, in [0, 1] intensity.
    """

    num_frames: int = 16
    size: tuple[int, int] = (64, 64)
    actor_size: int = 8
    actor_speed: int = 2
    span: tuple[int, int] = (6, 10)
    n_distractors: int = 4
    distractor_radius: tuple[float, float] = (3.0, 5.0)
    distractor_speed: tuple[float, float] = (1.0, 3.0)
    noise: float = 0.04
    texture: float = 0.12

    def __post_init__(self) -> None:
        h, w = self.size
        if self.num_frames < 2:
            raise InvalidInputError(f"num_frames must be >= 2, got {self.num_frames}.")
        if h < 8 or w < 8:
            raise InvalidInputError(f"size must be at least (8, 8), got {self.size}.")
        if not 1 <= self.actor_size <= min(h, w) // 2:
            raise InvalidInputError(
                f"actor_size must be in [1, {min(h, w) // 2}] for size {self.size}, "
                f"got {self.actor_size}."
            )
        if self.actor_speed < 1:
            raise InvalidInputError(f"actor_speed must be >= 1, got {self.actor_speed}.")
        lo, hi = self.span
        if not 2 <= lo <= hi <= self.num_frames:
            raise InvalidInputError(
                f"span must satisfy 2 <= min <= max <= num_frames ({self.num_frames}), "
                f"got {self.span}."
            )
        if self.n_distractors < 0:
            raise InvalidInputError(f"n_distractors must be >= 0, got {self.n_distractors}.")
        r_lo, r_hi = self.distractor_radius
        s_lo, s_hi = self.distractor_speed
        if not 0 < r_lo <= r_hi or not 0 <= s_lo <= s_hi:
            raise InvalidInputError(
                "distractor_radius and distractor_speed must be (min, max) with "
                f"0 < min <= max, got {self.distractor_radius}, {self.distractor_speed}."
            )
        if self.noise < 0 or self.texture < 0:
            raise InvalidInputError(
                f"noise and texture must be >= 0, got {self.noise}, {self.texture}."
            )


@dataclass(frozen=True)
class SyntheticClip:
    """One benchmark clip.

    Attributes:
        frames: T×H×W×3 uint8.
        label: class index into ``CLASS_NAMES``.
        mask: T×H×W bool, the actor's pixels during the evidence span (empty elsewhere).
        box: ((t0, t1), (y0, y1), (x0, x1)) half-open bounding box of ``mask``.
        seed: the seed the clip was drawn from.
    """

    frames: np.ndarray
    label: int
    mask: np.ndarray
    box: Box
    seed: int

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.label]


@dataclass(frozen=True)
class SyntheticDataset:
    """A stack of clips drawn from consecutive seeds.

    Attributes:
        frames: N×T×H×W×3 uint8.
        labels: N int64.
        masks: N×T×H×W bool.
        boxes: N boxes as in :class:`SyntheticClip`.
        seeds: N seeds (clip i was drawn with ``make_clip(seeds[i], labels[i], config)``).
        config: the configuration used.
    """

    frames: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    boxes: tuple[Box, ...]
    seeds: tuple[int, ...]
    config: SyntheticConfig

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, i: int) -> SyntheticClip:
        return SyntheticClip(
            self.frames[i], int(self.labels[i]), self.masks[i], self.boxes[i], self.seeds[i]
        )

    def __iter__(self) -> Iterator[SyntheticClip]:
        return (self[i] for i in range(len(self)))


def default_label(seed: int) -> int:
    """The label ``make_clip`` uses when none is given: ``seed % 4`` (balanced over any range)."""
    return seed % len(CLASS_NAMES)


def make_clip(
    index_or_seed: int, label: int | None = None, config: SyntheticConfig | None = None
) -> SyntheticClip:
    """Draw one benchmark clip.

    Args:
        index_or_seed: non-negative integer seed; the clip is a pure function of it, ``label``
            and ``config``.
        label: class index in ``[0, 4)``; ``None`` uses ``seed % 4``.
        config: drawing parameters (default ``SyntheticConfig()``).

    Returns:
        A :class:`SyntheticClip` with frames T×H×W×3 uint8 and mask T×H×W bool.
    """
    config = SyntheticConfig() if config is None else config
    seed = _check_seed(index_or_seed)
    label = default_label(seed) if label is None else _check_label(label)
    scene_rng, actor_rng, noise_rng = (
        np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(3)
    )
    t_count = config.num_frames
    h, w = config.size

    image = np.empty((t_count, h, w, 3), dtype=np.float32)
    image[:] = _background(scene_rng, config)  # static texture
    layer, colours = _distractors(scene_rng, config)
    on_disc = layer > 0
    image[on_disc] = colours[layer[on_disc]]
    mask = _actor_mask(actor_rng, label, config)
    image[mask] = ACTOR_COLOUR  # drawn last: the mask is exactly the visible actor
    # Zero-mean uniform noise with standard deviation `noise` (uniform draws are ~6x faster).
    noise = noise_rng.random(image.shape, dtype=np.float32) - np.float32(0.5)
    image += noise * np.float32(config.noise * np.sqrt(12.0))
    np.clip(image, 0.0, 1.0, out=image)
    image *= 255.0
    frames = np.rint(image, out=image).astype(np.uint8)
    return SyntheticClip(frames, label, mask, box_of_mask(mask), seed)


def make_dataset(n: int, seed: int = 0, config: SyntheticConfig | None = None) -> SyntheticDataset:
    """Draw ``n`` clips from the consecutive seeds ``seed, seed + 1, …, seed + n - 1``.

    Labels are ``seed % 4`` per clip, so any ``n`` divisible by 4 is exactly balanced (otherwise
    the class counts differ by at most one). Use disjoint seed ranges for training and testing.

    Returns:
        A :class:`SyntheticDataset` (frames N×T×H×W×3 uint8, masks N×T×H×W bool).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidInputError(f"n must be a positive integer, got {n!r}.")
    first = _check_seed(seed)
    config = SyntheticConfig() if config is None else config
    clips = [make_clip(first + i, None, config) for i in range(int(n))]
    return SyntheticDataset(
        frames=np.stack([c.frames for c in clips]),
        labels=np.array([c.label for c in clips], dtype=np.int64),
        masks=np.stack([c.mask for c in clips]),
        boxes=tuple(c.box for c in clips),
        seeds=tuple(c.seed for c in clips),
        config=config,
    )


def box_of_mask(mask: np.ndarray) -> Box:
    """Half-open bounding box ((t0, t1), (y0, y1), (x0, x1)) of a non-empty T×H×W bool mask."""
    spans = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        if hit.size == 0:
            raise InvalidInputError("box_of_mask needs a non-empty mask.")
        spans.append((int(hit[0]), int(hit[-1]) + 1))
    return spans[0], spans[1], spans[2]


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed!r}.")
    return int(seed)


def _check_label(label: object) -> int:
    if (
        isinstance(label, bool)
        or not isinstance(label, (int, np.integer))
        or not 0 <= label < len(CLASS_NAMES)
    ):
        raise InvalidInputError(
            f"label must be an integer in [0, {len(CLASS_NAMES)}) "
            f"({', '.join(CLASS_NAMES)}), got {label!r}."
        )
    return int(label)


def _background(rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """Static smooth texture: grey with a random tint plus three random plane waves; H×W×3."""
    h, w = config.size
    tint = rng.uniform(0.35, 0.55) + rng.uniform(-0.04, 0.04, size=3)
    # Integer wave numbers keep the texture periodic on the torus like everything else.
    ky = rng.integers(-3, 4, size=3)
    kx = rng.integers(-3, 4, size=3)
    phase = rng.uniform(0.0, 2 * np.pi, size=3)
    amp = rng.uniform(0.5, 1.0, size=(3, 3))  # wave × channel
    yy = np.arange(h, dtype=np.float64)[:, None, None] / h
    xx = np.arange(w, dtype=np.float64)[None, :, None] / w
    waves = np.sin(2 * np.pi * (ky * yy + kx * xx) + phase)  # H×W×3 (one plane per wave)
    texture = waves @ amp / 3.0  # H×W×3 (channels)
    return (tint + config.texture * texture).astype(np.float32)


def _distractors(
    rng: np.random.Generator, config: SyntheticConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Discs drifting in random directions on the torus.

    Returns:
        layer: T×H×W int, 0 where no disc, else 1 + index of the topmost disc.
        colours: (K + 1)×3 float32 colour table (row 0 unused).
    """
    k = config.n_distractors
    t_count = config.num_frames
    h, w = config.size
    centre = rng.uniform((0.0, 0.0), (h, w), size=(k, 2))
    angle = rng.uniform(0.0, 2 * np.pi, size=k)
    speed = rng.uniform(*config.distractor_speed, size=k)
    radius = rng.uniform(*config.distractor_radius, size=k)
    colour = _PALETTE[rng.integers(0, len(_PALETTE), size=k)]

    t = np.arange(t_count, dtype=np.float64)[:, None]  # T×1
    cy = centre[:, 0] + speed * np.sin(angle) * t  # T×K
    cx = centre[:, 1] + speed * np.cos(angle) * t
    yy = np.arange(h, dtype=np.float64)
    xx = np.arange(w, dtype=np.float64)
    # Torus distance from each pixel row/column to each centre: T×K×H and T×K×W.
    dy = (yy - cy[..., None] + h / 2) % h - h / 2
    dx = (xx - cx[..., None] + w / 2) % w - w / 2
    inside = dy[..., :, None] ** 2 + dx[..., None, :] ** 2 <= radius[:, None, None] ** 2
    order = np.arange(1, k + 1)[None, :, None, None]
    layer = (inside * order).max(axis=1, initial=0)  # T×H×W; later discs on top
    colours = np.concatenate([np.zeros((1, 3), np.float32), colour])
    return layer, colours


def _actor_mask(rng: np.random.Generator, label: int, config: SyntheticConfig) -> np.ndarray:
    """The actor's pixels, T×H×W bool: a square visible and moving only during [t0, t1)."""
    t_count = config.num_frames
    h, w = config.size
    s = config.actor_size
    start = rng.integers((0, 0), (h, w))  # top-left corner, uniform on the torus
    length = int(rng.integers(config.span[0], config.span[1] + 1))
    t0 = int(rng.integers(0, t_count - length + 1))

    t = np.arange(t_count)
    visible = (t >= t0) & (t < t0 + length)
    step = config.actor_speed * _DIRECTIONS[label]
    y = (start[0] + step[0] * (t - t0)) % h  # T
    x = (start[1] + step[1] * (t - t0)) % w
    rows = (np.arange(h)[None, :] - y[:, None]) % h < s  # T×H
    cols = (np.arange(w)[None, :] - x[:, None]) % w < s  # T×W
    return rows[:, :, None] & cols[:, None, :] & visible[:, None, None]
