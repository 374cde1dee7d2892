"""Compares two HDF5 files bit for bit: the same groups, datasets (dtype, shape and raw bytes)
and attributes (value and type) everywhere, except the attributes named with --except (by name,
on any object). Prints the first difference and exits 1; exits 0 when the files are the same.

    /usr/bin/python3 same_file.py A.h5 B.h5 [--except command ...]

Needs Debian's python3-h5py (/usr/bin/python3)."""
import argparse
import sys

import h5py
import numpy as np


def raw(value):
    array = np.asarray(value)
    if array.dtype.kind == "O":  # variable-length strings
        return ("strings", [v.decode() if isinstance(v, bytes) else str(v) for v in array.ravel()], array.shape)
    return (array.dtype.str, array.tobytes(), array.shape)


def compare(a, b, skip):
    objects_a, objects_b = {}, {}
    a.visititems(lambda name, obj: objects_a.__setitem__(name, obj))
    b.visititems(lambda name, obj: objects_b.__setitem__(name, obj))
    only_a = sorted(set(objects_a) - set(objects_b))
    only_b = sorted(set(objects_b) - set(objects_a))
    if only_a or only_b:
        return f"objects only in A: {only_a[:5]}, only in B: {only_b[:5]}"
    for name in ["/"] + sorted(objects_a):
        x = a[name]
        y = b[name]
        if isinstance(x, h5py.Dataset) != isinstance(y, h5py.Dataset):
            return f"{name}: a dataset in one file, a group in the other"
        if isinstance(x, h5py.Dataset):
            if x.dtype != y.dtype or x.shape != y.shape:
                return f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}"
            if raw(x[()]) != raw(y[()]):
                return f"{name}: different values"
        keys_a = sorted(k for k in x.attrs.keys() if k not in skip)
        keys_b = sorted(k for k in y.attrs.keys() if k not in skip)
        if keys_a != keys_b:
            return f"{name}: attributes {keys_a} vs {keys_b}"
        for key in keys_a:
            if raw(x.attrs[key]) != raw(y.attrs[key]):
                return f"{name}: attribute {key}: {x.attrs[key]!r} vs {y.attrs[key]!r}"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--except", dest="skip", action="append", default=[])
    args = parser.parse_args()
    with h5py.File(args.a, "r") as a, h5py.File(args.b, "r") as b:
        difference = compare(a, b, set(args.skip))
    if difference:
        print(f"different: {args.a} vs {args.b}: {difference}")
        return 1
    print(f"same: {args.a} and {args.b} (every dataset and attribute bit for bit"
          + (f", except {', '.join(args.skip)})" if args.skip else ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
