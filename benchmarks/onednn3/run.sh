#!/usr/bin/env bash
# CSGIS-Net's convolution shapes through Debian's oneDNN 2.6 (NHWC, the engine's layout, and
# nChw8c) and through PyPI's oneDNN 3.x (NHWC), alternating, in one run: is a newer oneDNN or
# a blocked layout worth it on this CPU? Usage: benchmarks/onednn3/run.sh [WIDTH] [ROWS]
# (default 512 x 512: one layer of the one-pass plan at 512x512). On an AVX-512 CPU it adds
# 2.6's nChw16c at fp32 (and its Winograd convolution on the dilation-1 shapes), and bf16 in
# NHWC and nChw16c where the CPU has AVX512-BF16.
# ONEDNN3=0 skips oneDNN 3.x (and its download). Downloads the PyPI wheels
# (onednn 2026.1 and the runtimes it needs: its CPU engine is a SYCL device, so Intel's
# OpenCL CPU runtime too, about 700 MB) into ~/.cache/csgis-onednn3 once; installs nothing.
# Pause the training campaign first (training/campaign.sh pause): a busy CPU voids the times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
W=${1:-512}; H=${2:-512}
cache=${CSGIS_ONEDNN3_CACHE:-$HOME/.cache/csgis-onednn3}
mkdir -p "$cache/whl" "$cache/x"
with3=${ONEDNN3:-1}
if [ "$with3" = 1 ] && [ ! -e "$cache/x/.done" ]; then
    timeout 1200 python3 -m pip download -q --no-deps -d "$cache/whl" onednn==2026.1.0 onednn-devel==2026.1.0 \
        tbb intel-sycl-rt intel-cmplr-lib-rt umf tcmlib intel-opencl-rt
    for w in "$cache"/whl/*.whl; do unzip -q -o "$w" -d "$cache/x"; done
    touch "$cache/x/.done"
fi
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
gcc -O2 "$here/conv.c" -ldnnl -o "$bin/conv-2"
if [ "$with3" = 1 ]; then
inc=$(dirname "$(find "$cache/x" -name dnnl.h -path '*include*' | head -1)")
libdnnl=$(dirname "$(find "$cache/x" -name 'libdnnl.so.3' | head -1)")
ocl=$(dirname "$(find "$cache/x" -name 'libintelocl.so' | head -1)")
rt=$(find "$cache/x" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
echo "$ocl/libintelocl.so" > "$cache/intel-cpu.icd"
mkdir -p "$cache/icd" && mv "$cache/intel-cpu.icd" "$cache/icd/"
gcc -O2 "$here/conv.c" -I"$inc" -L"$libdnnl" -ldnnl -Wl,--unresolved-symbols=ignore-in-shared-libs -o "$bin/conv-3"
fi
v3() { OCL_ICD_VENDORS="$cache/icd" LD_LIBRARY_PATH="$rt" timeout 300 "$bin/conv-3" "$@"; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
grep -m1 'model name' /proc/cpuinfo
echo "$(nproc) cores; $(grep -o -w 'avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')(nothing listed: AVX2 only)"
avx512=$(grep -qw avx512f /proc/cpuinfo && echo 1 || true)
bf16=$(grep -qw avx512_bf16 /proc/cpuinfo && echo 1 || true)
for shape in "32 32 1" "32 32 2" "32 32 3" "64 64 1" "64 64 2" "64 64 3" "68 64 1" "64 3 1"; do
    set -- $shape
    timeout 300 "$bin/conv-2" "$1" "$2" "$H" "$W" "$3" nhwc
    timeout 300 "$bin/conv-2" "$1" "$2" "$H" "$W" "$3" blocked
    if [ -n "$avx512" ]; then
        timeout 300 "$bin/conv-2" "$1" "$2" "$H" "$W" "$3" blocked16
        if [ "$3" = 1 ]; then timeout 300 "$bin/conv-2" "$1" "$2" "$H" "$W" 1 blocked16 5 f32 winograd; fi
        if [ -n "$bf16" ]; then
            timeout 300 "$bin/conv-2" "$1" "$2" "$H" "$W" "$3" nhwc 5 bf16
            timeout 300 "$bin/conv-2" "$1" "$2" "$H" "$W" "$3" blocked16 5 bf16
        fi
    fi
    if [ "$with3" = 1 ]; then v3 "$1" "$2" "$H" "$W" "$3" nhwc; fi
done
