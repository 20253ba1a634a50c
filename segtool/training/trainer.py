"""The training loop: Adam with polynomial learning-rate decay and validation mIoU every epoch.

The learning rate decays over the epochs, or over the time budget if that ends first. The loop keeps best and
last checkpoints, resumes exactly, and runs torch.distributed data parallel when launched under ``torchrun``.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, RandomSampler
from tqdm import tqdm

from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from segtool.datasets import open_dataset
from segtool.training.checkpoint import load_checkpoint, load_matching_weights, save_checkpoint
from segtool.training.config import TrainConfig
from segtool.training.losses import build_loss
from segtool.training.metrics import ConfusionMatrix
from segtool.training.nets import build_model, memory_format
from segtool.training.transforms import Transform, TransformedDataset


def _distributed() -> bool:
    return int(os.environ.get('WORLD_SIZE', '1')) > 1


def _collate(batch: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = zip(*batch)
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks))


def _progress(step: int, total_steps: int, seconds: float, max_minutes: float) -> float:
    """Return the fraction of the run done, by steps or, under a time budget, by time if that is further.

    The learning rate anneals to zero at whichever end comes first.
    """
    done = step / total_steps
    if max_minutes:
        done = max(done, seconds / (max_minutes * 60))
    return min(done, 1.0)


def evaluate_model(model: torch.nn.Module, loader, num_classes: int, ignore_index: int,
                   device: torch.device, progress: bool = True) -> ConfusionMatrix:
    """Compute the confusion matrix of ``model``'s argmax predictions over ``loader``."""
    model.eval()
    cm = ConfusionMatrix(num_classes, ignore_index)
    with torch.no_grad():
        for images, masks in tqdm(loader, desc='validate', leave=False, disable=not progress):
            cm.update(model(images.to(device)).argmax(1).cpu().numpy(), masks.numpy())
    return cm


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) the training ``cfg`` describes; returns a summary (best mIoU, epochs, time, rank)."""
    torch.set_num_threads(cfg.threads)
    rank, world = 0, 1
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if _distributed():
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
        rank, world = dist.get_rank(), dist.get_world_size()
        if device.type == 'cuda':
            device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))
            torch.cuda.set_device(device)
    main = rank == 0
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)

    size = (cfg.size[0], cfg.size[1])
    train_raw = open_dataset(cfg.dataset, cfg.train_split, size, cfg.road_train)
    val_raw = open_dataset(cfg.dataset, 'val', size, cfg.road_val)
    meta = {'class_names': list(train_raw.class_names), 'palette': [list(c) for c in train_raw.palette],
            'mean': list(IMAGENET_MEAN), 'std': list(IMAGENET_STD), 'input_size': list(size)}
    num_classes = len(meta['class_names'])
    augment = Transform(size, flip=cfg.flip, scale=tuple(cfg.scale_jitter), crop=cfg.crop,
                        ignore_index=cfg.ignore_index, color_jitter=tuple(cfg.color_jitter), blur=cfg.blur)
    train_set = TransformedDataset(train_raw, augment, cfg.seed)
    val_set = TransformedDataset(val_raw, Transform(size))

    layout = memory_format(cfg.model)
    model = build_model(cfg.model, num_classes).to(device, memory_format=layout)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    criterion = build_loss(cfg.loss, cfg.ignore_index, cfg.class_weights).to(device)
    state = {'epoch': 0, 'step': 0, 'best_miou': -1.0, 'train_seconds': 0.0, 'history': []}
    last = out / 'last.pt'
    if cfg.resume and last.exists():
        ckpt = load_checkpoint(last)
        model.load_state_dict(ckpt['model'])
        optimizer.load_state_dict(ckpt['optimizer'])
        state = {k: ckpt[k] for k in state}
        if main:
            print(f'resumed from {last} at epoch {state["epoch"]}')
    elif cfg.init:
        fresh = load_matching_weights(model, load_checkpoint(cfg.init)['model'])
        if main:
            modules = sorted({name.split('.')[0] for name in fresh})
            fresh_text = f'starting fresh: {", ".join(modules)}' if modules else 'every tensor matched'
            print(f'initialised from {cfg.init}; {fresh_text}')

    net = torch.nn.parallel.DistributedDataParallel(model) if _distributed() else model
    if _distributed():
        sampler = torch.utils.data.DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed)
    else:
        sampler = RandomSampler(train_set, num_samples=cfg.epoch_size or len(train_set))
    steps_per_epoch = math.ceil(len(sampler) / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    val_loader = DataLoader(val_set, cfg.batch_size, collate_fn=_collate, num_workers=cfg.workers)

    while state['epoch'] < cfg.epochs:
        epoch = state['epoch']
        train_set.set_epoch(epoch)
        if _distributed():
            sampler.set_epoch(epoch)
        else:
            sampler.generator = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
        loader = DataLoader(train_set, cfg.batch_size, sampler=sampler, collate_fn=_collate,
                            num_workers=cfg.workers, drop_last=False)
        net.train()
        started, losses, out_of_time = time.perf_counter(), [], False
        bar = tqdm(loader, desc=f'epoch {epoch + 1}/{cfg.epochs}', disable=not main)
        for images, masks in bar:
            elapsed = state['train_seconds'] + time.perf_counter() - started
            lr = cfg.lr * (1 - _progress(state['step'], total_steps, elapsed, cfg.max_minutes)) ** 0.9
            for group in optimizer.param_groups:
                group['lr'] = lr
            loss = criterion(net(images.to(device, memory_format=layout)), masks.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            state['step'] += 1
            losses.append(loss.item())
            bar.set_postfix(loss=f'{np.mean(losses[-20:]):.4f}', lr=f'{lr:.2e}')
            if cfg.max_minutes and state['train_seconds'] + time.perf_counter() - started >= cfg.max_minutes * 60:
                out_of_time = True
                break
        state['train_seconds'] += time.perf_counter() - started
        state['epoch'] = cfg.epochs if out_of_time else epoch + 1
        if main:
            cm = evaluate_model(model, val_loader, num_classes, cfg.ignore_index, device)
            miou = cm.mean_iou()
            record = {'epoch': epoch + 1, 'step': state['step'], 'loss': float(np.mean(losses)),
                      'val_miou': miou, 'val_iou': [None if np.isnan(v) else float(v) for v in cm.iou()],
                      'train_seconds': round(state['train_seconds'], 1)}
            state['history'].append(record)
            print(json.dumps(record), flush=True)
            if miou > state['best_miou']:
                state['best_miou'] = miou
                save_checkpoint(out / 'best.pt', model, asdict(cfg), meta, **state)
            save_checkpoint(last, model, asdict(cfg), meta, optimizer=optimizer.state_dict(), **state)
        if _distributed():
            dist.barrier()
    if _distributed():
        dist.destroy_process_group()
    return {'best_miou': state['best_miou'], 'epochs': state['epoch'], 'train_seconds': state['train_seconds'],
            'out_dir': str(out), 'rank': rank}
