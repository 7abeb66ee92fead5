#!/usr/bin/env python3
"""Compares two model or checkpoint files written by ram (format of src/ram/run/checkpoint.h).

Exit status 0 when everything a run computes is bit-identical: the configuration, the
parameters, the optimiser state, the position and the recorded metrics. Wall-clock figures
(seconds, images or frames per second) are left out, since they differ between any two runs.

    python3 scripts/compare_models.py A.ram B.ram
"""
import json
import struct
import sys

TIMING_KEYS = {"seconds", "images_per_second", "frames_per_second"}


def read_checkpoint(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"RAMMODEL":
        sys.exit(f"{path}: not a ram model file (bad magic)")
    pos = 12

    def u64():
        nonlocal pos
        (value,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        return value

    def text():
        nonlocal pos
        n = u64()
        value = data[pos:pos + n].decode("utf-8")
        pos += n
        return value

    def floats():
        nonlocal pos
        n = u64()
        value = data[pos:pos + 4 * n]  # raw bytes: compared bit for bit
        pos += 4 * n
        return value

    fields = {}
    fields["config"] = json.loads(text())
    fields["parameters"] = floats()
    fields["optimizer"] = text()
    fields["optimizer_state"] = floats()
    progress = text()
    fields["progress"] = without_timing(json.loads(progress)) if progress else None
    fields["epoch"] = u64()
    fields["step"] = u64()
    return fields


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = (read_checkpoint(p) for p in sys.argv[1:])
    differing = [name for name in a if a[name] != b[name]]
    for name in differing:
        detail = ""
        if name in ("parameters", "optimizer_state") and len(a[name]) == len(b[name]):
            first = next(i for i in range(0, len(a[name]), 4) if a[name][i:i + 4] != b[name][i:i + 4])
            detail = f" (first at element {first // 4} of {len(a[name]) // 4})"
        print(f"{name} differ{detail}")
    if differing:
        sys.exit(1)
    print(f"identical: {len(a['parameters']) // 4} parameters, step {a['step']}")


if __name__ == "__main__":
    main()
