"""``segtool train``."""
from __future__ import annotations

import argparse

from segtool.training.config import TrainConfig
from segtool.training.registry import LOSSES, MODELS

DESCRIPTION = """\
Train a segmentation network. Every epoch it validates (mIoU on the validation split), keeps
OUT_DIR/best.pt (best validation mIoU) and OUT_DIR/last.pt (for --resume). Checkpoints hold plain tensors and
lists only (torch.load(..., weights_only=True)). Launched under torchrun it trains with
DistributedDataParallel (one process per GPU, or gloo on CPU); otherwise it is one CPU/GPU process.

datasets: road (the procedural road-scene generator: train seeds 0..N-1, validation seeds from 10,000,000),
folder:ROOT, cityscapes:ROOT, camvid:ROOT, voc:ROOT (layouts in docs/toolchain.md)."""


def add_parser(subparsers) -> None:
    d = TrainConfig()
    p = subparsers.add_parser('train', help='train a network (validation mIoU per epoch, best checkpoint)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default=d.model, choices=list(MODELS),
                   help='architecture (default %(default)s, the real-time net)')
    p.add_argument('--dataset', default=d.dataset, help='road or LAYOUT:ROOT (default %(default)s)')
    p.add_argument('--train-split', default=d.train_split, metavar='SPLIT[+SPLIT]',
                   help='split(s) the training draws from, joined by + (default %(default)s; train+val for a final '
                        'model chosen on val beforehand: validation then scores frames it has seen)')
    p.add_argument('--out-dir', default=d.out_dir, help='checkpoints and log (default %(default)s)')
    p.add_argument('--size', type=int, nargs=2, default=d.size, metavar=('H', 'W'),
                   help='training input size (default %(default)s)')
    p.add_argument('--epochs', type=int, default=d.epochs, help='default %(default)s')
    p.add_argument('--epoch-size', type=int, default=d.epoch_size,
                   help='samples per epoch, drawn at random (0 = the whole training set; default %(default)s)')
    p.add_argument('--batch-size', type=int, default=d.batch_size, help='default %(default)s')
    p.add_argument('--lr', type=float, default=d.lr, help='Adam learning rate, decayed polynomially '
                   '(default %(default)s)')
    p.add_argument('--weight-decay', type=float, default=d.weight_decay, help='default %(default)s')
    p.add_argument('--loss', default=d.loss, choices=list(LOSSES), help='default %(default)s')
    p.add_argument('--ignore-index', type=int, default=d.ignore_index,
                   help='label that counts for no class (default %(default)s)')
    p.add_argument('--class-weights', type=float, nargs='+', default=None, metavar='W',
                   help='one loss weight per class (default: all 1)')
    p.add_argument('--flip', type=float, default=d.flip, help='horizontal flip probability (default %(default)s)')
    p.add_argument('--scale-jitter', type=float, nargs=2, default=d.scale_jitter, metavar=('LO', 'HI'),
                   help='random scale: each sample is resized to a factor in [LO, HI] times --size, then a --size '
                        'window is cut from it (or it is padded, labels ignored) (default %(default)s: off)')
    p.add_argument('--crop', action='store_true',
                   help='cut that window at a random place (default: centred); acts with --scale-jitter')
    p.add_argument('--color-jitter', type=float, nargs=4, default=d.color_jitter, metavar=('B', 'C', 'S', 'H'),
                   help='photometric augmentation: brightness, contrast and saturation factors drawn from [1 - x, '
                        '1 + x], hue turned by up to H of a turn (e.g. 0.4 0.4 0.4 0.05; default %(default)s: off)')
    p.add_argument('--blur', type=float, default=d.blur,
                   help='probability of a Gaussian blur, sigma 0.1-1.5 px (default %(default)s)')
    p.add_argument('--seed', type=int, default=d.seed, help='default %(default)s')
    p.add_argument('--road-train', type=int, default=d.road_train,
                   help='road dataset: distinct training scenes (default %(default)s)')
    p.add_argument('--road-val', type=int, default=d.road_val,
                   help='road dataset: validation scenes (default %(default)s)')
    p.add_argument('--workers', type=int, default=d.workers, help='data loader processes (default %(default)s)')
    p.add_argument('--threads', type=int, default=d.threads, help='torch CPU threads (default %(default)s)')
    p.add_argument('--max-minutes', type=float, default=d.max_minutes,
                   help='training-time budget: the learning rate anneals over it and training stops when it is '
                        'spent, then validates and saves (0 = off; the epochs end the run)')
    p.add_argument('--resume', action='store_true', help='continue from OUT_DIR/last.pt if it exists')
    p.add_argument('--init', default=d.init, metavar='CHECKPOINT',
                   help='fine-tune: start from the weights of CHECKPOINT (e.g. another run\'s best.pt) whose names '
                        'and shapes match this model; the rest (a head for other classes, new layers) start fresh '
                        'and are listed. The optimizer and schedule start anew; --resume takes precedence')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segtool.training.trainer import train
    names = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in names})
    result = train(cfg)
    if result['rank'] == 0:
        print(f'best validation mIoU {result["best_miou"]:.4f} after {result["train_seconds"] / 60:.1f} min; '
              f'checkpoints in {result["out_dir"]}')
    return 0
