#!/usr/bin/env python3
"""Writes a small RGB PNG carrying every chunk the filter keeps (gAMA, cHRM, iCCP, pHYs,
tEXt, zTXt, iTXt before the image data; eXIf and tEXt after it), for the metadata tests.
  make-png-with-metadata.py OUT [WIDTH HEIGHT]"""
import struct
import sys
import zlib


def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)


out = sys.argv[1]
w, h = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (40, 30)
raw = b"".join(b"\0" + bytes(v for x in range(w) for v in ((x * 7 + y * 13) % 256, (x * 3) % 256, (y * 5) % 256))
               for y in range(h))
profile = b"csgis-test-profile" * 20
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"gAMA", struct.pack(">I", 45455))
png += chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
png += chunk(b"iCCP", b"test profile\0\0" + zlib.compress(profile))
png += chunk(b"pHYs", struct.pack(">IIB", 11811, 11811, 1))
png += chunk(b"tEXt", b"Title\0csgis metadata test")
png += chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"compressed comment"))
png += chunk(b"iTXt", b"Description\0\0\0en\0\0" + "Beschreibung \u00e4".encode())
png += chunk(b"IDAT", zlib.compress(raw))
png += chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0")
png += chunk(b"tEXt", b"Author\0after the image data")
png += chunk(b"IEND", b"")
open(out, "wb").write(png)
