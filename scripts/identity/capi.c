/* The C API half of scripts/identity.sh: every entry point over a matrix of layouts,
 * strengths, budgets and tile sizes; one line per run with the status and an FNV-1a hash
 * of the output bytes (or the error message), so two builds can be compared byte for byte. */
#include <csgis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ull; }
    return h;
}

static size_t sample_bytes(csgis_sample_type t) { return t == CSGIS_U8 ? 1 : t == CSGIS_U16 ? 2 : 4; }
static size_t row_bytes(const csgis_image *d) { return d->width * d->channels * sample_bytes(d->type); }
static size_t stride_of(const csgis_image *d) { return d->stride ? d->stride : row_bytes(d); }

/* A deterministic textured picture in any layout: edges, a gradient and noise. */
static void *make_pixels(const csgis_image *d) {
    size_t s = stride_of(d), n = s * d->height;
    unsigned char *p = calloc(1, n);
    uint32_t r = 12345;
    for (uint32_t y = 0; y < d->height; y++)
        for (uint32_t x = 0; x < d->width; x++)
            for (uint32_t c = 0; c < d->channels; c++) {
                r = r * 1103515245u + 12345u;
                double v = ((x / 23 + y / 17) % 2 ? 0.7 : 0.25) + 0.2 * x / d->width + 0.1 * c
                           + 0.15 * ((double)((r >> 16) & 1023) / 1023.0 - 0.5);
                if ((int)c == d->alpha_channel) v = (double)((x * 7 + y * 3) % 256) / 255.0;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                unsigned char *q = p + y * s + (x * d->channels + c) * sample_bytes(d->type);
                if (d->type == CSGIS_U8) *q = (unsigned char)(v * 255 + 0.5);
                else if (d->type == CSGIS_U16) { uint16_t u = (uint16_t)(v * 65535 + 0.5); memcpy(q, &u, 2); }
                else { float f = (float)v; memcpy(q, &f, 4); }
            }
    return p;
}

typedef struct { const unsigned char *src; unsigned char *dst; size_t stride; size_t pixel; } io;

static int rd_rows(uint32_t first, uint32_t count, void *rows, void *u) {
    io *b = u; memcpy(rows, b->src + first * b->stride, count * b->stride); return 0;
}
static int wr_rows(uint32_t first, uint32_t count, const void *rows, void *u) {
    io *b = u; memcpy(b->dst + first * b->stride, rows, count * b->stride); return 0;
}
static int rd_region(uint32_t x, uint32_t y, uint32_t w, uint32_t h, void *px, size_t stride, void *u) {
    io *b = u;
    for (uint32_t r = 0; r < h; r++) memcpy((char *)px + r * stride, b->src + (y + r) * b->stride + x * b->pixel, w * b->pixel);
    return 0;
}
static int wr_region(uint32_t x, uint32_t y, uint32_t w, uint32_t h, const void *px, size_t stride, void *u) {
    io *b = u;
    for (uint32_t r = 0; r < h; r++) memcpy(b->dst + (y + r) * b->stride + x * b->pixel, (const char *)px + r * stride, w * b->pixel);
    return 0;
}

static void report(const char *what, csgis_status st, const void *out, size_t n) {
    if (st == CSGIS_OK) printf("%s ok %016llx\n", what, (unsigned long long)fnv(out, n));
    else printf("%s status %d: %s\n", what, (int)st, csgis_last_error());
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: capi MODEL fp32|bf16|auto\n"); return 2; }
    csgis_model *m;
    if (csgis_model_load(argv[1], &m) != CSGIS_OK) { fprintf(stderr, "%s\n", csgis_last_error()); return 1; }
    csgis_precision prec = !strcmp(argv[2], "fp32") ? CSGIS_PRECISION_FP32 : !strcmp(argv[2], "bf16") ? CSGIS_PRECISION_BF16
                                                                                                   : CSGIS_PRECISION_AUTO;
    const csgis_image layouts[] = {
        {150, 97, 3, CSGIS_U8, 0, -1},          {150, 97, 4, CSGIS_U8, 0, 3},  {150, 97, 4, CSGIS_U8, 0, 0},
        {150, 97, 1, CSGIS_U16, 0, -1},         {150, 97, 2, CSGIS_U16, 0, 1}, {150, 97, 3, CSGIS_F32, 0, -1},
        {150, 97, 3, CSGIS_U8, 150 * 3 + 13, -1}, {333, 41, 3, CSGIS_U8, 0, -1},
    };
    const float strengths[] = {0, 0.37f, 1};
    const size_t budgets[] = {0, 3u << 20, 6u << 20, 12u << 20};
    const int tiles[] = {0, 32, 64};
    csgis_context_params cp = csgis_context_default_params();
    cp.precision = prec; cp.threads = 2;
    csgis_params base = csgis_default_params();
    csgis_context *ctx, *fresh = NULL;  /* one kept for every call; one made for each call */
    if (csgis_context_new(m, &cp, &ctx) != CSGIS_OK) { fprintf(stderr, "%s\n", csgis_last_error()); return 1; }
    char what[200];
    for (size_t li = 0; li < sizeof layouts / sizeof *layouts; li++) {
        const csgis_image *d = &layouts[li];
        size_t n = stride_of(d) * d->height;
        unsigned char *src = make_pixels(d), *dst = malloc(n), *inplace = malloc(n);
        io b = {src, dst, stride_of(d), d->channels * sample_bytes(d->type)};
        for (size_t si = 0; si < 3; si++)
            for (size_t bi = 0; bi < 4; bi++)
                for (size_t ti = 0; ti < 3; ti++) {
                    if (ti && bi) continue;  /* forced tiles at the default budget only */
                    if (si == 0 && (bi || ti)) continue;  /* strength 0 once */
                    csgis_params o = base;
                    o.strength = strengths[si]; o.memory_budget = budgets[bi]; o.tile_size = tiles[ti];
                    const char *names[] = {"smooth", "smooth-in-place", "stream", "regions", "ctx-smooth", "ctx-stream", "ctx-regions"};
                    for (int e = 0; e < 7; e++) {
                        csgis_status st;
                        memset(dst, 0xAB, n);
                        unsigned char *out = dst;
                        if (e < 4 && csgis_context_new(m, &cp, &fresh) != CSGIS_OK) { fprintf(stderr, "%s\n", csgis_last_error()); return 1; }
                        switch (e) {
                        case 0: st = csgis_smooth(fresh, &o, d, src, d, dst); break;
                        case 1: memcpy(inplace, src, n); out = inplace; st = csgis_smooth(fresh, &o, d, inplace, d, inplace); break;
                        case 2: st = csgis_smooth_stream(fresh, &o, d, rd_rows, wr_rows, &b); break;
                        case 3: st = csgis_smooth_regions(fresh, &o, d, rd_region, wr_region, &b); break;
                        case 4: st = csgis_smooth(ctx, &o, d, src, d, dst); break;
                        case 5: st = csgis_smooth_stream(ctx, &o, d, rd_rows, wr_rows, &b); break;
                        default: st = csgis_smooth_regions(ctx, &o, d, rd_region, wr_region, &b); break;
                        }
                        csgis_context_free(fresh);
                        fresh = NULL;
                        snprintf(what, sizeof what, "%ux%u c%u t%d s%zu a%d strength %.2f budget %zu tile %d %s", d->width,
                                 d->height, d->channels, (int)d->type, d->stride, d->alpha_channel, o.strength, o.memory_budget,
                                 o.tile_size, names[e]);
                        report(what, st, out, n);
                    }
                }
        /* a mixed-type pair: u8 in, f32 out */
        if (d->type == CSGIS_U8 && d->stride == 0) {
            csgis_image fd = *d; fd.type = CSGIS_F32;
            float *f = malloc(stride_of(&fd) * d->height);
            csgis_params o = base; o.strength = 0.8f;
            snprintf(what, sizeof what, "%ux%u c%u u8->f32 a%d", d->width, d->height, d->channels, d->alpha_channel);
            report(what, csgis_smooth(ctx, &o, d, src, &fd, f), f, stride_of(&fd) * d->height);
            free(f);
        }
        free(src); free(dst); free(inplace);
    }
    csgis_context_free(ctx);
    csgis_model_free(m);
    return 0;
}
