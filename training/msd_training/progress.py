"""Progress lines with rate and ETA, flushed so `nohup` logs show them live."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, every: float = 10.0):
        self.total, self.label, self.every = total, label, every
        self.start = self.last = time.time()
        self.done = 0

    def update(self, n: int = 1, **metrics) -> None:
        self.done += n
        now = time.time()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        elapsed = now - self.start
        rate = self.done / max(elapsed, 1e-9)
        eta = (self.total - self.done) / max(rate, 1e-9)
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
        print(f"[{self.label}] {self.done}/{self.total} {elapsed / 60:.1f}m elapsed, ETA {eta / 60:.1f}m {extra}", flush=True, file=sys.stdout)
