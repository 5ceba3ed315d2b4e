#!/usr/bin/python3
"""mkcorpus.py — writes the seed frames of tests/fuzz/corpus/fuzz_frame/.

Small valid frames (sample, epoch, batch, an unknown kind, two frames back
to back) and hostile ones (huge declared lengths, deep nesting, 0xc1, bad
roots, bad tensors, truncation).  Run from the repository root; the files
are committed, so this only needs running when the seeds change.
"""
import os
import struct

import msgpack

OUT = "tests/fuzz/corpus/fuzz_frame"


def t(dtype, shape, data):
    return {"dtype": dtype, "shape": shape, "data": data}


def pk(o):
    return msgpack.packb(o, use_bin_type=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    sample = pk({"kind": "sample", "id": "a/1.png", "label": 1, "class": "abd",
                 "x": t("u8", [2, 2, 3], bytes(range(12))),
                 "meta": {"source": {"format": "png", "width": 2}, "sha256": "00"}})
    epoch = pk({"kind": "epoch", "index": 0, "count": 2})
    seeds = {
        "sample": sample,
        "epoch": epoch,
        "stream": epoch + sample + sample,
        "batch": pk({"kind": "batch", "ids": ["a", "b"], "labels": [0, 1],
                     "x": t("f32", [2, 1, 1, 1], struct.pack("<2f", 0.5, -1.0))}),
        "unknown": pk({"kind": "zz", 7: None, "n": [1, 2.5, True, {"q": b"\x00"}],
                       "e": msgpack.ExtType(5, b"abc")}),
        "tensors": pk({"kind": "t", "a": t("u16", [3], b"\x01\x00\x02\x00\x03\x00"),
                       "b": t("bf16", [], b"\x80\x3f"), "c": t("i32", [0, 5], b"")}),
        # hostile
        "bin32_huge": b"\x82\xa4kind\xa1s\xa1x\xc6\xff\xff\xff\xf0",
        "array32_huge": b"\x82\xa4kind\xa1s\xa1x\xdd\x7f\xff\xff\xff\x00",
        "map32_huge": b"\xdf\x7f\xff\xff\xff\xa4kind",
        "str32_huge": b"\x81\xa4kind\xdb\xff\xff\xff\xff",
        "deep33": b"\x81\xa4kind" + b"\x91" * 32 + b"\x00",
        "deep32": b"\x82\xa4kind\xa1s\xa1d" + b"\x91" * 30 + b"\x00",
        # 32 levels, the innermost an empty array: msgpack-c's limit (14.13)
        "deep32_empty": b"\x82\xa4kind\xa1s\xa1d" + b"\x91" * 30 + b"\x90",
        "c1": b"\x81\xa4kind\xc1",
        "root_array": pk(["kind", "sample"]),
        "no_kind": pk({"x": 1}),
        "kind_int": pk({"kind": 3}),
        "rank9": pk({"kind": "s", "x": t("u8", [1] * 9, b"\x00")}),
        "bad_dtype": pk({"kind": "s", "x": t("u7", [1], b"\x00")}),
        "neg_dim": pk({"kind": "s", "x": t("u8", [-1], b"")}),
        "float_dim": pk({"kind": "s", "x": t("u8", [1.0], b"\x00")}),
        "overflow": pk({"kind": "s", "x": t("u8", [1 << 40, 1 << 40], b"")}),
        "len_mismatch": pk({"kind": "s", "x": t("u16", [3], b"\x00" * 5)}),
        "data_str": pk({"kind": "s", "x": t("u8", [2], "ab")}),
        "truncated": sample[:-3],
        "fixext": b"\x82\xa4kind\xa1s\xa1e\xd8\x01" + b"\x00" * 16,
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
