"""The training loop: single process or torchrun/DistributedDataParallel (gloo on CPU, nccl on GPU)."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from ipad_iqa.baselines.networks import ArtifactModel, build_model, start_file
from ipad_iqa.data.datasets import IPADSynthDataset, SynthDatasetConfig
from ipad_iqa.data.shards import ShardDataset, ShardDatasetConfig
from ipad_iqa.data.sources import list_clean_pool
from ipad_iqa.eval.metrics.functional import auroc
from ipad_iqa.model.ipad_clip import ViewOutput
from ipad_iqa.output import ARTIFACT_CLASSES
from ipad_iqa.train.config import DATA_ENV, TrainConfig, recorded_precision
from ipad_iqa.train.losses import ipad_loss
from ipad_iqa.weights import save_weights, sha256_file


class _Step(nn.Module):
    """One forward over a batch of views; wrapped in DDP so that gradients of every part are synchronised."""

    def __init__(self, model: ArtifactModel):
        super().__init__()
        self.model = model

    def forward(self, views: torch.Tensor) -> tuple[ViewOutput, torch.Tensor]:
        t = self.model.text_anchors()
        return self.model.forward_views(self.model.normalize(views), t), t


def _float(out: ViewOutput) -> ViewOutput:
    """A forward pass's outputs in float32 (a no-op for float32 ones), so that the losses sum in full precision."""
    values = {f.name: getattr(out, f.name) for f in dataclasses.fields(out)}
    return ViewOutput(**{k: [x.float() for x in v] if isinstance(v, list) else v.float() for k, v in values.items()})


def train_step(model: ArtifactModel, runner: nn.Module, opt: torch.optim.Optimizer, batch: dict, cfg: TrainConfig,
               device: torch.device, tick: Callable[[str], None] = lambda phase: None
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """One optimizer step on ``batch``: ``runner`` is ``_Step(model)``, DDP-wrapped when distributed. Returns the
    loss and its parts. ``tick(phase)`` is called as each phase ends, so that ``benchmarks/train_profile.py``
    times this very code rather than a copy of it."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bfloat16"):
        out, t = runner(batch["image"].to(device))
    tick("forward")
    valid = batch["valid"].to(device) if "valid" in batch else None
    loss, parts = ipad_loss(model, _float(out), t.float(), batch["masks"].to(device), batch["label"].to(device),
                            cfg.loss, valid)
    tick("loss")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    tick("backward")
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
    tick("clip")
    opt.step()
    tick("optimizer")
    return loss, parts


class RankSlice(Sampler[int]):
    """Indices start*global_batch + rank, + world, ...: each rank its own samples, resumable mid-run."""

    def __init__(self, start: int, stop: int, rank: int, world: int):
        self.start, self.stop, self.rank, self.world = start, stop, rank, world

    def __iter__(self):
        return iter(range(self.start + self.rank, self.stop, self.world))

    def __len__(self) -> int:
        return max(0, math.ceil((self.stop - self.start - self.rank) / self.world))


def git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _datasets(cfg: TrainConfig) -> tuple[Dataset, Dataset]:
    """Training and validation sets: IPAD-Synth v2 shards when ``data.shards`` is set, else on-the-fly v1."""
    d = cfg.data
    if d.shards:
        if not d.val_shards:
            raise ValueError("data.shards needs data.val_shards too (write both with `ipad-iqa make-shards`)")
        world = dist.get_world_size() if dist.is_initialized() else 1
        needed = cfg.optim.steps * cfg.optim.batch_size * world
        base = ShardDatasetConfig(crop_size=d.crop_size, seed=cfg.seed)
        probe = ShardDataset(d.shards, base)
        views = max(1, math.ceil(needed / len(probe.records)))  # as many passes as the schedule needs
        train = ShardDataset(d.shards, dataclasses.replace(base, views_per_canvas=views))
        val = ShardDataset(d.val_shards, dataclasses.replace(base, views_per_canvas=1, seed=cfg.seed + 10_000))
        return train, Subset(val, range(min(len(val), d.val_samples)))
    if not cfg.data.clean_dir:
        raise ValueError(f"data.clean_dir is required: a folder of clean photos, given with --clean-dir DIR or "
                         f"the environment variable {DATA_ENV}")
    d = cfg.data
    common = dict(canvas_sizes=d.canvas_sizes, crop_size=d.crop_size, class_probs=d.class_probs,
                  severity_range=d.severity_range, ghosting_modes=d.ghosting_modes,
                  reflection_scene=d.reflection_scene)
    train_paths, val_paths = list_clean_pool(d.clean_dir, "train"), list_clean_pool(d.clean_dir, "val")
    if not train_paths or not val_paths:
        raise ValueError(f"{d.clean_dir}: needs photos in both the train and val scene splits")
    world = dist.get_world_size() if dist.is_initialized() else 1
    train = IPADSynthDataset(train_paths, SynthDatasetConfig(
        **common, length=cfg.optim.steps * cfg.optim.batch_size * world, seed=cfg.seed))
    val = IPADSynthDataset(val_paths, SynthDatasetConfig(**common, length=d.val_samples, seed=cfg.seed + 10_000))
    return train, val


def _optimizer(model: ArtifactModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    head, backbone = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (head if name.startswith(model.head_prefixes) else backbone).append(p)
    groups = [{"params": head, "lr": cfg.optim.lr}]
    if backbone:
        groups.append({"params": backbone, "lr": cfg.optim.backbone_lr})
    return torch.optim.AdamW(groups, weight_decay=cfg.optim.weight_decay)


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    o = cfg.optim
    if step < o.warmup_steps:
        return (step + 1) / o.warmup_steps
    progress = (step - o.warmup_steps) / max(1, o.steps - o.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


PIXEL_STEP = 4  # the validation AUROCs read every 4th pixel of each crop's rows and columns: maps are made at stride 4


def crop_aurocs(probs: np.ndarray, masks: np.ndarray, valid: np.ndarray, labels: np.ndarray,
                class_probs: np.ndarray) -> dict[str, float]:
    """The six AUROCs the targets name, on validation crops: each class's pixel AUROC (its visible pixels
    against every other valid pixel of its crops and the clean ones, the ignore band left out) and image AUROC
    (fused class probability, the class's crops against the clean ones), and ``val_auroc``, their mean.

    ``probs`` and ``masks`` (N,3,h,w), ``valid`` (N,h,w), ``labels`` (N,), ``class_probs`` (N,3). A class
    without crops (or without clean ones) has a NaN AUROC, left out of the mean, so every validation of a run
    logs the same columns."""
    result: dict[str, float] = {}
    for k, name in enumerate(ARTIFACT_CLASSES):
        crops = (labels == k + 1) | (labels == 0)
        for kind, value in (("pixel", auroc(probs[crops, k], masks[crops, k], ignore=~valid[crops])),
                            ("image", auroc(class_probs[crops, k], labels[crops] == k + 1))):
            result[f"{name}_{kind}_auroc"] = math.nan if value is None else value
    known = [v for v in result.values() if not math.isnan(v)]
    result["val_auroc"] = float(np.mean(known)) if known else math.nan
    return result


@torch.no_grad()
def validate(model: ArtifactModel, batches: list[dict], cfg: TrainConfig) -> dict[str, float]:
    """Validation loss, image accuracy of the fused class probabilities and the targets' AUROCs
    (``crop_aurocs``) on the validation crops, from one forward pass."""
    model.eval()
    t = model.text_anchors()
    total, correct, n, named_n = 0.0, 0, 0, 0
    s = slice(None, None, PIXEL_STEP)
    read: dict[str, list[np.ndarray]] = {k: [] for k in ("probs", "masks", "valid", "labels", "class_probs")}
    for b in batches:
        out = model.forward_views(model.normalize(b["image"]), t)
        loss, _ = ipad_loss(model, out, t, b["masks"], b["label"], cfg.loss, b.get("valid"))
        class_probs, score = model.fuse(out.cls_logits, out.probs)
        pred = torch.where(score[:, 0] > 0.5, torch.zeros_like(b["label"]), class_probs.argmax(-1) + 1)
        named = b["label"] >= 0
        total += float(loss) * len(b["label"])
        correct += int((pred == b["label"])[named].sum())
        n += len(b["label"])
        named_n += int(named.sum())
        grid = out.probs.float()
        if grid.shape[-2:] != b["masks"].shape[-2:]:
            grid = F.interpolate(grid, size=b["masks"].shape[-2:], mode="bilinear", align_corners=False)
        valid = b["valid"] if "valid" in b else torch.ones_like(b["masks"][:, 0])
        for key, value in (("probs", grid[:, 1:, s, s]), ("masks", b["masks"][:, :, s, s] > 0.5),
                           ("valid", valid[:, s, s] > 0.5), ("labels", b["label"]),
                           ("class_probs", class_probs.float())):
            read[key].append(value.cpu().numpy())
    model.train()
    return {"val_loss": total / n, "val_acc": correct / max(1, named_n),
            **crop_aurocs(**{k: np.concatenate(v) for k, v in read.items()})}


def export_weights(model: ArtifactModel, path: Path, cfg: TrainConfig, metrics: dict[str, Any],
                   revision: str | None = None) -> str:
    """Checkpoint for ``head_weights=`` / registry.yaml / ``load_trained``: whole model if anything outside
    the head trained, else the head only (frozen-backbone variants), with the sha256 of its start file.

    ``revision``: the git revision of the code that trained it. ``train`` reads it once at the start: a
    commit made while a long run goes on is not the code that trained its later checkpoints.
    """
    body = [p for n, p in model.named_parameters() if not n.startswith(model.head_prefixes)]
    trained_body = any(p.requires_grad for p in body)
    state = {k: v for k, v in model.state_dict().items() if trained_body or k.startswith(model.head_prefixes)}
    meta = {"method": cfg.method, "variant": cfg.variant, "config": cfg.to_dict(), "git_revision": revision,
            "data_seed": cfg.seed, "metrics": metrics}
    if not trained_body and (start := start_file(cfg)) is not None:
        meta["start_sha256"] = sha256_file(start)
    return save_weights(state, path, meta, dtype=getattr(torch, cfg.save_dtype))


def _init_distributed(cfg: TrainConfig) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = torch.device(cfg.device)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    rank = dist.get_rank() if dist.is_initialized() else 0
    return rank, world, device


class _CsvLog:
    """Rows appended to a CSV. A resumed run may log columns its file lacks (a newer version of the code):
    the header then widens and the older rows keep empty cells, so no value lands under another's name."""

    def __init__(self, path: Path, append: bool):
        self.path = path
        self.fields: list[str] | None = None
        if append and path.exists():
            with path.open(newline="") as fh:
                self.fields = next(csv.reader(fh), None)

    def write(self, row: dict[str, Any]) -> None:
        if self.fields is None:
            self.fields = list(row)
            self._rewrite([])
        elif any(k not in self.fields for k in row):
            with self.path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
            self.fields += [k for k in row if k not in self.fields]
            self._rewrite(rows)
        with self.path.open("a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.fields, restval="").writerow(row)

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        with self.path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields, restval="")
            writer.writeheader()
            writer.writerows(rows)


def train(cfg: TrainConfig, resume: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the recipe; returns the final summary (also written into the exported checkpoint). The progress bar
    is shown by the main process only, and not at all with ``progress=False``."""
    from tqdm import tqdm

    rank, world, device = _init_distributed(cfg)
    revision = git_revision()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    out_dir = Path(cfg.out_dir)
    model = build_model(cfg).to(device).train()
    opt = _optimizer(model, cfg)
    step, best, stale, history = 0, math.inf, 0, []
    if resume:
        ckpt = torch.load(resume, map_location=device, weights_only=True)
        # a run goes on in the arithmetic it started in
        if (started_in := recorded_precision(ckpt["config"])) != cfg.precision:
            raise ValueError(f"{resume} trained with precision {started_in}, this config says {cfg.precision}: "
                             f"resume with --set precision={started_in}")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, best, stale = ckpt["step"], ckpt["best"], ckpt["stale"]
    runner = _Step(model)
    if world > 1:
        runner = nn.parallel.DistributedDataParallel(runner, device_ids=[device.index] if device.type == "cuda"
                                                     else None)
    train_set, val_set = _datasets(cfg)
    b = cfg.optim.batch_size
    loader = DataLoader(train_set, batch_size=b, sampler=RankSlice(step * b * world, len(train_set), rank, world),
                        num_workers=cfg.data.num_workers, drop_last=True,
                        persistent_workers=cfg.data.num_workers > 0)
    is_main = rank == 0
    val_batches = ([{k: v.to(device) for k, v in vb.items()} for vb in DataLoader(val_set, batch_size=b)]
                   if is_main else [])
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    log, val_log = _CsvLog(out_dir / "log.csv", bool(resume)), _CsvLog(out_dir / "val.csv", bool(resume))
    tb = _tensorboard(out_dir) if is_main else None
    if is_main and cfg.init_weights and not resume:
        # where a fine-tune starts from: its row 0 in val.csv, and the loss that early stopping must beat
        metrics = validate(model, val_batches, cfg)
        val_log.write({"step": 0, **metrics})
        history.append({"step": 0, **metrics})
        best = metrics["val_loss"]
    started, seen, losses = time.perf_counter(), 0, []
    bar = tqdm(total=cfg.optim.steps, initial=step, disable=not (is_main and progress), desc="train", dynamic_ncols=True)
    stop_reason = "steps"
    for batch in loader:
        if step >= cfg.optim.steps:
            break
        for g, base in zip(opt.param_groups, (cfg.optim.lr, cfg.optim.backbone_lr), strict=False):
            g["lr"] = base * _lr_factor(step, cfg)
        loss, parts = train_step(model, runner, opt, batch, cfg, device)
        step += 1
        seen += b * world
        losses.append(float(loss.detach()))
        rate = seen / (time.perf_counter() - started)
        bar.set_postfix(loss=f"{losses[-1]:.3f}", img_s=f"{rate:.1f}")
        bar.update(1)
        if is_main and step % cfg.log_every == 0:
            row = {"step": step, "loss": losses[-1], **parts, "lr": opt.param_groups[0]["lr"], "img_per_s": rate}
            log.write(row)
            if tb:
                for k, v in row.items():
                    tb.add_scalar(f"train/{k}", v, step)
        stop = torch.zeros(1, device=device)
        if step % cfg.val_every == 0 or step == cfg.optim.steps:
            if is_main:
                metrics = validate(model, val_batches, cfg)
                val_log.write({"step": step, **metrics})
                history.append({"step": step, **metrics})
                if tb:
                    for k, v in metrics.items():
                        tb.add_scalar(f"val/{k}", v, step)
                # The weights of the latest validation are the run's output: at the end, its last step. The
                # validation loss chose worse (docs/history.md: one seed in three exported step 200 of 1,320).
                export_weights(model, out_dir / "last.safetensors", cfg, {"step": step, **metrics}, revision)
                if cfg.keep_weights:  # the same bytes: copied, not serialized twice
                    shutil.copyfile(out_dir / "last.safetensors", out_dir / f"step_{step:06d}.safetensors")
                best, stale = (metrics["val_loss"], 0) if metrics["val_loss"] < best else (best, stale + 1)
                torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                            "best": best, "stale": stale, "config": cfg.to_dict()}, out_dir / "last.pt")
                # A run that has done all its steps stopped for that reason, whatever its clock or patience say.
                steps_left = step < cfg.optim.steps
                if steps_left and stale >= cfg.patience:
                    stop[0], stop_reason = 1, "early stopping"
                elif steps_left and cfg.max_minutes and (time.perf_counter() - started) / 60 > cfg.max_minutes:
                    stop[0], stop_reason = 1, "time budget"
            if world > 1:
                dist.broadcast(stop, 0)
            if stop.item():
                break
    bar.close()
    summary = {"steps": step, "best_val_loss": best, "stop_reason": stop_reason, "history": history,
               "first_losses": losses[:10], "seconds": time.perf_counter() - started, "world_size": world}
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return summary


def _tensorboard(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(out_dir / "tb"))
