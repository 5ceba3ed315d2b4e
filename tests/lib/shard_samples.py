#!/usr/bin/env python3
"""shard_samples.py IN B S OUT [--uneven]: splits a sample stream for S ranks.

Each epoch's samples are taken in chunks of S*B: rank r gets samples
[r*B, (r+1)*B) of each chunk (OUT.r), and OUT.all gets the whole chunk, so
that `batch B` on each OUT.r and `batch S*B` on OUT.all give step k of S
ranks and of one process the same images.  The last partial chunk is
dropped (as imgload --shard-even), or with --uneven dealt out B at a time
from rank 0 (OUT.all then has no meaning).  Epoch frames go to every output.
"""
import sys
import msgpack

src, b, s, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
uneven = "--uneven" in sys.argv[5:]
files = [open(f"{out}.{r}", "wb") for r in range(s)] + [open(f"{out}.all", "wb")]
pending = []


def flush():
    whole = len(pending) // (s * b) * (s * b)
    for i, f in enumerate(pending[:whole]):
        files[(i % (s * b)) // b].write(f)
        files[s].write(f)
    if uneven:
        for i, f in enumerate(pending[whole:]):
            files[(i // b) % s].write(f)
    pending.clear()


for fr in msgpack.Unpacker(open(src, "rb"), raw=False):
    raw = msgpack.packb(fr, use_bin_type=True)
    if fr.get("kind") == "sample":
        pending.append(raw)
        continue
    flush()
    for f in files:
        f.write(raw)
flush()
