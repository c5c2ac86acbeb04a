"""Detection and localization metrics: exact functions and streaming accumulators."""

from ipad_iqa.eval.metrics.functional import aupro, auroc, average_precision, f1_max
from ipad_iqa.eval.metrics.streaming import (
    ALL_METRICS,
    IMAGE_METRICS,
    PIXEL_METRICS,
    SEVERITY_METRICS,
    BenchmarkAccumulator,
    MetricsConfig,
    PixelAccumulator,
    image_metrics,
    severity_bins,
)

__all__ = [
    "ALL_METRICS", "IMAGE_METRICS", "PIXEL_METRICS", "BenchmarkAccumulator", "MetricsConfig",
    "PixelAccumulator", "SEVERITY_METRICS", "aupro", "auroc", "average_precision", "f1_max", "image_metrics",
    "severity_bins",
]
