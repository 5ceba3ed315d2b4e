#!/usr/bin/python3
"""read_stream.py — reads a radpipe stream with python3-msgpack alone.

Shows that a radpipe stream needs no radpipe code: every frame is one
msgpack map with a string "kind", and a tensor is {dtype, shape, data}
with len(data) == prod(shape) * element size.  Checks both, then prints
one line per frame:

  INDEX KIND [id=ID] [label=L] [class=C] [KEY=DTYPE[SHAPE] mean=M]...

with the mean of u8/u16 tensors printed like peek(1) prints it (%.6g), and
a last line "frames N".  Exit 1 (with a message) if a frame breaks a rule.

  imgload --size 299 "$RADPIPE_DATA/VAL" | python3 tests/py/read_stream.py
"""
import sys

import msgpack

SIZES = {"u8": 1, "u16": 2, "i32": 4, "f16": 2, "bf16": 2, "f32": 4}


def is_tensor(v):
    return isinstance(v, dict) and set(v) == {"dtype", "shape", "data"}


def check_tensor(i, key, t):
    if t["dtype"] not in SIZES:
        sys.exit("frame %d: %s: unknown dtype %r" % (i, key, t["dtype"]))
    n = 1
    for d in t["shape"]:
        if not isinstance(d, int) or d < 0:
            sys.exit("frame %d: %s: bad dimension %r" % (i, key, d))
        n *= d
    if not isinstance(t["data"], bytes) or len(t["data"]) != n * SIZES[t["dtype"]]:
        sys.exit("frame %d: %s: data does not match the shape" % (i, key))
    text = "%s=%s[%s]" % (key, t["dtype"], ",".join(str(d) for d in t["shape"]))
    if t["dtype"] in ("u8", "u16") and n > 0:
        data = t["data"]
        if t["dtype"] == "u16":
            data = memoryview(data).cast("H")
        text += " mean=%.6g" % (sum(data) / n)
    return text


def main():
    unpacker = msgpack.Unpacker(sys.stdin.buffer, raw=False, strict_map_key=False,
                                max_buffer_size=1 << 31)
    count = 0
    for i, frame in enumerate(unpacker):
        if not isinstance(frame, dict) or not isinstance(frame.get("kind"), str):
            sys.exit("frame %d: not a map with a string 'kind'" % i)
        words = [str(i), frame["kind"]]
        for key in ("id", "label", "class"):
            if key in frame:
                words.append("%s=%s" % (key, frame[key]))
        for key, v in frame.items():
            if is_tensor(v):
                words.append(check_tensor(i, key, v))
        print(" ".join(words))
        count += 1
    print("frames %d" % count)


if __name__ == "__main__":
    main()
