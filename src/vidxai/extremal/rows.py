"""How the masks of a batch of clips become the rows of one model batch.

``N`` clips with ``A`` areas each give ``N·A`` masks, ordered clip by clip (mask ``i·A + a`` is
area ``a`` of clip ``i``). Each clip contributes ``M`` rows to the model batch: its ``A``
preserved clips ``x ⊙ m`` (``preserve``), its ``A`` deleted clips ``x ⊙ (1 − m)`` (``delete``),
or both, preserved first (``dual``, ``M = 2A``). Every row's reward term depends on that row
alone, so the engine may split the rows into batches anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.extremal.reward import Variant


@dataclass(frozen=True)
class RowLayout:
    """Rows of ``n_clips`` clips × ``n_areas`` masks for one ``variant``."""

    n_clips: int
    n_areas: int
    variant: Variant

    @property
    def copies(self) -> int:
        """Rows per mask: 2 for ``dual``, else 1."""
        return 2 if self.variant == "dual" else 1

    @property
    def per_clip(self) -> int:
        """Rows per clip, ``M``."""
        return self.copies * self.n_areas

    @property
    def n_rows(self) -> int:
        """Rows of the whole batch, ``N·M``."""
        return self.n_clips * self.per_clip

    def clip_of_row(self, device: torch.device | str = "cpu") -> Tensor:
        """``N·M`` long: the clip of each row."""
        clips = torch.arange(self.n_clips, device=device)
        return clips.repeat_interleave(self.per_clip)

    def deleted(self, device: torch.device | str = "cpu") -> Tensor:
        """``N·M`` bool: whether each row shows the deleted clip ``x ⊙ (1 − m)``."""
        a = self.n_areas
        if self.variant == "preserve":
            one = torch.zeros(a, dtype=torch.bool, device=device)
        elif self.variant == "delete":
            one = torch.ones(a, dtype=torch.bool, device=device)
        else:
            one = torch.arange(2 * a, device=device) >= a
        return one.repeat(self.n_clips)

    def row_masks(self, masks: Tensor) -> Tensor:
        """``(N·A)×…`` masks → ``(N·M)×…`` masks of the rows (``1 − m`` for deleted rows)."""
        if self.variant == "preserve":
            return masks
        if self.variant == "delete":
            return 1.0 - masks
        m = masks.reshape(self.n_clips, self.n_areas, *masks.shape[1:])
        return torch.cat([m, 1.0 - m], 1).reshape(self.n_rows, *masks.shape[1:])

    def per_mask(self, values: Tensor) -> Tensor:
        """``N·M`` row terms → ``N×A`` sums per mask (a ``dual`` mask adds its two rows)."""
        return values.reshape(self.n_clips, self.copies, self.n_areas).sum(1)

    def shown(self, values: Tensor) -> Tensor:
        """``N·M`` row values → ``N×A``: those of each mask's first row (the preserved clip;
        the deleted clip for ``delete``)."""
        return values.reshape(self.n_clips, self.copies, self.n_areas)[:, 0]
