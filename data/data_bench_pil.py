#!/usr/bin/python3
"""The same image folder through PIL and NumPy, torchvision-style, for data_bench.

The training pipeline as torchvision's ImageFolder + RandomResizedCrop +
RandomHorizontalFlip + ToTensor + Normalize runs it: per file, open + decode
(full decode, as torchvision's loader), a random box of 10-100 % of the
photo's area (aspect 3/4-4/3) resized to SIZE (PIL's bilinear, which
antialiases), a flip with probability 1/2; per batch of 128, stacked and
normalised to float32. And the evaluation view (shorter side to
SIZE / 0.875, central SIZE x SIZE). One process, one core; files in a
shuffled order. Debian's python3-pil and python3-numpy.
Usage: data_bench_pil.py DIR [SIZE] [MAX_FILES]
"""
import math
import os
import random
import sys
import time

import numpy
from PIL import Image

BATCH = 128


def files_of(root, limit):
    out = []
    for d, _, names in os.walk(os.path.join(root, "train")):
        out += [os.path.join(d, n) for n in names]
    out = sorted(out)[:limit] if limit > 0 else sorted(out)
    random.Random(17).shuffle(out)
    return out


def training_view(path, size, rng):
    image = Image.open(path).convert("RGB")
    w, h = image.size
    area = rng.uniform(0.1, 1.0) * w * h
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw = max(1, min(w, round(math.sqrt(area * ratio))))
    ch = max(1, min(h, round(math.sqrt(area / ratio))))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = image.resize((size, size), Image.BILINEAR, box=(x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return out


def evaluation_view(path, size, rng):
    image = Image.open(path).convert("RGB")
    side = math.ceil(size / 0.875)
    w, h = image.size
    scale = side / min(w, h)
    image = image.resize((max(side, round(w * scale)), max(side, round(h * scale))),
                         Image.BILINEAR)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return image.crop((left, top, left + size, top + size))


def rate(files, size, view):
    rng = random.Random(1)
    mean = numpy.array([0.485, 0.456, 0.406], numpy.float32).reshape(1, 3, 1, 1)
    std = numpy.array([0.229, 0.224, 0.225], numpy.float32).reshape(1, 3, 1, 1)
    start = time.perf_counter()
    for b in range(0, len(files), BATCH):
        batch = numpy.stack([numpy.asarray(view(f, size, rng))
                             for f in files[b:b + BATCH]])
        x = batch.transpose(0, 3, 1, 2).astype(numpy.float32) / 255.0
        x = (x - mean) / std
    return len(files) / (time.perf_counter() - start)


def main():
    root = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    files = files_of(root, limit)
    train = rate(files, size, training_view)
    evaluation = rate(files, size, evaluation_view)
    print("PIL %s, NumPy %s, %d files, size %d, batches of %d, 1 process: "
          "training pipeline %.0f images/s, evaluation %.0f images/s"
          % (Image.__version__, numpy.__version__, len(files), size, BATCH,
             train, evaluation))


if __name__ == "__main__":
    main()
