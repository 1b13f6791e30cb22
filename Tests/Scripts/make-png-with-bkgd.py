#!/usr/bin/env python3
"""Writes a small PNG with a bKGD chunk in the sample format of KIND, for the metadata tests:
palette8 (8-bit palette, bKGD an index; ImageMagick 6 misreads a
low-bit palette's bKGD, scaling the colour to the bit depth), grey2 (2-bit grey), grey2-trns (2-bit grey with
tRNS), rgb16 (16-bit RGB).
  make-png-with-bkgd.py OUT KIND"""
import struct
import sys
import zlib


def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)


def packed(values, bits):  # one row of low-bit samples, most significant bits first
    out, acc, n = bytearray(), 0, 0
    for v in values:
        acc, n = acc << bits | v, n + bits
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


out, kind = sys.argv[1], sys.argv[2]
w, h = 24, 10
extra = b""
if kind == "palette8":
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    extra = chunk(b"PLTE", bytes(v for i in range(16) for v in (i * 16, 255 - i * 16, (i * 40) % 256)))
    bkgd = bytes([2])
    rows = [bytes((x + y) % 16 for x in range(w)) for y in range(h)]
elif kind in ("grey2", "grey2-trns"):
    ihdr = struct.pack(">IIBBBBB", w, h, 2, 0, 0, 0, 0)
    bkgd = struct.pack(">H", 2)
    if kind == "grey2-trns":
        extra = chunk(b"tRNS", struct.pack(">H", 1))
    rows = [packed([(x * y) % 4 for x in range(w)], 2) for y in range(h)]
elif kind == "rgb16":
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    bkgd = struct.pack(">HHH", 1000, 30000, 65535)
    rows = [b"".join(struct.pack(">HHH", x * 2000, y * 6000, 65535 - x * 1000) for x in range(w)) for y in range(h)]
else:
    sys.exit(f"unknown kind {kind}")
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"bKGD", bkgd)
png += chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in rows))) + chunk(b"IEND", b"")
open(out, "wb").write(png)
