#!/usr/bin/env python3
"""The same AmoebaNet-A network and training step in Python PyTorch, to
compare with trainer_bench (the C++ loop) on the same machine.

It mirrors trainer/ops.cc, cell.cc and network.cc layer for layer (the
parameter count printed must equal the C++ one) and the training step of
trainer/train.cc: index a uint8 dataset resident in memory, normalize,
random crop (and flip for CIFAR-sized inputs), forward, cross-entropy, backward, SGD with momentum.

Usage: python3 trainer/bench/pytorch_reference.py [--config a|b] [--threads 2]
       [--steps 20] [--warmup 3] [--channels_last]
Needs Debian's python3-torch (1.13, the same LibTorch as the C++ build).
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

AMOEBA_NORMAL = (["avg_pool_3x3", "max_pool_3x3", "sep_conv_3x3", "none", "none",
                  "avg_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3",
                  "sep_conv_3x3"], [0, 0, 1, 1, 0, 1, 0, 2, 5, 0], [1, 3, 4, 6])
AMOEBA_REDUCTION = (["sep_conv_3x3", "avg_pool_3x3", "max_pool_3x3", "sep_conv_7x7",
                     "max_pool_3x3", "max_pool_3x3", "sep_conv_3x3", "conv_1x7_7x1",
                     "avg_pool_3x3", "sep_conv_7x7"], [1, 0, 0, 2, 1, 0, 4, 0, 1, 0],
                    [2, 3, 4, 5, 6])


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.1)


def conv(cin, cout, kh, kw, stride=1, groups=1, dilation=1):
    return nn.Conv2d(cin, cout, (kh, kw), stride=stride,
                     padding=(dilation * (kh - 1) // 2, dilation * (kw - 1) // 2),
                     dilation=dilation, groups=groups, bias=False)


def relu_conv_bn(cin, cout, kh=1, kw=1, stride=1):
    return [nn.ReLU(), conv(cin, cout, kh, kw, stride), bn(cout)]


def separable(c, cout, k, stride, dilation=1):
    return [nn.ReLU(), conv(c, c, k, k, stride, groups=c, dilation=dilation),
            conv(c, cout, 1, 1), bn(cout)]


def make_op(op, c, stride):
    if op.startswith("sep_conv"):
        k = int(op[-1])
        return nn.Sequential(*separable(c, c, k, stride), *separable(c, c, k, 1))
    if op == "dil_sep_conv_3x3":
        return nn.Sequential(*separable(c, c, 3, stride, dilation=2))
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if op == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if op == "none":
        return nn.Identity() if stride == 1 else nn.Sequential(*relu_conv_bn(c, c, 1, 1, stride))
    if op == "conv_1x7_7x1":
        b = max(1, c // 4)
        return nn.Sequential(*relu_conv_bn(c, b, 1, 1, stride), *relu_conv_bn(b, b, 1, 7),
                             *relu_conv_bn(b, b, 7, 1), *relu_conv_bn(b, c, 1, 1))
    raise ValueError(op)


class FactorizedReduction(nn.Module):
    def __init__(self, cin, cout, relu_first=False):
        super().__init__()
        self.relu_first = relu_first
        # Stride-2 1x1 convolutions, run as stride-1 ones on every second
        # pixel, as trainer/ops.cc does.
        self.path1 = conv(cin, cout // 2, 1, 1, 1)
        self.path2 = conv(cin, cout - cout // 2, 1, 1, 1)
        self.bn = bn(cout)

    def forward(self, x):
        if self.relu_first:
            x = F.relu(x)
        h, w = x.shape[2], x.shape[3]
        odd = x[:, :, 1::2, 1::2]
        if h % 2 or w % 2:
            odd = F.pad(odd, (0, w % 2, 0, h % 2))
        return self.bn(torch.cat([self.path1(x[:, :, ::2, ::2]), self.path2(odd)], 1))


class Cell(nn.Module):
    def __init__(self, genotype, reduction, c, prev_c, prev_prev_c, prev_prev_reduced):
        super().__init__()
        ops, self.inputs, self.outputs = genotype
        self.pre0 = nn.Sequential(*relu_conv_bn(prev_c, c))
        self.pre1 = (FactorizedReduction(prev_prev_c, c, relu_first=True)
                     if prev_prev_reduced else nn.Sequential(*relu_conv_bn(prev_prev_c, c)))
        self.ops = nn.ModuleList(
            make_op(op, c, 2 if reduction and i < 2 else 1)
            for op, i in zip(ops, self.inputs))
        self.out_reduce = nn.ModuleDict(
            {str(s): FactorizedReduction(c, c) for s in self.outputs if reduction and s < 2})
        self.out_channels = c * len(self.outputs)

    def forward(self, prev, prev_prev):
        states = [self.pre0(prev), self.pre1(prev_prev)]
        for k in range(5):
            states.append(self.ops[2 * k](states[self.inputs[2 * k]]) +
                          self.ops[2 * k + 1](states[self.inputs[2 * k + 1]]))
        outs = [self.out_reduce[str(s)](states[s]) if str(s) in self.out_reduce else states[s]
                for s in self.outputs]
        return torch.cat(outs, 1)


class Network(nn.Module):
    def __init__(self, n, f, channels, classes=10):
        super().__init__()
        stem = 3 * f
        self.stem = nn.Sequential(conv(channels, stem, 3, 3), bn(stem))
        cells = []
        prev_prev_c, prev_c, width = stem, stem, f
        reduced_last = False
        for stack in range(3):
            if stack > 0:
                width *= 2
                cell = Cell(AMOEBA_REDUCTION, True, width, prev_c, prev_prev_c, False)
                cells.append(cell)
                prev_prev_c, prev_c = prev_c, cell.out_channels
                reduced_last = True
            for _ in range(n):
                cell = Cell(AMOEBA_NORMAL, False, width, prev_c, prev_prev_c, reduced_last)
                cells.append(cell)
                prev_prev_c, prev_c = prev_c, cell.out_channels
                reduced_last = False
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(prev_c, classes)

    def forward(self, x):
        prev_prev = prev = self.stem(x)
        for cell in self.cells:
            prev_prev, prev = prev, cell(prev, prev_prev)
        return self.classifier(F.adaptive_avg_pool2d(F.relu(prev), 1).flatten(1))


def random_crop(x, pad, gen):
    b, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b, 1), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (b, 1), generator=gen)
    rows = dy + torch.arange(h).view(1, h)
    cols = dx + torch.arange(w).view(1, w)
    by_rows = padded.gather(2, rows.view(b, 1, h, 1).expand(b, c, h, w + 2 * pad))
    return by_rows.gather(3, cols.view(b, 1, 1, w).expand(b, c, h, w))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="a", choices=["a", "b"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--channels_last", action="store_true",
                        help="NHWC activations and weights (as trainer_bench "
                             "does by default)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n, f, channels, size, batch = (1, 8, 1, 28, 64) if args.config == "a" else (3, 24, 3, 32, 128)
    torch.manual_seed(0)
    net = Network(n, f, channels)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in net.parameters())
    total = args.steps + args.warmup
    images = torch.randint(0, 256, (total * batch, channels, size, size), dtype=torch.uint8)
    labels = torch.randint(0, 10, (total * batch,))
    mean = images.float().div(255).mean((0, 2, 3)).view(1, -1, 1, 1)
    std = images.float().div(255).std((0, 2, 3)).view(1, -1, 1, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(1)
    order = torch.randperm(total * batch)
    net.train()
    times = []
    for step in range(total):
        idx = order[step * batch:(step + 1) * batch]
        x = (images.index_select(0, idx).float().div_(255) - mean) / std
        x = random_crop(x, 4 if channels == 3 else 2, gen)
        if channels == 3:  # CIFAR-style flip, as data/augment.cc
            flip = torch.randint(0, 2, (x.shape[0],), generator=gen).bool()
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = labels.index_select(0, idx)
        for group in opt.param_groups:
            group["lr"] = 0.5 * 0.01 * (1 + math.cos(math.pi * step / total))
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter())
    seconds = times[-1] - times[args.warmup - 1]
    ms = 1000 * seconds / args.steps
    print(f"python PyTorch {torch.__version__}, config ({args.config}) N={n} F={f} "
          f"{size}x{size}x{channels}, batch {batch}, {args.threads} threads"
          f"{', channels-last' if args.channels_last else ''}: "
          f"{params} parameters, {ms:.2f} ms/step, {batch * args.steps / seconds:.1f} images/s")


if __name__ == "__main__":
    main()
