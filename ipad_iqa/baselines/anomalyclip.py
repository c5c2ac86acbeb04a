"""AnomalyCLIP-style baseline, expressed as arch options of IPADCLIP rather than a copy of it.

Object-agnostic learned prompts (``objects: agnostic``), no adapters and no anchor-steered adaptation, and
the image score from the class token alone (``cls_weight: 1.0``), as AnomalyCLIP does. DPAM (value-value
attention) is not reproduced. Train: ``ipad-iqa train --config configs/baselines/anomalyclip.yaml``.
"""

from __future__ import annotations

from typing import Any

ARCH: dict[str, Any] = {"objects": "agnostic", "use_adapters": False, "anchor_steering": False,
                        "cls_weight": 1.0}
