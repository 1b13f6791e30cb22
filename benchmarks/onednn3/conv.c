/* One 3x3 convolution of CSGIS-Net's shapes (bias, ReLU), timed through
 * whichever oneDNN this is compiled against: Debian's 2.6 (its API) or PyPI's 3.x (the 3.x
 * API). Usage: conv CIN COUT HEIGHT WIDTH DILATION [TAG] [RUNS] [TYPE] [ALGO]; TAG nhwc (the
 * engine's), blocked (nChw8c, AVX2's native blocking) or blocked16 (nChw16c, AVX-512's); TYPE
 * f32 or bf16 (source, weights and destination; the bias stays f32); ALGO direct (the
 * engine's) or winograd (2.6 has it for f32, dilation 1, nChw16c on AVX-512 only). Prints one
 * line: oneDNN version, implementation, type, layout, shape, median ms and GFLOP/s (of the
 * direct convolution's FLOPs, so Winograd's figure is its speed-up times a direct rate). */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_) { fprintf(stderr, "%s failed (%d)\n", #x, s_); return 1; } } while (0)

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double d = *(const double *)a - *(const double *)b; return (d > 0) - (d < 0); }

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: conv CIN COUT HEIGHT WIDTH DILATION [nhwc|blocked|blocked16] [RUNS] [f32|bf16] [direct|winograd]\n"); return 2; }
    int ci = atoi(argv[1]), co = atoi(argv[2]), h = atoi(argv[3]), w = atoi(argv[4]), d = atoi(argv[5]);
    const char *layout = argc > 6 ? argv[6] : "nhwc";
    dnnl_format_tag_t tag = !strcmp(layout, "blocked") ? dnnl_nChw8c : !strcmp(layout, "blocked16") ? dnnl_nChw16c : dnnl_nhwc;
    int runs = argc > 7 ? atoi(argv[7]) : 5;
    const char *type = argc > 8 ? argv[8] : "f32";
    int bf16 = !strcmp(type, "bf16");
    const char *algo = argc > 9 ? argv[9] : "direct";
    if (strcmp(algo, "direct") && strcmp(algo, "winograd")) { fprintf(stderr, "unknown algorithm %s\n", algo); return 2; }
    dnnl_alg_kind_t alg = !strcmp(algo, "winograd") ? dnnl_convolution_winograd : dnnl_convolution_direct;
    if (strcmp(layout, "nhwc") && strcmp(layout, "blocked") && strcmp(layout, "blocked16")) { fprintf(stderr, "unknown layout %s\n", layout); return 2; }
    if (!bf16 && strcmp(type, "f32")) { fprintf(stderr, "unknown type %s\n", type); return 2; }
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    if (ci < 1 || co < 1 || h < 1 || w < 1 || d < 1 || runs < 1 || runs > 99) { fprintf(stderr, "bad arguments\n"); return 2; }
    dnnl_engine_t eng; dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    /* the engine's form: rows padded by the caller (2d extra input rows), columns by oneDNN */
    dnnl_dims_t sd = {1, ci, h + 2 * d, w}, dd = {1, co, h, w}, wd = {co, ci, 3, 3}, bd = {co};
    dnnl_dims_t strides = {1, 1}, dil = {d - 1, d - 1}, pad = {0, d};
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_post_ops_create(&po));
    dnnl_primitive_desc_t pd;
#if DNNL_VERSION_MAJOR >= 3
    dnnl_memory_desc_t src, dst, wei, bias;
    CHECK(dnnl_memory_desc_create_with_tag(&src, 4, sd, dt, tag));
    CHECK(dnnl_memory_desc_create_with_tag(&dst, 4, dd, dt, tag));
    CHECK(dnnl_memory_desc_create_with_tag(&wei, 4, wd, dt, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_create_with_tag(&bias, 1, bd, dnnl_f32, dnnl_x));
    CHECK(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_relu, 0.f, 0.f));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
    CHECK(dnnl_convolution_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, alg,
                                                         src, wei, bias, dst, strides, dil, pad, pad, attr));
    const_dnnl_memory_desc_t wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
#define MD(x) (x)
#else
    dnnl_memory_desc_t src, dst, wei, bias;
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, sd, dt, tag));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dt, tag));
    CHECK(dnnl_memory_desc_init_by_tag(&wei, 4, wd, dt, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x));
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg,
                                                     &src, &wei, &bias, &dst, strides, dil, pad, pad));
    CHECK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
    CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, eng, NULL));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
#define MD(x) (&(x))
#endif
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_memory_t ms, md, mw, mb;
    CHECK(dnnl_memory_create(&ms, MD(src), eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&md, MD(dst), eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mw, wmd, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mb, MD(bias), eng, DNNL_MEMORY_ALLOCATE));
    unsigned char *p;  /* small values of either type: bf16 is the top half of an f32 */
    CHECK(dnnl_memory_get_data_handle(ms, (void **)&p));
    size_t bytes = dnnl_memory_desc_get_size(MD(src)), es = bf16 ? 2 : 4;
    for (size_t i = 0; i < bytes / es; i++) {
        float f = (float)(i % 17) * 0.01f; unsigned u; memcpy(&u, &f, 4);
        if (bf16) { unsigned short hu = (unsigned short)(u >> 16); memcpy(p + 2 * i, &hu, 2); } else memcpy(p + 4 * i, &u, 4);
    }
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
    double t[99];
    for (int r = -1; r < runs; r++) { /* one warm-up */
        double t0 = now();
        CHECK(dnnl_primitive_execute(prim, stream, 4, args));
        CHECK(dnnl_stream_wait(stream));
        if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, runs, sizeof t[0], cmp);
    double med = t[runs / 2];
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d %-22s %s %-8s %3d->%-3d %dx%d dilation %d: %8.2f ms %6.1f GFLOP/s\n", v->major, v->minor, impl,
           bf16 ? "bf16" : "f32 ", tag == dnnl_nhwc ? "nhwc" : tag == dnnl_nChw8c ? "nChw8c" : "nChw16c", ci, co, w, h, d,
           med * 1e3, 2.0 * ci * co * 9 * h * w / med / 1e9);
    return 0;
}
