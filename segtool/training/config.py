"""The training configuration (no torch here: ``segtool train --help`` reads its defaults)."""
from __future__ import annotations

from dataclasses import dataclass, field

from seg_node.label_sets import IGNORE_INDEX


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in its checkpoints)."""

    model: str = 'fastscnn'
    dataset: str = 'road'
    train_split: str = 'train'  # split(s) the training draws from, joined by '+' (e.g. train+val)
    out_dir: str = 'runs/road'
    size: list[int] = field(default_factory=lambda: [240, 320])
    epochs: int = 30
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    loss: str = 'ce+dice'
    ignore_index: int = IGNORE_INDEX
    class_weights: list[float] | None = None
    flip: float = 0.5
    scale_jitter: list[float] = field(default_factory=lambda: [1.0, 1.0])  # random scale range; [1, 1] = off
    crop: bool = False  # the training window at a random place of the scaled picture (else centred)
    color_jitter: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])  # brightness, contrast, ...
    blur: float = 0.0  # probability of a Gaussian blur
    seed: int = 0
    epoch_size: int = 0  # samples per epoch (single process); 0 = the whole training set
    road_train: int = 20000  # distinct generated training scenes
    road_val: int = 100
    workers: int = 0
    threads: int = 2
    max_minutes: float = 0.0  # stop (then validate and save) after this much training time; 0 = no limit
    resume: bool = False
    init: str = ''  # fine-tune: start from this checkpoint's weights (those whose name and shape match)
