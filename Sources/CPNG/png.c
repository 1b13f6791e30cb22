#include "CPNG.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *err; size_t errlen; } err_ctx;
typedef struct { const uint8_t *data; size_t size, pos; } read_ctx;
typedef struct { uint8_t *buf; size_t size, cap; int failed; } write_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    err_ctx *e = (err_ctx *)png_get_error_ptr(png);
    snprintf(e->err, e->errlen, "%s", msg);
    png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void read_fn(png_structp png, png_bytep out, png_size_t n) {
    read_ctx *r = (read_ctx *)png_get_io_ptr(png);
    if (r->size - r->pos < n) png_error(png, "file is truncated");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

int csgis_png_is_png(const uint8_t *data, size_t size) {
    return size >= 8 && png_sig_cmp((png_const_bytep)data, 0, 8) == 0;
}

int csgis_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, csgis_png_image *out,
                     char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!csgis_png_is_png(data, size)) { snprintf(err, errlen, "not a PNG file (bad signature)"); return 1; }
    err_ctx e = {err, errlen};
    read_ctx r = {data, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, on_error, on_warning);
    if (!png) { snprintf(err, errlen, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = NULL;
    uint8_t *raw = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(rows); free(raw); free(out->samples); out->samples = NULL;
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return 1;
    }
    png_set_read_fn(png, &r, read_fn);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if ((uint64_t)w * h > max_pixels) {
        snprintf(err, errlen, "image is %ux%u, over the limit of %llu pixels", w, h, (unsigned long long)max_pixels);
        png_longjmp(png, 1);
    }
    out->was_palette = ctype == PNG_COLOR_TYPE_PALETTE;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int bd = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    raw = malloc(rowbytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    out->samples = malloc(sizeof(uint16_t) * (size_t)w * h * channels);
    if (!raw || !rows || !out->samples) { snprintf(err, errlen, "out of memory for a %ux%u image", w, h); png_longjmp(png, 1); }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = raw + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    size_t n = (size_t)w * h * channels;
    for (size_t i = 0; i < n; i++)
        out->samples[i] = bd == 16 ? (uint16_t)(raw[2 * i] << 8 | raw[2 * i + 1]) : raw[i];
    out->width = w; out->height = h; out->channels = channels; out->bit_depth = bd;
    free(rows); free(raw);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

static void write_fn(png_structp png, png_bytep d, png_size_t n) {
    write_ctx *w = (write_ctx *)png_get_io_ptr(png);
    if (w->size + n > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->size + n) cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) png_error(png, "out of memory while encoding");
        w->buf = b; w->cap = cap;
    }
    memcpy(w->buf + w->size, d, n);
    w->size += n;
}
static void flush_fn(png_structp png) { (void)png; }

int csgis_png_encode(const csgis_png_image *img, uint8_t **out, size_t *outsize, char *err, size_t errlen) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (img->channels < 1 || img->channels > 4 || (img->bit_depth != 8 && img->bit_depth != 16)) {
        snprintf(err, errlen, "cannot encode %d channels at %d bits", img->channels, img->bit_depth);
        return 1;
    }
    err_ctx e = {err, errlen};
    write_ctx w = {0};
    uint8_t *row = NULL;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e, on_error, on_warning);
    if (!png) { snprintf(err, errlen, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        free(row); free(w.buf);
        png_destroy_write_struct(&png, info ? &info : NULL);
        return 1;
    }
    png_set_write_fn(png, &w, write_fn, flush_fn);
    png_set_IHDR(png, info, img->width, img->height, img->bit_depth, types[img->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t per = (size_t)img->width * img->channels, bpv = img->bit_depth / 8;
    row = malloc(per * bpv);
    if (!row) png_error(png, "out of memory while encoding");
    for (uint32_t y = 0; y < img->height; y++) {
        const uint16_t *s = img->samples + y * per;
        for (size_t i = 0; i < per; i++) {
            if (bpv == 2) { row[2 * i] = s[i] >> 8; row[2 * i + 1] = s[i] & 0xff; } else row[i] = (uint8_t)s[i];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    free(row);
    png_destroy_write_struct(&png, &info);
    *out = w.buf;
    *outsize = w.size;
    return 0;
}

void csgis_png_free(csgis_png_image *img) { free(img->samples); img->samples = NULL; }
