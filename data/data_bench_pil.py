#!/usr/bin/python3
"""The same image folder through PIL, torchvision-style, for data_bench.

Per image on one process: open + decode (PIL, with draft() as torchvision's
loaders do not: full decode), the evaluation view (shorter side to
size / 0.875, bilinear, central size x size) and a random-resized crop
(area 5-100 %, aspect 3/4-4/3) resized to size, plus a flip.
Debian's python3-pil. Usage: data_bench_pil.py DIR [SIZE] [MAX_FILES]
"""
import math
import os
import random
import sys
import time

from PIL import Image


def files_of(root, limit):
    out = []
    for d, _, names in os.walk(os.path.join(root, "train")):
        out += [os.path.join(d, n) for n in names]
    return sorted(out)[:limit]


def view(path, size):
    image = Image.open(path).convert("RGB")
    side = math.ceil(size / 0.875)
    w, h = image.size
    scale = side / min(w, h)
    image = image.resize((max(side, round(w * scale)), max(side, round(h * scale))),
                         Image.BILINEAR)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return image.crop((left, top, left + size, top + size))


def crop_and_flip(image, size, rng):
    w, h = image.size
    area = rng.uniform(0.05, 1.0) * w * h
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw = min(w, round(math.sqrt(area * ratio)))
    ch = min(h, round(math.sqrt(area / ratio)))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = image.crop((x, y, x + cw, y + ch)).resize((size, size), Image.BILINEAR)
    if rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return out


def main():
    root = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    files = files_of(root, limit)
    rng = random.Random(1)
    start = time.perf_counter()
    for f in files:
        Image.open(f).convert("RGB")
    decode = len(files) / (time.perf_counter() - start)
    start = time.perf_counter()
    views = [view(f, size) for f in files]
    load = len(files) / (time.perf_counter() - start)
    start = time.perf_counter()
    for v in views:
        crop_and_flip(v, size, rng)
    augment = len(files) / (time.perf_counter() - start)
    print("PIL %s, %d files, size %d, 1 process: decode %.0f images/s, "
          "+ stored view %.0f images/s, crop + flip %.0f images/s"
          % (Image.__version__, len(files), size, decode, load, augment))


if __name__ == "__main__":
    main()
