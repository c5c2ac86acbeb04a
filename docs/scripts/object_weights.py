"""How much a model's anchors depend on the objects in the image: the object-artifact prompts, measured.

    python docs/scripts/object_weights.py --benchmark /work/data/ipad_synth_v1 --split val

IPAD-CLIP mixes one anchor per (state, object) with weights from the class token of the image
(``ipad_iqa.model.prompts.image_anchors``). Prints the range of those weights over the split's images against
the uniform weight, and, per state, the lowest cosine between two objects' anchors: weights near uniform, or
anchors that all point the same way, mean the object vocabulary changes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from ipad_iqa import create_model
from ipad_iqa.eval.harness import benchmark_items
from ipad_iqa.io import load_image
from ipad_iqa.model.prompts import object_weights
from ipad_iqa.output import LABELS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--metric", default="ipad_clip", help="registry variant (its registered weights)")
    parser.add_argument("--head-weights", help="another trained file for the variant")
    args = parser.parse_args()

    kwargs = {"head_weights": args.head_weights} if args.head_weights else {}
    model = create_model(args.metric, **kwargs).eval()
    samples = benchmark_items(args.benchmark, args.split)
    with torch.no_grad():
        t = model.text_anchors()  # (states, objects, dim)
        w = torch.cat([object_weights(t, model.forward_views(model.global_view(load_image(s.path)[None]), t).cls_emb,
                                      model.cfg.object_temperature) for s in samples])
        tn = F.normalize(t, dim=-1)
        cos = torch.einsum("kod,kpd->kop", tn, tn)
    print(f"{w.shape[0]} images, {w.shape[1]} objects: object weights {w.min():.4f}-{w.max():.4f} "
          f"(uniform {1 / w.shape[1]:.4f})")
    print("lowest cosine between two objects' anchors: "
          + ", ".join(f"{state} {c.min():.3f}" for state, c in zip(LABELS, cos, strict=True)))


if __name__ == "__main__":
    main()
