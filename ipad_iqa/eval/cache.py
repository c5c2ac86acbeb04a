"""Per-method prediction cache, so an interrupted or extended evaluation only predicts what is missing.

One compressed ``.npz`` per (method, image): score, class probabilities, maps downsampled to ``map_side``
(float16) and the time the prediction took. Metrics are always computed from the cached record, so a resumed
run gives exactly the numbers of an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ipad_iqa.output import IPADOutput


@dataclass(frozen=True)
class Prediction:
    """One image's cached prediction."""

    score: float
    class_probs: np.ndarray  # (3,)
    maps: np.ndarray  # (3, h, w) float16, long side <= map_side
    cpu_s: float  # process CPU seconds spent on this image (batch time / batch size)
    wall_s: float

    def maps_at(self, size: tuple[int, int]) -> np.ndarray:
        """Maps upsampled (bilinear) to ``size``, float32 in [0, 1]."""
        t = torch.from_numpy(self.maps.astype(np.float32))[None]
        if tuple(t.shape[-2:]) != tuple(size):
            t = F.interpolate(t, size=size, mode="bilinear", align_corners=False)
        return t[0].clamp(0, 1).numpy()


class StaleCacheError(ValueError):
    """The cached predictions were made by another version of the method (other weights)."""


class PredictionCache:
    """``root/<method>/<hash of image key>.npz``, plus ``method.json`` recording what made them.

    ``fingerprint`` (e.g. the sha256 of the weights) is checked against the recorded one, so predictions of
    old weights are never mixed into the metrics of new ones; ``None`` skips the check (reading a report).
    """

    def __init__(self, root: Path, method: str, map_side: int = 256, fingerprint: str | None = None) -> None:
        self.dir = self.folder(root, method)
        self.map_side = map_side
        self.fingerprint = fingerprint
        recorded = self._read() if fingerprint is not None else {}
        if recorded and recorded.get("fingerprint") != fingerprint:
            raise StaleCacheError(
                f"{self.dir}: cached predictions of {method!r} were made with "
                f"{recorded.get('fingerprint') or 'an unrecorded version'}, "
                f"not {fingerprint}; write to a new --out folder or delete {self.dir} to predict again")

    @staticmethod
    def folder(root: Path, method: str) -> Path:
        """Where ``method``'s predictions live under ``root``: its full name, arch options included."""
        return Path(root) / method

    def _read(self) -> dict:
        f = self.dir / "method.json"
        return json.loads(f.read_text()) if f.is_file() else {}

    def read_info(self) -> tuple[bool, tuple[str, ...]] | None:
        """(has_maps, classes) of the method, if a previous run recorded them."""
        info = self._read()
        if not info:
            return None
        return bool(info["has_maps"]), tuple(info["classes"])

    def recorded_fingerprint(self) -> str | None:
        """What made the cached predictions (e.g. the sha256 of the weights), as a previous run recorded it."""
        return self._read().get("fingerprint")

    def write_info(self, has_maps: bool, classes: tuple[str, ...]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        info = {"has_maps": has_maps, "classes": list(classes), "fingerprint": self.fingerprint}
        (self.dir / "method.json").write_text(json.dumps(info))

    def path(self, key: str) -> Path:
        return self.dir / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.npz"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def load(self, key: str) -> Prediction:
        with np.load(self.path(key)) as z:
            return Prediction(float(z["score"]), z["class_probs"], z["maps"], float(z["cpu_s"]), float(z["wall_s"]))

    def store(self, keys: list[str], out: IPADOutput, cpu_s: float, wall_s: float) -> list[Prediction]:
        """Downsample and write one record per image of a batch; returns what was written."""
        self.dir.mkdir(parents=True, exist_ok=True)
        maps = out.maps.detach().float().cpu()
        h, w = maps.shape[-2:]
        scale = self.map_side / max(h, w)
        if scale < 1:
            maps = F.interpolate(maps, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
        n = len(keys)
        preds = []
        for i, key in enumerate(keys):
            p = Prediction(float(out.score[i].item()), out.class_probs[i].detach().float().cpu().numpy(),
                           maps[i].numpy().astype(np.float16), cpu_s / n, wall_s / n)
            tmp = self.path(key).with_suffix(".tmp.npz")
            np.savez_compressed(tmp, score=p.score, class_probs=p.class_probs, maps=p.maps,
                                cpu_s=p.cpu_s, wall_s=p.wall_s, key=key)
            tmp.replace(self.path(key))  # atomic: an interrupted write never leaves a truncated record
            preds.append(p)
        return preds
