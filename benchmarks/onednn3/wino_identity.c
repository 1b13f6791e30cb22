/* Can oneDNN 2.6's Winograd convolution keep the engine's promise that every plan gives the
 * whole image's floats? One 3x3 dilation-1 f32 convolution (bias, ReLU) in nChw16c, run on a
 * whole HEIGHT x WIDTH image (oneDNN pads the rows) and on the row block [Y0, Y0 + ROWS) given
 * its halo rows explicitly (zero rows outside the image), the way the row-streaming plan calls
 * a convolution. IMPL picks the implementation by name (default jit_wino_4x3; oneDNN's own
 * choice depends on the tensor's size). Prints both implementations, ms per call, how many
 * outputs of the block differ from the whole image's, the largest difference from the direct
 * convolution, and a hash of the whole output (compare it across OMP_NUM_THREADS).
 * Usage: wino_identity CHANNELS HEIGHT WIDTH Y0 ROWS [IMPL]   (gcc -O2 ... -ldnnl) */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_) { fprintf(stderr, "%s failed (%d)\n", #x, s_); exit(1); } } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t stream;

static size_t at(int c, int y, int x, int h, int w) { return (((size_t)(c / 16) * h + y) * w + x) * 16 + c % 16; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

/* dst (c x (hin + 2 padh - 2) x w, nChw16c) = ReLU(conv(src) + bias); the first implementation
 * whose name contains `impl` (NULL: oneDNN's choice); its name into *name, ms per call into *ms. */
static float *conv(int c, int hin, int w, int padh, const float *src, const float *wts, const float *bias, int winograd,
                   const char *impl, const char **name, double *ms) {
    int hout = hin + 2 * padh - 2;
    dnnl_dims_t sd = {1, c, hin, w}, dd = {1, c, hout, w}, wd = {c, c, 3, 3}, bd = {c}, one = {1, 1}, dil = {0, 0}, pad = {padh, 1};
    dnnl_memory_desc_t s, d, wa, wp, b;
    CHECK(dnnl_memory_desc_init_by_tag(&s, 4, sd, dnnl_f32, dnnl_nChw16c));
    CHECK(dnnl_memory_desc_init_by_tag(&d, 4, dd, dnnl_f32, dnnl_nChw16c));
    CHECK(dnnl_memory_desc_init_by_tag(&wa, 4, wd, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&wp, 4, wd, dnnl_f32, dnnl_oihw));
    CHECK(dnnl_memory_desc_init_by_tag(&b, 1, bd, dnnl_f32, dnnl_x));
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                                     winograd ? dnnl_convolution_winograd : dnnl_convolution_direct,
                                                     &s, &wa, &b, &d, one, dil, pad, pad));
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_post_ops_create(&po));
    CHECK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
    dnnl_primitive_desc_iterator_t it;
    CHECK(dnnl_primitive_desc_iterator_create(&it, &cd, attr, eng, NULL));
    dnnl_primitive_desc_t pd = NULL;
    do {
        dnnl_primitive_desc_t q = dnnl_primitive_desc_iterator_fetch(it);
        dnnl_primitive_desc_query(q, dnnl_query_impl_info_str, 0, name);
        if (!impl || strstr(*name, impl)) { pd = q; break; }
        dnnl_primitive_desc_destroy(q);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    if (!pd) { fprintf(stderr, "no implementation named %s for this shape\n", impl); exit(1); }
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    float *out = aligned_alloc(64, (dnnl_memory_desc_get_size(&d) + 63) / 64 * 64);
    dnnl_memory_t ms_, md, mw, mwp, mb;
    CHECK(dnnl_memory_create(&ms_, &s, eng, (void *)src));
    CHECK(dnnl_memory_create(&md, &d, eng, out));
    CHECK(dnnl_memory_create(&mwp, &wp, eng, (void *)wts));
    CHECK(dnnl_memory_create(&mw, wmd, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mb, &b, eng, (void *)bias));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r, p;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wp, eng, wmd, eng, NULL));
    CHECK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, mwp}, {DNNL_ARG_TO, mw}};
    CHECK(dnnl_primitive_execute(r, stream, 2, ra));
    CHECK(dnnl_primitive_create(&p, pd));
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, ms_}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
    double best = 1e9;
    for (int k = 0; k < 4; k++) {  /* the first call warms up; the best of the rest */
        double t0 = now();
        CHECK(dnnl_primitive_execute(p, stream, 4, a));
        CHECK(dnnl_stream_wait(stream));
        if (k && now() - t0 < best) best = now() - t0;
    }
    *ms = best * 1e3;
    return out;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: wino_identity CHANNELS HEIGHT WIDTH Y0 ROWS [IMPL]\n"); return 2; }
    int c = atoi(argv[1]), h = atoi(argv[2]), w = atoi(argv[3]), y0 = atoi(argv[4]), rows = atoi(argv[5]);
    const char *impl = argc > 6 ? argv[6] : "jit_wino_4x3";
    if (c < 16 || c % 16 || c > 1024 || h < 1 || w < 1 || (size_t)h * w > (1 << 26) || y0 < 0 || y0 >= h || rows < 1 || rows > h) {
        fprintf(stderr, "bad arguments (CHANNELS a multiple of 16)\n");
        return 2;
    }
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    size_t n = (size_t)c * h * w;
    float *src = aligned_alloc(64, (n * 4 + 63) / 64 * 64), *wts = malloc((size_t)c * c * 9 * 4), *bias = malloc(c * 4);
    srand(1);
    for (size_t i = 0; i < n; i++) src[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < (size_t)c * c * 9; i++) wts[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.2f;
    for (int i = 0; i < c; i++) bias[i] = 0.01f * (i % 7) - 0.03f;
    const char *wname, *bname, *dname;
    double wms, bms, dms;
    float *whole = conv(c, h, w, 1, src, wts, bias, 1, impl, &wname, &wms);
    float *direct = conv(c, h, w, 1, src, wts, bias, 0, NULL, &dname, &dms);
    int hin = rows + 2;  /* the block's input: rows y0 - 1 ... y0 + rows, zeros outside the image */
    float *blk = aligned_alloc(64, ((size_t)c * hin * w * 4 + 63) / 64 * 64);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < hin; y++)
            for (int x = 0; x < w; x++) {
                int iy = y0 - 1 + y;
                blk[at(ch, y, x, hin, w)] = iy >= 0 && iy < h ? src[at(ch, iy, x, h, w)] : 0.f;
            }
    float *block = conv(c, hin, w, 0, blk, wts, bias, 1, impl, &bname, &bms);
    long differ = 0, count = 0;
    double dmax = 0, omax = 0;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float u = whole[at(ch, y, x, h, w)], v = direct[at(ch, y, x, h, w)];
                if ((double)(u > v ? u - v : v - u) > dmax) dmax = u > v ? u - v : v - u;
                if (v > omax) omax = v;
                if (y >= y0 && y < y0 + rows) {
                    float z = block[at(ch, y - y0, x, rows, w)];
                    count++;
                    differ += memcmp(&u, &z, 4) != 0;
                }
            }
    unsigned long long hash = 1469598103934665603ULL;
    for (size_t i = 0; i < n * 4; i++) hash = (hash ^ ((const unsigned char *)whole)[i]) * 1099511628211ULL;
    printf("%d ch %dx%d: whole %s %.2f ms, rows %d..%d %s %.3f ms, direct %s %.2f ms; block: %ld of %ld floats differ; "
           "vs direct: max |diff| %.2g (outputs up to %.2g); hash %016llx\n",
           c, w, h, wname, wms, y0, y0 + rows - 1, bname, bms, dname, dms, differ, count, dmax, omax, hash);
    return differ != 0;
}
