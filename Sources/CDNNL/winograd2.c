// Winograd F(2x2, 3x3) for 3x3 convolutions (any dilation) on AVX2 + FMA, over activations
// stored in blocks of 8 channels (NHWC with C % 8 == 0, or nChw8c): fp32, and bf16 on
// AVX512-BF16 (transforms in fp32, the products' inputs rounded to bf16, sums in fp32).
//
// Why F(2x2, 3x3) and not a larger tile: each of its outputs is computed from its own 3x3
// window only (the transform's other inputs never enter that output's arithmetic), so an
// output's floats depend on where its 2x2 tile starts but on no pixel outside its receptive
// field. Tiles start at even multiples of the dilation in the plan's coordinates; a caller
// that keeps plan origins on that grid gets the same floats from any row block, tile or strip,
// with no extra halo. Inputs outside the given rows or columns are read as zeros.
#include "CDNNL.h"
#include <immintrin.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);

#define TARGET __attribute__((target("avx2,fma")))
// Tiles per GEMM chunk: a multiple of the micro-kernel's 6 rows; its transformed inputs and
// products (16 x 48 x 64 floats each at 64 channels) stay in L2.
#define CHUNK 48
#define MR 6

int csgis_wino2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int csgis_wino2_bf16_supported(void) {
    __builtin_cpu_init();
    return csgis_wino2_supported() && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl");
}

// bf16 <-> fp32 with AVX2 integer operations (round to nearest even, as oneDNN and
// Graph.convert round; activations are finite). Offsets are in elements.
static inline TARGET __m256 load8(const void *p, long i, int bf) {
    if (!bf) return _mm256_loadu_ps((const float *)p + i);
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
static inline TARGET __m128i bf16x8(__m256 v) {
    __m256i b = _mm256_castps_si256(v);
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(b, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08));
}
static inline TARGET void store8(void *p, long i, __m256 v, int bf) {
    if (!bf) _mm256_storeu_ps((float *)p + i, v);
    else _mm_storeu_si128((__m128i *)((uint16_t *)p + i), bf16x8(v));
}

// U (fp32, 16 x cin x cout) -> bf16 pairs of input channels: ub[p][ci / 2][co][ci % 2].
void csgis_wino2_pack_bf16(const float *u, int cin, int cout, uint16_t *ub) {
    for (int p = 0; p < 16; p++)
        for (int ci = 0; ci < cin; ci++)
            for (int co = 0; co < cout; co++) {
                uint32_t b;
                memcpy(&b, u + ((size_t)p * cin + ci) * cout + co, 4);
                ub[(((size_t)p * (cin / 2) + ci / 2) * cout + co) * 2 + ci % 2] = (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16);
            }
}

// U[p][ci][co] = (G g G^T)[p] for G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; weights OIHW.
void csgis_wino2_transform_weights(const float *w, int cin, int cout, float *u) {
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++) {
            const float *g = w + ((size_t)co * cin + ci) * 9;
            float t[4][3];  // G g
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                float v[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++) u[((size_t)(i * 4 + j) * cin + ci) * cout + co] = v[j];
            }
        }
}

typedef struct {
    const csgis_wino2_args *a;
    const int *row_bases;  // first output row of each row of tiles
    int col_tiles, ntiles, nchunks;
    int avx512;  // the AVX-512 products
    int next;    // the next chunk to take (threads take chunks as they finish: the VM's cores differ in speed)
    int status;
} job_t;

// The t-th tile of the call: its top-left output (row base, column base). Tiles start at
// rows and columns y with (y / d) even; a tile may start above row0 (its second row is in range).
static inline void tile_origin(const job_t *job, int t, int *rb, int *cb) {
    int d = job->a->dilation, r = t / job->col_tiles, c = t % job->col_tiles;
    *rb = job->row_bases[r];
    *cb = (c / d) * 2 * d + c % d;
}

// M[p][t][co] = sum over ci of V[p][t][ci] U[p][ci][co], 6 tiles x 16 channels per step,
// every sum a chain of FMAs in channel order (the same floats wherever a tile falls).
// Inlined with constant channel counts for the shipped widths (addressing by immediates).
static inline __attribute__((always_inline)) TARGET void gemm(const float *V, const float *U, float *M, int ntp, int cin, int cout) {
    for (int p = 0; p < 16; p++) {
        const float *Vp = V + (size_t)p * ntp * cin, *Up = U + (size_t)p * cin * cout;
        float *Mp = M + (size_t)p * ntp * cout;
        int co = 0;
        for (; co + 16 <= cout; co += 16)
            for (int t = 0; t < ntp; t += MR) {
                __m256 c0[MR], c1[MR];
                for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm256_setzero_ps();
                const float *v = Vp + (size_t)t * cin, *u = Up + co;
                for (int k = 0; k < cin; k++) {
                    __m256 b0 = _mm256_loadu_ps(u + (size_t)k * cout), b1 = _mm256_loadu_ps(u + (size_t)k * cout + 8);
                    for (int i = 0; i < MR; i++) {
                        __m256 x = _mm256_broadcast_ss(v + (size_t)i * cin + k);
                        c0[i] = _mm256_fmadd_ps(x, b0, c0[i]);
                        c1[i] = _mm256_fmadd_ps(x, b1, c1[i]);
                    }
                }
                for (int i = 0; i < MR; i++) {
                    _mm256_storeu_ps(Mp + (size_t)(t + i) * cout + co, c0[i]);
                    _mm256_storeu_ps(Mp + (size_t)(t + i) * cout + co + 8, c1[i]);
                }
            }
        for (; co < cout; co += 8)
            for (int t = 0; t < ntp; t += MR) {
                __m256 c0[MR];
                for (int i = 0; i < MR; i++) c0[i] = _mm256_setzero_ps();
                const float *v = Vp + (size_t)t * cin, *u = Up + co;
                for (int k = 0; k < cin; k++) {
                    __m256 b0 = _mm256_loadu_ps(u + (size_t)k * cout);
                    for (int i = 0; i < MR; i++) c0[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(v + (size_t)i * cin + k), b0, c0[i]);
                }
                for (int i = 0; i < MR; i++) _mm256_storeu_ps(Mp + (size_t)(t + i) * cout + co, c0[i]);
            }
    }
}
static __attribute__((noinline)) TARGET void gemm_32_32(const float *V, const float *U, float *M, int ntp) { gemm(V, U, M, ntp, 32, 32); }
static __attribute__((noinline)) TARGET void gemm_64_64(const float *V, const float *U, float *M, int ntp) { gemm(V, U, M, ntp, 64, 64); }

// The same products on AVX-512: 16 channels per register, MR512 tiles x 32 channels per
// step, for fp32 and for bf16 (AVX512-BF16: V bf16 [p][t][ci], U as csgis_wino2_pack_bf16
// packs it; each vdpbf16ps adds two input channels' products per lane into fp32 sums). In
// fp32 every sum is the same chain of FMAs in channel order as gemm's, so the floats are the
// AVX2 kernel's bit for bit (the vector width only changes how many lanes run at once).
#define TARGET512 __attribute__((target("avx512f,avx2,fma")))
#define TARGETBF __attribute__((target("avx512bf16,avx512vl,avx512bw,avx512f,avx2,fma")))
#define MR512 12
// Fully unrolled, so the accumulators stay in registers (compilers keep a 12-deep loop rolled).
#define UNROLL _Pragma("GCC unroll 16")

// Per element type: KS_ input channels per multiply-add; X_ a tile's broadcast operand at
// &V[t][k * KS]; L_ 16 output channels' operand at &U[k][co] (the 8-channel tail: YX_, YL_);
// M_ the multiply-add into fp32 sums.
#define KS_f32 1
static inline TARGET512 __m512 X_f32(const float *v) { return _mm512_set1_ps(*v); }
static inline TARGET512 __m512 L_f32(const float *u) { return _mm512_loadu_ps(u); }
static inline TARGET512 __m512 M_f32(__m512 c, __m512 x, __m512 u) { return _mm512_fmadd_ps(x, u, c); }
static inline TARGET512 __m256 YX_f32(const float *v) { return _mm256_broadcast_ss(v); }
static inline TARGET512 __m256 YL_f32(const float *u) { return _mm256_loadu_ps(u); }
static inline TARGET512 __m256 YM_f32(__m256 c, __m256 x, __m256 u) { return _mm256_fmadd_ps(x, u, c); }
#define KS_bf16 2
static inline TARGETBF int32_t pair_bf16(const uint16_t *v) { int32_t p; memcpy(&p, v, 4); return p; }
static inline TARGETBF __m512bh X_bf16(const uint16_t *v) { return (__m512bh)_mm512_set1_epi32(pair_bf16(v)); }
static inline TARGETBF __m512bh L_bf16(const uint16_t *u) { return (__m512bh)_mm512_loadu_si512(u); }
static inline TARGETBF __m512 M_bf16(__m512 c, __m512bh x, __m512bh u) { return _mm512_dpbf16_ps(c, x, u); }
static inline TARGETBF __m256bh YX_bf16(const uint16_t *v) { return (__m256bh)_mm256_set1_epi32(pair_bf16(v)); }
static inline TARGETBF __m256bh YL_bf16(const uint16_t *u) { return (__m256bh)_mm256_loadu_si256((const __m256i *)u); }
static inline TARGETBF __m256 YM_bf16(__m256 c, __m256bh x, __m256bh u) { return _mm256_dpbf16_ps(c, x, u); }

// gemm512_E(V, U, M, ntp, cin, cout) and its 32/32, 64/64 and any-width entry points for element E.
#define DEFINE_GEMM512(E, T, TGT) \
static inline __attribute__((always_inline)) TGT void gemm512_##E(const T *V, const T *U, float *M, int ntp, int cin, int cout) { \
    const int ks = KS_##E, kn = cin / ks; \
    for (int p = 0; p < 16; p++) { \
        const T *Vp = V + (size_t)p * ntp * cin, *Up = U + (size_t)p * cin * cout; \
        float *Mp = M + (size_t)p * ntp * cout; \
        int co = 0; \
        for (; co + 32 <= cout; co += 32) \
            for (int t = 0; t < ntp; t += MR512) { \
                __m512 c0[MR512], c1[MR512]; \
                UNROLL for (int i = 0; i < MR512; i++) c0[i] = c1[i] = _mm512_setzero_ps(); \
                const T *v = Vp + (size_t)t * cin, *u = Up + (size_t)co * ks; \
                for (int k = 0; k < kn; k++) { \
                    const T *uk = u + (size_t)k * cout * ks; \
                    __typeof__(L_##E(uk)) b0 = L_##E(uk), b1 = L_##E(uk + 16 * ks); \
                    UNROLL for (int i = 0; i < MR512; i++) { \
                        __typeof__(X_##E(v)) x = X_##E(v + (size_t)i * cin + (size_t)k * ks); \
                        c0[i] = M_##E(c0[i], x, b0); \
                        c1[i] = M_##E(c1[i], x, b1); \
                    } \
                } \
                UNROLL for (int i = 0; i < MR512; i++) { \
                    _mm512_storeu_ps(Mp + (size_t)(t + i) * cout + co, c0[i]); \
                    _mm512_storeu_ps(Mp + (size_t)(t + i) * cout + co + 16, c1[i]); \
                } \
            } \
        for (; co + 16 <= cout; co += 16) \
            for (int t = 0; t < ntp; t += MR512) { \
                __m512 c0[MR512]; \
                UNROLL for (int i = 0; i < MR512; i++) c0[i] = _mm512_setzero_ps(); \
                const T *v = Vp + (size_t)t * cin, *u = Up + (size_t)co * ks; \
                for (int k = 0; k < kn; k++) { \
                    __typeof__(L_##E(u)) b0 = L_##E(u + (size_t)k * cout * ks); \
                    UNROLL for (int i = 0; i < MR512; i++) c0[i] = M_##E(c0[i], X_##E(v + (size_t)i * cin + (size_t)k * ks), b0); \
                } \
                UNROLL for (int i = 0; i < MR512; i++) _mm512_storeu_ps(Mp + (size_t)(t + i) * cout + co, c0[i]); \
            } \
        for (; co < cout; co += 8) \
            for (int t = 0; t < ntp; t++) { \
                __m256 c0 = _mm256_setzero_ps(); \
                const T *v = Vp + (size_t)t * cin, *u = Up + (size_t)co * ks; \
                for (int k = 0; k < kn; k++) c0 = YM_##E(c0, YX_##E(v + (size_t)k * ks), YL_##E(u + (size_t)k * cout * ks)); \
                _mm256_storeu_ps(Mp + (size_t)t * cout + co, c0); \
            } \
    } \
} \
static __attribute__((noinline)) TGT void gemm512_##E##_32_32(const T *V, const T *U, float *M, int ntp) { gemm512_##E(V, U, M, ntp, 32, 32); } \
static __attribute__((noinline)) TGT void gemm512_##E##_64_64(const T *V, const T *U, float *M, int ntp) { gemm512_##E(V, U, M, ntp, 64, 64); } \
static __attribute__((noinline)) TGT void gemm512_##E##_any(const T *V, const T *U, float *M, int ntp, int cin, int cout) { gemm512_##E(V, U, M, ntp, cin, cout); }
DEFINE_GEMM512(f32, float, TARGET512)
DEFINE_GEMM512(bf16, uint16_t, TARGETBF)

// Whether the AVX-512 products run: the CPU and oneDNN's level (DNNL_MAX_CPU_ISA=AVX2 keeps
// the AVX2 ones, as the test suite's second pass wants; probed once) and CSGIS_WINO2_ISA
// (read per call, so a test can compare both in one process).
int csgis_wino2_avx512(void) {
    static int cpu = -1;
    if (cpu < 0) {
        __builtin_cpu_init();
        unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), core = (unsigned)dnnl_cpu_isa_avx512_core;
        cpu = __builtin_cpu_supports("avx512f") && (isa & core) == core;
    }
    const char *e = getenv("CSGIS_WINO2_ISA");
    return cpu && !(e && !strcmp(e, "avx2"));
}

// One chunk of tiles: input transform into V, products into M, output transform into dst.
// `bf`: src, dst and residual are bf16 and V is bf16 (a constant in each caller below).
static inline __attribute__((always_inline)) TARGET void chunk(const job_t *job, int t0, int nt, void *V, float *M, const int bf) {
    const csgis_wino2_args *a = job->a;
    const int d = a->dilation, cin = a->cin, cout = a->cout, cib = cin / 8, cob = cout / 8;
    const int ntp = (nt + MR512 - 1) / MR512 * MR512;  // whole micro-kernel steps for both ISAs (MR divides MR512)
    const size_t es = bf ? 2 : 4;  // bytes per V element
    // input transform: V[p][t][ci] = (B^T d B)[p], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
    for (int t = 0; t < ntp; t++) {
        if (t >= nt) {
            for (int p = 0; p < 16; p++) memset((char *)V + ((size_t)p * ntp + t) * cin * es, 0, cin * es);
            continue;
        }
        int rb, cb;
        tile_origin(job, t0 + t, &rb, &cb);
        long at[4][4];  // the window's pixels (element offsets in src), -1 where they read as zero
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                int y = rb + (i - 1) * d, x = cb + (j - 1) * d;
                at[i][j] = y < a->src_y0 || y >= a->src_y1 || x < 0 || x >= a->width ? -1
                    : (long)(y - a->src_y0) * a->src_rstride + (long)x * a->src_pstride;
            }
        const size_t vt = (size_t)t * cin;  // this tile's V elements, plane p at vt + p * ps
        const size_t ps = (size_t)ntp * cin;
        for (int c = 0; c < cib; c++) {
            const long off = (long)c * a->src_cbstride;
            __m256 in[4][4], r[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) in[i][j] = at[i][j] >= 0 ? load8(a->src, at[i][j] + off, bf) : _mm256_setzero_ps();
            for (int j = 0; j < 4; j++) {
                r[0][j] = _mm256_sub_ps(in[0][j], in[2][j]);
                r[1][j] = _mm256_add_ps(in[1][j], in[2][j]);
                r[2][j] = _mm256_sub_ps(in[2][j], in[1][j]);
                r[3][j] = _mm256_sub_ps(in[1][j], in[3][j]);
            }
            for (int i = 0; i < 4; i++) {
                const long v = (long)(vt + (size_t)(i * 4) * ps + c * 8);
                store8(V, v, _mm256_sub_ps(r[i][0], r[i][2]), bf);
                store8(V, v + ps, _mm256_add_ps(r[i][1], r[i][2]), bf);
                store8(V, v + 2 * ps, _mm256_sub_ps(r[i][2], r[i][1]), bf);
                store8(V, v + 3 * ps, _mm256_sub_ps(r[i][1], r[i][3]), bf);
            }
        }
    }
    // M[p][t][co] = sum over ci of V[p][t][ci] U[p][ci][co]
    if (bf) {
        if (cin == 32 && cout == 32) gemm512_bf16_32_32(V, a->u, M, ntp);
        else if (cin == 64 && cout == 64) gemm512_bf16_64_64(V, a->u, M, ntp);
        else gemm512_bf16_any(V, a->u, M, ntp, cin, cout);
    } else if (job->avx512) {
        if (cin == 32 && cout == 32) gemm512_f32_32_32(V, a->u, M, ntp);
        else if (cin == 64 && cout == 64) gemm512_f32_64_64(V, a->u, M, ntp);
        else gemm512_f32_any(V, a->u, M, ntp, cin, cout);
    } else if (cin == 32 && cout == 32) gemm_32_32(V, a->u, M, ntp);
    else if (cin == 64 && cout == 64) gemm_64_64(V, a->u, M, ntp);
    else gemm(V, a->u, M, ntp, cin, cout);
    // output transform Y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1], then bias, ReLU, residual or sum
    const __m256 zero = _mm256_setzero_ps();
    for (int t = 0; t < nt; t++) {
        int rb, cb;
        tile_origin(job, t0 + t, &rb, &cb);
        long off[4];  // the tile's outputs in dst, -1 for those outside the rows or columns asked for
        int n = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int y = rb + i * d, x = cb + j * d;
                off[i * 2 + j] = y < a->row0 || y >= a->row1 || x >= a->width ? -1 : (long)(y - a->row0) * a->dst_rstride + (long)x * a->dst_pstride;
                n += off[i * 2 + j] >= 0;
            }
        if (!n) continue;
        const float *mt = M + (size_t)t * cout;
        const size_t ps = (size_t)ntp * cout;
        for (int c = 0; c < cob; c++) {
            __m256 m[4][4];
            for (int p = 0; p < 16; p++) m[p / 4][p % 4] = _mm256_loadu_ps(mt + p * ps + c * 8);
            __m256 s[4], q[4];
            for (int j = 0; j < 4; j++) {
                s[j] = _mm256_add_ps(_mm256_add_ps(m[0][j], m[1][j]), m[2][j]);
                q[j] = _mm256_sub_ps(_mm256_sub_ps(m[1][j], m[2][j]), m[3][j]);
            }
            __m256 y[4] = {_mm256_add_ps(_mm256_add_ps(s[0], s[1]), s[2]), _mm256_sub_ps(_mm256_sub_ps(s[1], s[2]), s[3]),
                           _mm256_add_ps(_mm256_add_ps(q[0], q[1]), q[2]), _mm256_sub_ps(_mm256_sub_ps(q[1], q[2]), q[3])};
            const __m256 bias = _mm256_loadu_ps(a->bias + c * 8);
            const long cofs = (long)c * a->dst_cbstride;
            for (int k = 0; k < 4; k++) {
                if (off[k] < 0) continue;
                __m256 v = _mm256_add_ps(y[k], bias);
                if (a->relu) v = _mm256_max_ps(v, zero);
                const long o = off[k] + cofs;
                if (a->post == 1) v = _mm256_add_ps(v, load8(a->dst, o, bf));
                else if (a->post == 2) v = _mm256_add_ps(v, load8(a->residual, o, bf));
                store8(a->dst, o, v, bf);
            }
        }
    }
}

TARGET static void chunk_f32(const job_t *job, int t0, int nt, void *V, float *M) { chunk(job, t0, nt, V, M, 0); }
TARGET static void chunk_bf16(const job_t *job, int t0, int nt, void *V, float *M) { chunk(job, t0, nt, V, M, 1); }

static void worker(void *data) {
    job_t *job = data;
    const csgis_wino2_args *a = job->a;
    size_t vbytes = (size_t)16 * CHUNK * a->cin * 4, mbytes = (size_t)16 * CHUNK * a->cout * 4;
    void *V = aligned_alloc(64, vbytes);
    float *M = aligned_alloc(64, mbytes);
    if (!V || !M) { free(V); free(M); __atomic_store_n(&job->status, 1, __ATOMIC_RELAXED); return; }
    for (int c; (c = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) < job->nchunks;) {
        int t0 = c * CHUNK, nt = job->ntiles - t0 < CHUNK ? job->ntiles - t0 : CHUNK;
        (a->bf16 ? chunk_bf16 : chunk_f32)(job, t0, nt, V, M);
    }
    free(V); free(M);
}

static int row_bases(int row0, int row1, int d, int *bases) {
    int n = 0;
    for (int y = row0; y < row1; y++) {
        if ((y / d) % 2 == 0) bases[n++] = y;
        else if (y - d < row0) bases[n++] = y - d;
    }
    return n;
}

int csgis_wino2_run(const csgis_wino2_args *a, int threads) {
    if (a->cin % 8 || a->cout % 8 || a->cin <= 0 || a->cout <= 0 || a->dilation < 1 || a->row1 < a->row0 || a->width <= 0) return 1;
    if (a->bf16 && !csgis_wino2_bf16_supported()) return 1;
    if (a->row1 == a->row0) return 0;
    int *bases = malloc(sizeof(int) * (size_t)(a->row1 - a->row0));
    if (!bases) return 2;
    job_t job = {a, bases, 0, 0, 0, csgis_wino2_avx512(), 0, 0};
    int rows = row_bases(a->row0, a->row1, a->dilation, bases);
    for (int x = 0; x < a->width; x++) job.col_tiles += (x / a->dilation) % 2 == 0;
    job.ntiles = rows * job.col_tiles;
    job.nchunks = (job.ntiles + CHUNK - 1) / CHUNK;
    GOMP_parallel(worker, &job, threads > 0 ? (unsigned)threads : 0, 0);
    free(bases);
    return job.status ? 2 : 0;
}

size_t csgis_wino2_scratch_bytes(int cin, int cout) { return (size_t)16 * CHUNK * (cin + cout) * 4 + 128; }
