#!/usr/bin/env python3
"""Writes a CIFAR-10-format folder (data_batch_1..5.bin, test_batch.bin) of
synthetic images, for measuring on hosts where the real data cannot be
fetched. Sizes are the real ones by default (5 x 10,000 training images,
10,000 test images), so the trainer loads, splits and trains exactly as it
would on CIFAR-10.

The images are noise with one learnable mark: class c brightens rows
3c..3c+2 of the red channel. A network that trains correctly therefore
reaches far above chance (10%), which tells a working training path from a
broken one; the accuracy says nothing about CIFAR-10.

Usage: make_synthetic_cifar.py DIR [--images_per_batch=10000] [--seed=1]
Standard library only.
"""
import argparse
import os
import random
import sys

RECORD = 1 + 3 * 32 * 32  # label byte, then R, G, B planes of 32x32


def write_batch(path, images, rng):
    noise = rng.randbytes(images * (RECORD - 1))
    out = bytearray(images * RECORD)
    for i in range(images):
        label = rng.randrange(10)
        base = i * RECORD
        out[base] = label
        pixels = noise[i * (RECORD - 1):(i + 1) * (RECORD - 1)]
        # Noise in 0..127, the mark at 255.
        out[base + 1:base + RECORD] = bytes(b >> 1 for b in pixels)
        mark = base + 1 + label * 3 * 32
        out[mark:mark + 3 * 32] = b"\xff" * (3 * 32)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--images_per_batch", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.images_per_batch <= 0:
        sys.exit("make_synthetic_cifar: --images_per_batch must be positive")
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(args.seed)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        write_batch(os.path.join(args.dir, name), args.images_per_batch, rng)
    print(f"make_synthetic_cifar: {len(names)} files of {args.images_per_batch} "
          f"images in {args.dir}")


if __name__ == "__main__":
    main()
