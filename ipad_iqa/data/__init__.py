"""Data: artifact synthesis, scene splits, the shared finishing path, datasets and the IPAD-Synth benchmark."""
