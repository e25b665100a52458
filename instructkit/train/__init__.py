"""Fine-tune and benchmark models on curated data with TRL (needs the ``train`` extra).

Nothing heavy is imported here: torch, transformers, trl and peft load inside the functions.

```python
from instructkit.train import TrainConfig, train
result = train(TrainConfig(model="tiny", data="out/quickstart", output_dir="out/train-sft"))
```
"""

from __future__ import annotations

from typing import Any

__all__ = ["EvalSettings", "LoraSettings", "TrainConfig", "TrainResult", "compare", "evaluate", "train"]


def __getattr__(name: str) -> Any:
    if name in ("EvalSettings", "LoraSettings", "TrainConfig", "TrainResult", "train"):
        from instructkit.train import sft

        return getattr(sft, name)
    if name in ("compare", "evaluate"):
        from instructkit.train import bench

        return getattr(bench, name)
    raise AttributeError(f"module 'instructkit.train' has no attribute {name!r}")
