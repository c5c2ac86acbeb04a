"""What the pyramid decoder adds to trained weights: their maps with and without its stride-4 correction.

The decoder's output is ``upsample(patch-grid features) + correction`` (``ipad_iqa.model.pyramid``). This script
evaluates the weights as they are and with the correction's projection zeroed (the maps then come from the
upsampled stride-16 features alone) on a benchmark split, with ``ipad-iqa evaluate``; and, over the first
``--probe`` images, the size of the correction against the features it corrects (ratio of norms per pixel, and
the cosine between the corrected and uncorrected features, which is all the anchors read). Writes
``benchmarks/results/decoder_share.json``.

    python benchmarks/decoder_share.py --benchmark BENCH [--split val] [--weights W] [--probe 24]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from common import write_results
from safetensors import safe_open
from safetensors.torch import save_file

from ipad_iqa.cli.main import main as cli
from ipad_iqa.eval.harness import benchmark_items
from ipad_iqa.factory import create_model
from ipad_iqa.io import load_image
from ipad_iqa.model.pyramid import _grid, _up
from ipad_iqa.weights import sha256_file

SHIPPED = Path(__file__).resolve().parents[1] / "ipad_iqa" / "assets" / "ipad_clip_s.safetensors"
CLASSES = ("ghosting", "flare", "moire")
METRICS = ("pixel_auroc", "aupro", "image_auroc")


def without_correction(weights: Path, out: Path) -> Path:
    """A copy of ``weights`` whose decoder adds nothing to the upsampled patch-grid features."""
    with safe_open(str(weights), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = f.metadata()
    for key in ("decoder.out.weight", "decoder.out.bias"):
        tensors[key] = torch.zeros_like(tensors[key])
    save_file(tensors, str(out), metadata=metadata)
    return out


def metrics(benchmark: str, split: str, weights: Path, out: Path) -> dict[str, float]:
    """Per-class and mean metrics of ``ipad-iqa evaluate`` for ``ipad_clip`` with ``weights``."""
    cli(["evaluate", "--benchmark", benchmark, "--split", split, "--methods", "ipad_clip", "--checkpoint",
         f"ipad_clip={weights}", "--out", str(out), "--quiet"])
    m = json.loads((out / "metrics.json").read_text())["ipad_clip"]
    return {f"{c}_{k}": m[c][k] for c in (*CLASSES, "mean") for k in METRICS}


def correction_size(benchmark: str, split: str, weights: Path, n: int) -> dict[str, float]:
    """Mean per-pixel |base|, |correction| / |base| and cos(base, base + correction) over the first ``n`` images."""
    model = create_model("ipad_clip", head_weights=weights).eval()
    seen: dict[str, list[float]] = {"base_norm": [], "ratio": [], "cosine": []}
    state: dict[str, torch.Tensor] = {}

    def keep_base(_module, args) -> None:
        _taps, base, grid, s4, _s8 = args
        state["base"] = _up(_grid(base, grid), s4)

    def measure(_module, _args, correction: torch.Tensor) -> None:
        base = state.pop("base")
        seen["base_norm"].append(float(base.norm(dim=1).mean()))
        seen["ratio"].append(float((correction.norm(dim=1) / base.norm(dim=1)).mean()))
        seen["cosine"].append(float(F.cosine_similarity(base, base + correction, dim=1).mean()))

    model.decoder.register_forward_pre_hook(keep_base)
    model.decoder.out.register_forward_hook(measure)
    with torch.no_grad():
        for item in benchmark_items(Path(benchmark), split)[:n]:
            model(load_image(item.path)[None])
    return {k: float(np.mean(v)) for k, v in seen.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--weights", type=Path, default=SHIPPED)
    parser.add_argument("--probe", type=int, default=24, help="images over which the correction's size is measured")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        zeroed = without_correction(args.weights, tmp / "zeroed.safetensors")
        full = metrics(args.benchmark, args.split, args.weights, tmp / "full")
        alone = metrics(args.benchmark, args.split, zeroed, tmp / "zeroed")
    result = {"benchmark": args.benchmark, "split": args.split, "weights_sha256": sha256_file(args.weights),
              "with_decoder": full, "stride16_alone": alone,
              "correction": correction_size(args.benchmark, args.split, args.weights, args.probe),
              "probe_images": args.probe}
    write_results("decoder_share", result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
