"""Training length set by wall-clock minutes instead of a step count.

On an accelerator the same stage runs tens of times faster than on two CPU cores, so a fixed step
count either wastes a short GPU lease or overruns it. With a budget, the trainer times a few steps
after warm-up, then fixes the step count (and so the learning-rate schedule) to fill the budget.
Schedules only depend on the total after warm-up starts decaying, which is past the calibration
window, so nothing seen before the count is fixed changes.
"""

from __future__ import annotations

import time

import torch


class StepBudget:
    def __init__(self, minutes: float | None, steps: int, calibrate_from: int = 10, calibrate_to: int = 40):
        self.minutes = minutes
        # Until calibrated, the loop must run at least through the calibration window.
        self.steps = steps if minutes is None else max(steps, calibrate_to)
        self.calibrate_from, self.calibrate_to = calibrate_from, calibrate_to
        self.began = time.time()
        self._mark = 0.0
        self.fixed = minutes is None

    def after_step(self, step: int, device: torch.device) -> int:
        """Call after each step (0-based); returns the total step count to train for."""
        if self.fixed:
            return self.steps
        if step + 1 == self.calibrate_from:
            _synchronise(device)
            self._mark = time.time()
        elif step + 1 == self.calibrate_to:
            _synchronise(device)
            per_step = (time.time() - self._mark) / (self.calibrate_to - self.calibrate_from)
            remaining = self.minutes * 60 - (time.time() - self.began)
            self.steps = max(self.calibrate_to, step + 1 + int(remaining / per_step))
            self.fixed = True
            print(f"[budget] {per_step * 1000:.1f} ms per step: {self.steps} steps fill {self.minutes:g} min", flush=True)
        return self.steps


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pick_device(name: str = "auto") -> torch.device:
    """'auto' takes CUDA when PyTorch sees a GPU; TF32 matmuls there (the models are small and fp32)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device
