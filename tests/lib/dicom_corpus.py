#!/usr/bin/python3
"""dicom_corpus.py IMGLOAD DIR [EXPECTED_REFUSED]: runs imgload over every
file under DIR (pydicom's test files) and compares its pixels with pydicom's
(python3-pydicom, with python3-gdcm for the compressed syntaxes, as an
independent decoder).

imgload runs with --depth 16 --window range, whose formula imgload(1) gives:
y = (m - lo) / (hi - lo) * ymax rounded, m = s * slope + intercept, lo and hi
the modality values of the smallest and largest storable values s.  That
mapping is one-to-one for BitsStored <= 16, so the stored values are
recovered from y and must equal pydicom's exactly.  Colour samples are
v * ymax / (2^BitsStored - 1) rounded, the same way back; pydicom's YBR_FULL
and YBR_FULL_422 arrays are converted with pydicom's own
convert_color_space.  Lossy JPEG colour decoded by different libraries may
differ by rounding: those are compared within a stated tolerance (LOSSY_TOL).

Prints one line per file: 'match', 'lossy-match (max diff d)', 'MISMATCH',
'refused: MESSAGE', 'neither (pydicom: REASON)', 'only-imgload'.  Exits 1
on a mismatch, a crash or hang of imgload, or when the files imgload
refuses while pydicom decodes them are not exactly EXPECTED_REFUSED (a
file of names, one a line, relative to DIR).
"""
import io
import os
import subprocess
import sys

import msgpack
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import convert_color_space

LOSSY_TOL = 8           # max |difference| of lossy JPEG colour, 8-bit units
LOSSY_TS = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


def run_imgload(imgload, path):
    """(status, stderr, list of HxWxC arrays)"""
    try:
        p = subprocess.run([imgload, "-q", "--depth", "16", "--window", "range", path],
                           capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 124, "timed out", []
    frames = []
    if p.returncode == 0:
        for f in msgpack.Unpacker(io.BytesIO(p.stdout), raw=False, max_buffer_size=1 << 30):
            if f.get("kind") != "sample":
                continue
            x = f["x"]
            dt = {"u8": np.uint8, "u16": np.uint16}[x["dtype"]]
            frames.append(np.frombuffer(x["data"], dtype="<" + np.dtype(dt).str[1:]).reshape(x["shape"]))
    return p.returncode, p.stderr.decode(errors="replace").strip(), frames


def pydicom_frames(path):
    """(dataset, list of arrays: HxW gray or HxWx3 RGB) or (None, reason)"""
    try:
        ds = pydicom.dcmread(path, force=True)
        if "PixelData" not in ds:
            return None, "no pixel data"
        arr = ds.pixel_array
    except Exception as e:      # pydicom cannot decode it: nothing to compare
        return None, "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:80] if str(e) else "")
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    if n == 1:
        arr = arr[None]
    pi = str(ds.PhotometricInterpretation)
    if spp == 3 and pi in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, pi, "RGB")
    # the attributes as stored: decoding may change them (pydicom sets
    # PixelRepresentation to 0 for an unsigned JPEG 2000 codestream)
    attrs = pydicom.dcmread(path, force=True, stop_before_pixels=True)
    return attrs, [arr[k] for k in range(n)]


def stored_from_gray(y, ds):
    bs = int(ds.BitsStored)
    signed = int(getattr(ds, "PixelRepresentation", 0)) == 1
    smin, smax = (-(1 << (bs - 1)), (1 << (bs - 1)) - 1) if signed else (0, (1 << bs) - 1)
    ymax = 65535 if y.dtype == np.uint16 else 255
    y = y.astype(np.float64)
    if str(ds.PhotometricInterpretation) == "MONOCHROME1":
        y = ymax - y
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    if slope < 0:
        y = ymax - y
    return np.floor(y * (smax - smin) / ymax + 0.5).astype(np.int64) + smin


def compare(ds, ours, theirs):
    """(ok, note)"""
    if len(ours) != len(theirs):
        return False, "%d frames, pydicom %d" % (len(ours), len(theirs))
    spp = int(ds.SamplesPerPixel)
    worst = 0
    for a, b in zip(ours, theirs):
        if spp == 1:
            if a.shape[2] == 3 and not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2])):
                return False, "gray channels differ"
            s = stored_from_gray(a[..., 0], ds)
            b = b.astype(np.int64)
        else:
            bs = int(ds.BitsStored) if str(ds.PhotometricInterpretation) not in ("YBR_FULL", "YBR_FULL_422") else 8
            ymax = 65535 if a.dtype == np.uint16 else 255
            s = np.floor(a.astype(np.float64) * ((1 << bs) - 1) / ymax + 0.5).astype(np.int64)
            b = b.astype(np.int64)
        if s.shape != b.shape:
            return False, "shape %s, pydicom %s" % (s.shape, b.shape)
        worst = max(worst, int(np.abs(s - b).max()) if s.size else 0)
    if worst == 0:
        return True, "match"
    ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if spp == 3 and ts in LOSSY_TS and worst <= LOSSY_TOL:
        return True, "lossy-match (max diff %d)" % worst
    return False, "MISMATCH (max diff %d)" % worst


def main():
    imgload, root = sys.argv[1], sys.argv[2]
    expected = set()
    if len(sys.argv) > 3:
        expected = {l.strip() for l in open(sys.argv[3]) if l.strip() and not l.startswith("#")}
    bad, refused = 0, set()
    for dirpath, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            rc, err, ours = run_imgload(imgload, path)
            ds, theirs = pydicom_frames(path)
            if rc not in (0, 1):
                line, ok = "CRASH or HANG (status %d): %s" % (rc, err), False
            elif ds is None:
                line, ok = ("only-imgload" if rc == 0 else "neither (pydicom: %s)" % theirs), True
            elif rc == 1:
                line, ok = "refused: " + err.replace(path, rel), True
                refused.add(rel)
            else:
                ok, line = compare(ds, ours, theirs)
            bad += not ok
            print("%-45s %s" % (rel, line))
    if expected is not None and len(sys.argv) > 3 and refused != expected:
        print("refused but not expected: %s" % sorted(refused - expected))
        print("expected but not refused: %s" % sorted(expected - refused))
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
