/* smooth.c: a C program using libcsgis. Reads a binary PPM (P6, 8-bit), smooths it and
 * writes a PPM, in memory or streamed row by row.
 *
 *   cc smooth.c $(pkg-config --cflags --libs csgis) -o smooth
 *   ./smooth in.ppm out.ppm [--model PATH] [--strength S] [--stream]
 */
#include <csgis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_header(FILE *f, unsigned *w, unsigned *h) {
    unsigned maxval;
    if (fscanf(f, "P6 %u %u %u", w, h, &maxval) != 3 || maxval != 255 || fgetc(f) == EOF) return -1;
    return 0;
}

static int on_progress(float fraction, double seconds_left, void *user_data) {
    (void)user_data;
    fprintf(stderr, "\rsmooth: %3.0f%% (%.0f s left)", fraction * 100, seconds_left < 0 ? 0 : seconds_left);
    if (fraction >= 1) fputc('\n', stderr);
    return 0; /* non-zero would cancel */
}

typedef struct { FILE *in, *out; unsigned width; } streams;

static int read_rows(uint32_t first, uint32_t count, void *rows, void *user) {
    streams *s = user; (void)first;
    return fread(rows, 3 * s->width, count, s->in) == count ? 0 : -1;
}

static int write_rows(uint32_t first, uint32_t count, const void *rows, void *user) {
    streams *s = user; (void)first;
    return fwrite(rows, 3 * s->width, count, s->out) == count ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *model_path = NULL;
    int stream = 0;
    csgis_params opt = csgis_default_params(); /* per call: strength, budget, progress */
    opt.progress = on_progress;
    if (argc < 3) { fprintf(stderr, "usage: %s in.ppm out.ppm [--model PATH] [--strength S] [--stream]\n", argv[0]); return 2; }
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
        else if (!strcmp(argv[i], "--strength") && i + 1 < argc) opt.strength = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--stream")) stream = 1;
    }
    fprintf(stderr, "libcsgis %s\n", csgis_version());
    csgis_model *model = NULL;
    csgis_context *ctx = NULL; /* the engine: the model at auto precision on all cores */
    if (csgis_model_load(model_path, &model) != CSGIS_OK || csgis_context_new(model, NULL, &ctx) != CSGIS_OK) {
        fprintf(stderr, "smooth: %s\n", csgis_last_error());
        return 1;
    }
    csgis_model_info info;
    csgis_model_get_info(model, &info);
    fprintf(stderr, "model %d/%d, receptive radius %d px, %s\n", info.dim, info.num_block, info.receptive_radius,
            csgis_context_precision(ctx) == CSGIS_PRECISION_BF16 ? "bf16" : "fp32");

    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    unsigned w, h;
    if (!in || !out || read_header(in, &w, &h)) { fprintf(stderr, "smooth: cannot read a P6 PPM from %s\n", argv[1]); return 1; }
    fprintf(out, "P6\n%u %u\n255\n", w, h);
    csgis_image desc = csgis_image_packed(w, h, 3, CSGIS_U8);
    csgis_status st;
    if (stream) {
        streams s = {in, out, w};
        st = csgis_smooth_stream(ctx, &opt, &desc, read_rows, write_rows, &s);
    } else {
        size_t n = (size_t)w * h * 3;
        unsigned char *pixels = malloc(n);
        if (!pixels || fread(pixels, 1, n, in) != n) { fprintf(stderr, "smooth: truncated PPM\n"); return 1; }
        st = csgis_smooth(ctx, &opt, &desc, pixels, &desc, pixels); /* in place */
        if (st == CSGIS_OK) fwrite(pixels, 1, n, out);
        free(pixels);
    }
    if (st != CSGIS_OK) fprintf(stderr, "smooth: %s (status %d)\n", csgis_last_error(), (int)st);
    csgis_context_free(ctx);
    csgis_model_free(model);
    fclose(in);
    fclose(out);
    return st == CSGIS_OK ? 0 : 1;
}
