"""IPAD-CLIP: open_clip backbone wrapper, artifact-aware text anchors, anchor-steered heads and tiling."""
