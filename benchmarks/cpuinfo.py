"""The CPU a benchmark ran on, as its figures must name it: model, family, and the vector
units that decide oneDNN's kernels (an Intel Xeon with AMX and an AMD EPYC without differ
several-fold in bf16)."""


def cpu_model():
    try:
        first = open("/proc/cpuinfo").read().split("\n\n")[0]
    except OSError:
        return "unknown CPU"
    info = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in first.splitlines() if ":" in line)}
    flags = set(info.get("flags", "").split())
    units = [u for u, f in (("AVX2", "avx2"), ("AVX-512", "avx512f"), ("AVX512-BF16", "avx512_bf16"), ("AMX", "amx_tile")) if f in flags]
    return f"{info.get('model name', 'unknown CPU')} (family {info.get('cpu family', '?')}; {', '.join(units) or 'no AVX2'})"
