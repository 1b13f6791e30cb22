/*
 * csgis.h — C interface of libcsgis: structure-preserving image smoothing (CSGIS-Net).
 *
 * Objects: a csgis_model holds weights (immutable; share it between threads). A
 * csgis_context is the engine every smoothing call runs on: the model at one precision and
 * thread count, with its packed weights, primitives and row windows kept between calls.
 * Engine parameters (csgis_context_params) are fixed when the context is made; per-call
 * parameters (csgis_params: strength, memory budget, tiles, progress) go to each call.
 * Ownership: every object returned through an out-pointer belongs to the caller and is
 * released with its *_free function. Pixel buffers always belong to the caller.
 * Threads: use a context from one thread at a time (a second call while one runs, from
 * another thread or from a callback, fails with CSGIS_ERR_BUSY); make one context per
 * thread over one shared model. Messages from csgis_last_error() are per thread.
 * Callbacks: each takes the caller's `user_data` as its last argument and runs on the
 * calling thread. Cancelling has one path: the progress callback returns non-zero.
 * Errors: every function that can fail returns a csgis_status; CSGIS_OK is 0. No call
 * aborts the host: bad parameters (NaN strength, absurd thread counts or budgets), NaN
 * samples and images too large for the budget all come back as status codes.
 * Metadata: the library sees pixels only; colour profiles, text and Exif stay with the
 * caller (the csgis-smooth filter carries a PNG's chunks itself).
 *
 * Usage:
 *     csgis_model *m = NULL;
 *     csgis_context *ctx = NULL;
 *     if (csgis_model_load(NULL, &m) != CSGIS_OK ||              // NULL: the installed default
 *         csgis_context_new(m, NULL, &ctx) != CSGIS_OK) {       // NULL: default engine params
 *         fprintf(stderr, "%s\n", csgis_last_error()); ...
 *     }
 *     csgis_params p = csgis_default_params();  p.strength = 0.8f;
 *     csgis_image d = csgis_image_packed(width, height, 4, CSGIS_U8);   // RGBA: alpha is channel 3
 *     if (csgis_smooth(ctx, &p, &d, pixels, &d, pixels) != CSGIS_OK)   // in place
 *         fprintf(stderr, "%s\n", csgis_last_error());
 *     csgis_context_free(ctx);
 *     csgis_model_free(m);
 * Link: cc app.c $(pkg-config --cflags --libs csgis)
 */
#ifndef CSGIS_H
#define CSGIS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CSGIS_VERSION_MAJOR 0
#define CSGIS_VERSION_MINOR 6
#define CSGIS_VERSION_PATCH 0

/** The library's version as "MAJOR.MINOR.PATCH" (static storage). */
const char *csgis_version(void);

typedef enum csgis_status {
    CSGIS_OK = 0,
    CSGIS_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, an out-of-range option or descriptor */
    CSGIS_ERR_IO = 2,               /* a file could not be read (the model) or written (a spool) */
    CSGIS_ERR_INVALID_MODEL = 3,    /* not a valid csgis weights file */
    CSGIS_ERR_UNSUPPORTED = 4,      /* e.g. bf16 asked on a CPU without it */
    CSGIS_ERR_OUT_OF_MEMORY = 5,    /* includes a memory budget too small for the image */
    CSGIS_ERR_CANCELLED = 6,        /* the progress callback asked the run to stop */
    CSGIS_ERR_CALLBACK = 7,         /* a row callback reported failure */
    CSGIS_ERR_INTERNAL = 8,
    CSGIS_ERR_BUSY = 9              /* the context is running another call */
} csgis_status;

/** A one-line message for the last error on the calling thread ("" if none). The string
 *  belongs to the library and stays valid until the next failing call on the same thread. */
const char *csgis_last_error(void);

/** An opaque, immutable, thread-safe loaded model. */
typedef struct csgis_model csgis_model;

/** Loads weights. `model` is a path (it contains '/' or ends in ".safetensors"), a name
 *  ("base", "lite": csgis-NAME.safetensors in $CSGIS_MODEL_DIR, else in the
 *  PREFIX/share/csgis/models installed beside this library), or NULL for $CSGIS_MODEL,
 *  else "base"; "" is CSGIS_ERR_INVALID_ARGUMENT. The filter and the GIMP plug-in resolve
 *  names the same way.
 *  On success *out must be freed with csgis_model_free. */
csgis_status csgis_model_load(const char *model, csgis_model **out);
/** Releases the caller's reference (NULL is ignored); contexts keep their own. */
void csgis_model_free(csgis_model *model);

typedef struct csgis_model_info {
    int dim;              /* channels of the hidden layers */
    int num_block;        /* rHDC blocks in the descriptor */
    int receptive_radius; /* pixels of context each output pixel depends on */
    int64_t parameters;
} csgis_model_info;
csgis_status csgis_model_get_info(const csgis_model *model, csgis_model_info *info);

typedef enum csgis_precision {
    CSGIS_PRECISION_AUTO = 0, /* bf16 where the CPU computes it faster than fp32 (AMX, AMD AVX512-BF16), else fp32 */
    CSGIS_PRECISION_FP32 = 1,
    CSGIS_PRECISION_BF16 = 2,
    CSGIS_PRECISION_INT8 = 3  /* 8-bit, from the model's calibration: faster, slightly less exact;
                                 CSGIS_ERR_UNSUPPORTED for a model without one */
} csgis_precision;

/** Engine parameters, fixed for a context's life. */
typedef struct csgis_context_params {
    csgis_precision precision;
    int threads;               /* 0 = all cores */
} csgis_context_params;

/** Auto precision, all cores. */
csgis_context_params csgis_context_default_params(void);

/** An opaque engine: one model at one precision and thread count. The context keeps its
 *  own reference to the model, so csgis_model_free may come before csgis_context_free. */
typedef struct csgis_context csgis_context;

/** Makes a context for `model`; `params` NULL = csgis_context_default_params(). Fails with
 *  CSGIS_ERR_UNSUPPORTED for bf16 on a CPU without it. On success free *out with
 *  csgis_context_free. */
csgis_status csgis_context_new(const csgis_model *model, const csgis_context_params *params, csgis_context **out);
/** Frees a context (NULL is ignored); not while a call runs on it. */
void csgis_context_free(csgis_context *context);

/** The precision the context computes in: CSGIS_PRECISION_FP32, _BF16 or _INT8
 *  (auto resolved); CSGIS_PRECISION_AUTO for a NULL context. */
csgis_precision csgis_context_precision(const csgis_context *context);

/** The part of a `width` x `height` image to give a call so that its output over the
 *  rectangle (x, y, w, h) is the whole image's output there, bit for bit: the rectangle
 *  grown by the context the model reads, its origin on the grid the kernels' tiles keep,
 *  clipped to the image; written to *in_x, *in_y, *in_w, *in_h. A host smoothing a
 *  selection runs that part and keeps the rectangle's pixels. CSGIS_ERR_INVALID_ARGUMENT
 *  for a NULL argument or a rectangle that is empty or not inside the image. */
csgis_status csgis_context_input_rect(const csgis_context *context, uint32_t width, uint32_t height,
                                      uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                                      uint32_t *in_x, uint32_t *in_y, uint32_t *in_w, uint32_t *in_h);

/** Progress: fraction done in 0..1 and estimated seconds left (negative if unknown).
 *  Called as rows finish and between layers, at least every 0.1 s or so while the network
 *  runs; return non-zero to cancel: the run stops within a fraction of a second with
 *  CSGIS_ERR_CANCELLED. It is the only way to cancel. */
typedef int (*csgis_progress_fn)(float fraction, double seconds_left, void *user_data);

/** Per-call parameters. */
typedef struct csgis_params {
    float strength;             /* 0..1: output = input + strength * (smoothed - input) */
    size_t memory_budget;       /* bytes for the working set; 0 = half of available memory */
    int tile_size;              /* 0 = chosen from the budget; else square tiles of this size */
    csgis_progress_fn progress; /* optional */
    void *progress_user_data;
} csgis_params;

/** Strength 1, the default budget and tiles, no progress callback. */
csgis_params csgis_default_params(void);

typedef enum csgis_sample_type { CSGIS_U8 = 0, CSGIS_U16 = 1, CSGIS_F32 = 2 } csgis_sample_type;

/** An image in memory: interleaved channels, rows `stride` bytes apart. 1 channel is grey,
 *  3 is RGB; `alpha_channel` is the index of an alpha channel (passed through unchanged)
 *  or -1. Float samples are nominally 0..1; integers use their full range. */
typedef struct csgis_image {
    uint32_t width, height;
    uint32_t channels;        /* 1..4 */
    csgis_sample_type type;
    size_t stride;            /* bytes between rows; 0 = packed */
    int alpha_channel;        /* -1 for none */
} csgis_image;

/** A packed image of `channels` samples of `type` per pixel, with alpha where it usually
 *  is: grey+alpha (2 channels) has it in channel 1, RGBA (4) in channel 3; 1 and 3 channels
 *  have none. Set .alpha_channel = -1 for RGBX, or .stride for padded rows, afterwards. */
csgis_image csgis_image_packed(uint32_t width, uint32_t height, uint32_t channels, csgis_sample_type type);

/* Smoothing. Every call runs on a context; `params` NULL = csgis_default_params(). The
 * results depend on the model, the precision, the strength and nothing else: not on the
 * budget, the tiles, the thread count or the entry point. */

/** Smooths `src` into `dst` (same width, height, channels and alpha position; the sample
 *  type may differ), streaming over the buffers within params->memory_budget (an image too
 *  wide for it runs in full-height strips read from src and written to dst by column
 *  range). src and dst may be the same buffer: then the result is held in a copy of dst's
 *  size (counted against the budget) and written only on success, so a failure leaves the
 *  image untouched. With separate buffers parts are written as they finish: on error dst
 *  may hold part of the result; src is never written. */
csgis_status csgis_smooth(csgis_context *context, const csgis_params *params,
                          const csgis_image *src_desc, const void *src,
                          const csgis_image *dst_desc, void *dst);

/** Row callbacks for streaming: rows come and go in order, top to bottom, in the layout
 *  of `desc` (count rows, `desc->stride` bytes apart, or packed). Return 0 on success. */
typedef int (*csgis_read_rows_fn)(uint32_t first_row, uint32_t count, void *rows, void *user_data);
typedef int (*csgis_write_rows_fn)(uint32_t first_row, uint32_t count, const void *rows, void *user_data);

/** Streams an image of any size through the scheduler within params->memory_budget:
 *  memory grows with the width, never with the height. When the width does not fit the
 *  budget and full-height strips would recompute less than bands of tiles (or bands do not
 *  fit), the rows are first spooled to an unnamed temporary file in $TMPDIR (else /var/tmp,
 *  else /tmp; about the image's size in both layouts, on disk): then every row is read
 *  before the first is written, and progress spans reading, running and writing (it moves,
 *  with no time left known, while the spool fills; it reaches 1 after the last row is
 *  written; a cancel is heard in every phase). Without room there, or where it is in memory
 *  (tmpfs), bands are used. Rows already written stay written if the run fails or is
 *  cancelled. */
csgis_status csgis_smooth_stream(csgis_context *context, const csgis_params *params,
                                 const csgis_image *desc, csgis_read_rows_fn read_rows,
                                 csgis_write_rows_fn write_rows, void *user_data);

/** Region callbacks: the `width` x `height` pixels at (`x`, `y`) in the layout of `desc`
 *  (its channels and sample type), rows `stride` bytes apart in `pixels`. Return 0 on
 *  success; anything else stops the run with CSGIS_ERR_CALLBACK. */
typedef int (*csgis_read_region_fn)(uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                                    void *pixels, size_t stride, void *user_data);
typedef int (*csgis_write_region_fn)(uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                                     const void *pixels, size_t stride, void *user_data);

/** Smooths an image the caller can read and write by rectangle (a tiled buffer such as
 *  GEGL's, a memory-mapped file) within params->memory_budget: like csgis_smooth, an image
 *  too wide for the budget runs in full-height strips, with no spool file and no band of
 *  rows held. read_region may be asked for any rectangle, some more than once (context
 *  around strips; alpha again where results are written); write_region gets every pixel
 *  exactly once. What read_region returns must not change during the call: write the
 *  results elsewhere, not over the source. desc->stride is not used (each call passes its
 *  own). Callbacks run on the calling thread, one at a time. Rows already written stay
 *  written if the run fails or is cancelled. */
csgis_status csgis_smooth_regions(csgis_context *context, const csgis_params *params,
                                  const csgis_image *desc, csgis_read_region_fn read_region,
                                  csgis_write_region_fn write_region, void *user_data);

#ifdef __cplusplus
}
#endif
#endif /* CSGIS_H */
