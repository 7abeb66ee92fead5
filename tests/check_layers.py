#!/usr/bin/env python3
"""Fails if a file of src/ram/ includes from a folder of a higher layer (docs/architecture.md)."""
import pathlib
import re
import sys

# A folder may include from its own layer's folder and from lower layers only.
LAYER = {'util': 0, 'nn': 1, 'env': 1, 'models': 2, 'run': 2, 'train': 3, 'experiments': 4,
         'viz': 5}
root = pathlib.Path(sys.argv[1]) / 'src' / 'ram'
problems = []
for path in sorted(root.glob('*/*')):
    folder = path.parent.name
    if folder not in LAYER:
        problems.append(f'{path}: folder {folder} has no layer in tests/check_layers.py')
        continue
    for line_number, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r'#include "ram/(\w+)/', line)
        if not m or m.group(1) == folder:
            continue
        target = m.group(1)
        if target not in LAYER or LAYER[target] >= LAYER[folder]:
            problems.append(f'{path}:{line_number}: {folder}/ (layer {LAYER[folder]}) includes '
                            f'{target}/ (layer {LAYER.get(target, "?")})')
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
