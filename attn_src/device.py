"""The one place that picks where tensors live: CUDA when available, else the CPU."""
from __future__ import annotations

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
