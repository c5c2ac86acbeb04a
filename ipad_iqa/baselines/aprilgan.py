"""APRIL-GAN / VAND-style baseline, expressed as arch options of IPADCLIP rather than a copy of it.

Same backbone and budget as IPAD-CLIP; patch tokens of the tapped layers, one linear map per layer into the
text space (``adapter: linear``), compared with fixed hand-written prompts (``prompt_mode: fixed``): no learned
context, no object weighting (one generic object word), no anchor steering.
Train: ``ipad-iqa train --config configs/baselines/aprilgan.yaml``.
"""

from __future__ import annotations

from typing import Any

ARCH: dict[str, Any] = {"prompt_mode": "fixed", "adapter": "linear", "anchor_steering": False,
                        "objects": "agnostic"}
