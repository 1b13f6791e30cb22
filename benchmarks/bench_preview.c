/* Preview latency: the time for each of N redraws of a preview-sized image, with a new
 * csgis_context per redraw (engine rebuilt every call: weights packed, primitives created)
 * and with one context kept (built once). Prints seconds per redraw for both. Then cancel latency:
 * a 2000x2000 run whose progress callback asks to stop after 1 s, at the default budget
 * and at 128 MB; prints the time from that answer to csgis_smooth's return.
 *   cc bench_preview.c $(pkg-config --cflags --libs csgis) -o bench_preview
 *   ./bench_preview [MODEL] [SIZE] [REDRAWS]                     (defaults: lite 256 5) */
#include <csgis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cancel_at;
static int stop_after_a_second(float fraction, double seconds_left, void *user_data) {
    (void)fraction; (void)seconds_left;
    double t = now();
    if (t - *(double *)user_data < 1.0) return 0;
    if (cancel_at == 0) cancel_at = t;
    return 1;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "lite";
    int size = argc > 2 ? atoi(argv[2]) : 256, n = argc > 3 ? atoi(argv[3]) : 5;
    csgis_model *m;
    if (csgis_model_load(name, &m) != CSGIS_OK) { fprintf(stderr, "%s\n", csgis_last_error()); return 1; }
    size_t bytes = (size_t)size * size * 4 * sizeof(float);
    float *px = malloc(bytes), *work = malloc(bytes);
    for (size_t i = 0; i < bytes / sizeof(float); i++) px[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    csgis_image d = csgis_image_packed((uint32_t)size, (uint32_t)size, 4, CSGIS_F32);
    csgis_params o = csgis_default_params();
    csgis_context *ctx, *fresh;
    if (csgis_context_new(m, NULL, &ctx) != CSGIS_OK) { fprintf(stderr, "%s\n", csgis_last_error()); return 1; }
    printf("libcsgis %s, model %s, %dx%d RGBA float, %d redraws\nredraw  new context s  kept context s\n", csgis_version(), name, size, size, n);
    for (int k = 0; k < n; k++) {
        memcpy(work, px, bytes);
        double t0 = now();
        if (csgis_context_new(m, NULL, &fresh) != CSGIS_OK || csgis_smooth(fresh, &o, &d, work, &d, work) != CSGIS_OK) {
            fprintf(stderr, "%s\n", csgis_last_error());
            return 1;
        }
        csgis_context_free(fresh);
        double t1 = now();
        memcpy(work, px, bytes);
        double t2 = now();
        if (csgis_smooth(ctx, &o, &d, work, &d, work) != CSGIS_OK) { fprintf(stderr, "%s\n", csgis_last_error()); return 1; }
        double t3 = now();
        printf("%6d  %13.3f  %14.3f\n", k + 1, t1 - t0, t3 - t2);
    }
    size_t big = (size_t)2000 * 2000 * 4;
    float *image = calloc(big, sizeof(float));
    csgis_image bd = csgis_image_packed(2000, 2000, 4, CSGIS_F32);
    size_t budgets[2] = {0, (size_t)128 << 20};
    for (int b = 0; b < 2; b++) {
        csgis_params c = csgis_default_params();
        double start = now();
        c.memory_budget = budgets[b];
        c.progress = stop_after_a_second;
        c.progress_user_data = &start;
        cancel_at = 0;
        csgis_status st = csgis_smooth(ctx, &c, &bd, image, &bd, image);
        printf("cancel at budget %s: status %d, %.3f s from the callback's answer to the return\n",
               b ? "128 MB" : "default", (int)st, now() - cancel_at);
    }
    free(image);
    csgis_context_free(ctx);
    csgis_model_free(m);
    free(px); free(work);
    return 0;
}
