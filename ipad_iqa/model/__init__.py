"""IPAD-CLIP: open_clip backbone wrapper, artifact-aware text anchors, adapters, the stride-4 pyramid and tiling."""
