#include "CPNG.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *err; size_t errlen; } err_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    err_ctx *e = (err_ctx *)png_get_error_ptr(png);
    snprintf(e->err, e->errlen, "%s", msg);
    png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/* Follows the chunk structure of the bytes handed to libpng and refuses an ancillary chunk
 * (metadata: text, ICC profile, ...) that claims more than MAX_ANCILLARY bytes, before
 * libpng allocates a buffer of that size (libpng only warns about such chunks, and then
 * allocates and reads them). Critical chunks (IDAT) may be any length: they are streamed. */
#define MAX_ANCILLARY (16u << 20)
#define CARRIED "gAMA\0cHRM\0sRGB\0iCCP\0pHYs\0tEXt\0zTXt\0iTXt\0eXIf\0bKGD\0"
#define CARRIED_COUNT 10

/* The file's colour type and bit depth, before the expansions (read_header records them:
 * png_read_update_info overwrites them in the info struct). */
typedef struct { int ctype, depth; } source_format;

/* bKGD is written in the file's sample format; the readers expand palettes to RGB and 1/2/4-bit
 * grey to 8 bits, so its data is rewritten to match (an index becomes the palette colour, a
 * low-bit grey is scaled like the samples). Returns the new length, 0 to drop a bad chunk. */
static size_t bkgd_for_output(png_structp png, png_infop info, source_format src, const png_unknown_chunk *c,
                              uint8_t out[6]) {
    if (src.ctype == PNG_COLOR_TYPE_PALETTE) {
        png_colorp pal = NULL;
        int n = 0;
        if (c->size != 1 || !png_get_PLTE(png, info, &pal, &n) || c->data[0] >= n) return 0;
        png_color p = pal[c->data[0]];
        uint8_t rgb[6] = {0, p.red, 0, p.green, 0, p.blue};
        memcpy(out, rgb, 6);
        return 6;
    }
    size_t want = (src.ctype & PNG_COLOR_MASK_COLOR) ? 6 : 2;
    if (c->size != want) return 0;
    memcpy(out, c->data, want);
    if (!(src.ctype & PNG_COLOR_MASK_COLOR) && src.depth < 8) {
        unsigned max = (1u << src.depth) - 1, v = (unsigned)c->data[0] << 8 | c->data[1];
        if (v > max) return 0;
        out[0] = 0; out[1] = (uint8_t)(v * 255 / max);
    }
    return want;
}

/* The kept chunks as one blob: per chunk its 4-byte name, a flag byte (1 = after the image
 * data), a 4-byte big-endian length and the data. NULL (and *size 0) when there are none. */
static uint8_t *collect_chunks(png_structp png, png_infop info, source_format src, size_t *size) {
    png_unknown_chunkp u = NULL;
    int n = png_get_unknown_chunks(png, info, &u);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += 9 + (memcmp(u[i].name, "bKGD", 4) == 0 ? 6 : u[i].size);
    *size = 0;
    if (n <= 0 || total == 0) return NULL;
    uint8_t *blob = malloc(total), *p = blob;
    if (!blob) return NULL;
    for (int i = 0; i < n; i++) {
        uint8_t bkgd[6];
        const uint8_t *data = u[i].data;
        size_t len = u[i].size;
        if (memcmp(u[i].name, "bKGD", 4) == 0) {
            len = bkgd_for_output(png, info, src, &u[i], bkgd);
            if (len == 0) continue;
            data = bkgd;
        }
        memcpy(p, u[i].name, 4);
        p[4] = (u[i].location & PNG_AFTER_IDAT) ? 1 : 0;
        p[5] = (uint8_t)(len >> 24); p[6] = len >> 16 & 0xff; p[7] = len >> 8 & 0xff; p[8] = len & 0xff;
        if (len) memcpy(p + 9, data, len);
        p += 9 + len;
    }
    *size = (size_t)(p - blob);
    if (*size == 0) { free(blob); return NULL; }
    return blob;
}

void csgis_png_free_chunks(uint8_t *chunks) { free(chunks); }
typedef struct { uint64_t pos, next; uint8_t hdr[8]; } chunk_guard;

static void guard_bytes(png_structp png, chunk_guard *g, const uint8_t *p, size_t n) {
    while (n > 0) {
        if (g->pos < g->next) {  /* inside a chunk's data or CRC (or the signature) */
            uint64_t skip = g->next - g->pos < n ? g->next - g->pos : n;
            g->pos += skip; p += skip; n -= (size_t)skip;
            continue;
        }
        size_t at = (size_t)(g->pos - g->next);  /* 0..7 header bytes seen */
        g->hdr[at] = *p++; n--; g->pos++;
        if (at == 7) {
            uint32_t len = (uint32_t)g->hdr[0] << 24 | g->hdr[1] << 16 | g->hdr[2] << 8 | g->hdr[3];
            int ancillary = (g->hdr[4] & 0x20) != 0;  /* lower-case first letter */
            if (ancillary && len > MAX_ANCILLARY) {
                char msg[96];
                snprintf(msg, sizeof msg, "chunk '%c%c%c%c' claims %u bytes (metadata over %u MiB is refused)",
                         g->hdr[4], g->hdr[5], g->hdr[6], g->hdr[7], len, MAX_ANCILLARY >> 20);
                png_error(png, msg);
            }
            g->next = g->pos + (uint64_t)len + 4;  /* data and CRC, then the next header */
            g->pos = g->next - ((uint64_t)len + 4);
        }
    }
}

typedef struct { const uint8_t *data; size_t size, pos; chunk_guard guard; } guarded_read_ctx;

static void read_fn(png_structp png, png_bytep out, png_size_t n) {
    guarded_read_ctx *r = (guarded_read_ctx *)png_get_io_ptr(png);
    if (r->size - r->pos < n) png_error(png, "file is truncated");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
    guard_bytes(png, &r->guard, out, n);
}

int csgis_png_is_png(const uint8_t *data, size_t size) {
    return size >= 8 && png_sig_cmp((png_const_bytep)data, 0, 8) == 0;
}

/* Reads the header into `info` (width, height, was_palette), refuses images over max_pixels
 * and sets the expansions both readers use (palette and 1/2/4-bit grey to 8 bits, tRNS to
 * alpha); returns the interlace method. Errors longjmp: call under the caller's setjmp. */
static int read_header(png_structp png, png_infop pinfo, uint64_t max_pixels, csgis_png_image *info, source_format *src) {
    err_ctx *e = (err_ctx *)png_get_error_ptr(png);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    /* A chunk claiming gigabytes (a tEXt of length 0x7fffffff, say) is refused before libpng
     * allocates it: 16 MiB holds any real ICC profile or text; at most 1000 ancillary chunks. */
    png_set_chunk_malloc_max(png, 16u << 20);
    png_set_chunk_cache_max(png, 1000);
    /* The chunks that describe the pixels and the file (colour space, ICC profile, density,
     * text, Exif) are kept as raw bytes, to be written back unchanged (libpng then does not
     * interpret them: csgis applies no colour transform, so nothing is lost). */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, (png_const_bytep)CARRIED, CARRIED_COUNT);
    png_read_info(png, pinfo);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, pinfo, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if ((uint64_t)w * h > max_pixels) {
        snprintf(e->err, e->errlen, "image is %ux%u, over the limit of %llu pixels", w, h, (unsigned long long)max_pixels);
        png_longjmp(png, 1);
    }
    info->width = w; info->height = h;
    src->ctype = ctype; src->depth = depth;
    info->was_palette = ctype == PNG_COLOR_TYPE_PALETTE;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, pinfo, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    return interlace;
}

/* libpng's big-endian 8/16-bit samples -> native uint16_t. */
static void unpack_samples(const uint8_t *raw, size_t n, int bit_depth, uint16_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = bit_depth == 16 ? (uint16_t)(raw[2 * i] << 8 | raw[2 * i + 1]) : raw[i];
}

int csgis_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, csgis_png_image *out,
                     char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!csgis_png_is_png(data, size)) { snprintf(err, errlen, "not a PNG file (bad signature)"); return 1; }
    err_ctx e = {err, errlen};
    guarded_read_ctx r = {data, size, 0, {0, 8, {0}}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, on_error, on_warning);
    if (!png) { snprintf(err, errlen, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = NULL;
    uint8_t *raw = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(rows); free(raw); free(out->samples); out->samples = NULL;
        free(out->chunks); out->chunks = NULL; out->chunks_size = 0;
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return 1;
    }
    png_set_read_fn(png, &r, read_fn);
    source_format src = {0, 0};
    read_header(png, info, max_pixels, out, &src);
    png_uint_32 w = out->width, h = out->height;
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
    png_read_end(png, info);  /* info: chunks after the image data are kept too */
    out->chunks = collect_chunks(png, info, src, &out->chunks_size);
    unpack_samples(raw, (size_t)w * h * channels, bd, out->samples);
    out->channels = channels; out->bit_depth = bd;
    free(rows); free(raw);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

static void flush_fn(png_structp png) { (void)png; }

void csgis_png_free(csgis_png_image *img) { free(img->samples); img->samples = NULL; free(img->chunks); img->chunks = NULL; img->chunks_size = 0; }

/* ---- Row streaming ----
 * Every entry point sets its own setjmp before calling libpng, so a libpng error (or a
 * failed read/write callback, turned into png_error in C) unwinds only C frames. */

struct csgis_png_reader {
    png_structp png;
    png_infop info;
    err_ctx e;
    csgis_png_read_fn read;
    void *user;
    const uint8_t *prefix;  /* bytes already taken from the input; only read during open */
    size_t nprefix, prefixpos;
    uint32_t width;
    int channels, bit_depth;
    uint8_t *raw;
    chunk_guard guard;
    source_format src;
};

static void stream_read_fn(png_structp png, png_bytep out, png_size_t n) {
    csgis_png_reader *r = (csgis_png_reader *)png_get_io_ptr(png);
    png_bytep start = out;
    size_t total = n;
    while (n > 0 && r->prefixpos < r->nprefix) { *out++ = r->prefix[r->prefixpos++]; n--; }
    while (n > 0) {
        long got = r->read(r->user, out, n);
        if (got < 0) png_error(png, "reading the input failed");
        if (got == 0) png_error(png, "file is truncated");
        out += got;
        n -= (size_t)got;
    }
    guard_bytes(png, &r->guard, start, total);
}

void csgis_png_reader_free(csgis_png_reader *r) {
    if (!r) return;
    png_destroy_read_struct(&r->png, r->info ? &r->info : NULL, NULL);
    free(r->raw);
    free(r);
}

csgis_png_reader *csgis_png_reader_open(csgis_png_read_fn read, void *user, const uint8_t *prefix, size_t nprefix,
                                        uint64_t max_pixels, csgis_png_image *info, char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    csgis_png_reader *r = calloc(1, sizeof *r);
    if (!r) { snprintf(err, errlen, "out of memory"); return NULL; }
    r->e.err = err; r->e.errlen = errlen;
    r->read = read; r->user = user; r->prefix = prefix; r->nprefix = nprefix;
    r->guard.next = 8;  /* after the signature */
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->e, on_error, on_warning);
    if (!r->png) { free(r); snprintf(err, errlen, "out of memory"); return NULL; }
    r->info = png_create_info_struct(r->png);
    if (!r->info || setjmp(png_jmpbuf(r->png))) {
        if (!r->info) snprintf(err, errlen, "out of memory");
        csgis_png_reader_free(r);
        return NULL;
    }
    png_set_read_fn(r->png, r, stream_read_fn);
    if (read_header(r->png, r->info, max_pixels, info, &r->src) != PNG_INTERLACE_NONE) {
        snprintf(err, errlen, "interlaced PNG cannot be read row by row");
        png_longjmp(r->png, 1);
    }
    png_read_update_info(r->png, r->info);
    r->width = info->width;
    r->channels = png_get_channels(r->png, r->info);
    r->bit_depth = png_get_bit_depth(r->png, r->info);
    r->raw = malloc(png_get_rowbytes(r->png, r->info));
    if (!r->raw) { snprintf(err, errlen, "out of memory for a row of %u pixels", info->width); png_longjmp(r->png, 1); }
    info->channels = r->channels; info->bit_depth = r->bit_depth;
    info->chunks = collect_chunks(r->png, r->info, r->src, &info->chunks_size);  /* those before the image data */
    return r;
}

int csgis_png_reader_row(csgis_png_reader *r, uint16_t *row, char *err, size_t errlen) {
    r->e.err = err; r->e.errlen = errlen;
    if (setjmp(png_jmpbuf(r->png))) return 1;
    png_read_row(r->png, r->raw, NULL);
    unpack_samples(r->raw, (size_t)r->width * r->channels, r->bit_depth, row);
    return 0;
}

int csgis_png_reader_end(csgis_png_reader *r, uint8_t **chunks, size_t *chunks_size, char *err, size_t errlen) {
    r->e.err = err; r->e.errlen = errlen;
    *chunks = NULL; *chunks_size = 0;
    if (setjmp(png_jmpbuf(r->png))) return 1;
    png_read_end(r->png, r->info);
    *chunks = collect_chunks(r->png, r->info, r->src, chunks_size);
    return 0;
}

struct csgis_png_writer {
    png_structp png;
    png_infop info;
    err_ctx e;
    csgis_png_write_fn write;
    void *user;
    uint32_t width;
    int channels, bit_depth;
    uint8_t *raw;
};

static void stream_write_fn(png_structp png, png_bytep d, png_size_t n) {
    csgis_png_writer *w = (csgis_png_writer *)png_get_io_ptr(png);
    if (w->write(w->user, d, n) != 0) png_error(png, "writing the output failed");
}

void csgis_png_writer_free(csgis_png_writer *w) {
    if (!w) return;
    png_destroy_write_struct(&w->png, w->info ? &w->info : NULL);
    free(w->raw);
    free(w);
}

/* Hands the kept chunks (csgis_png_image's blob) to libpng for writing, unchanged: all of
 * them when the file is opened (before or after the image data, as they were read), or at
 * the end only those after the image data that a streamed reader found late. */
static void add_chunks(csgis_png_writer *w, const uint8_t *chunks, size_t chunks_size, int late) {
    if (!chunks || chunks_size == 0) return;
    png_set_keep_unknown_chunks(w->png, PNG_HANDLE_CHUNK_ALWAYS, NULL, 0);
    size_t pos = 0;
    while (pos + 9 <= chunks_size) {
        png_unknown_chunk c;
        memset(&c, 0, sizeof c);
        memcpy(c.name, chunks + pos, 4);
        const uint8_t *q = chunks + pos + 5;
        c.size = (size_t)q[0] << 24 | (size_t)q[1] << 16 | (size_t)q[2] << 8 | q[3];
        if (pos + 9 + c.size > chunks_size) break;
        c.data = (png_bytep)(chunks + pos + 9);
        c.location = chunks[pos + 4] ? PNG_AFTER_IDAT : PNG_HAVE_IHDR;
        if (!late || chunks[pos + 4]) png_set_unknown_chunks(w->png, w->info, &c, 1);  /* copies the data */
        pos += 9 + c.size;
    }
}

csgis_png_writer *csgis_png_writer_open(csgis_png_write_fn write, void *user, uint32_t width, uint32_t height,
                                        int channels, int bit_depth, const uint8_t *chunks, size_t chunks_size,
                                        char *err, size_t errlen) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16)) {
        snprintf(err, errlen, "cannot encode %d channels at %d bits", channels, bit_depth);
        return NULL;
    }
    csgis_png_writer *w = calloc(1, sizeof *w);
    if (!w) { snprintf(err, errlen, "out of memory"); return NULL; }
    w->e.err = err; w->e.errlen = errlen;
    w->write = write; w->user = user; w->width = width; w->channels = channels; w->bit_depth = bit_depth;
    w->raw = malloc((size_t)width * channels * (bit_depth / 8));
    w->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w->e, on_error, on_warning);
    if (!w->png || !w->raw) { csgis_png_writer_free(w); snprintf(err, errlen, "out of memory"); return NULL; }
    w->info = png_create_info_struct(w->png);
    if (!w->info || setjmp(png_jmpbuf(w->png))) {
        if (!w->info) snprintf(err, errlen, "out of memory");
        csgis_png_writer_free(w);
        return NULL;
    }
    png_set_write_fn(w->png, w, stream_write_fn, flush_fn);
    png_set_IHDR(w->png, w->info, width, height, bit_depth, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    add_chunks(w, chunks, chunks_size, 0);
    png_write_info(w->png, w->info);
    return w;
}

int csgis_png_writer_row(csgis_png_writer *w, const uint16_t *row, char *err, size_t errlen) {
    w->e.err = err; w->e.errlen = errlen;
    if (setjmp(png_jmpbuf(w->png))) return 1;
    size_t n = (size_t)w->width * w->channels;
    for (size_t i = 0; i < n; i++) {
        if (w->bit_depth == 16) { w->raw[2 * i] = row[i] >> 8; w->raw[2 * i + 1] = row[i] & 0xff; }
        else w->raw[i] = (uint8_t)row[i];
    }
    png_write_row(w->png, w->raw);
    return 0;
}

int csgis_png_writer_finish(csgis_png_writer *w, const uint8_t *chunks, size_t chunks_size, char *err, size_t errlen) {
    w->e.err = err; w->e.errlen = errlen;
    if (setjmp(png_jmpbuf(w->png))) return 1;
    add_chunks(w, chunks, chunks_size, 1);
    png_write_end(w->png, w->info);  /* info: the chunks that go after the image data */
    return 0;
}
