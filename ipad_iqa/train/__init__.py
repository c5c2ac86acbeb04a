"""Training recipe: config dataclasses, losses and the (torchrun-ready) loop. Imports nothing from eval."""
