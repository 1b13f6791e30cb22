// PNG decoding (whole images) and row streaming (reading and writing) through libpng, with libpng's longjmp-based errors
// turned into return codes and messages (Swift cannot be unwound by longjmp).
#ifndef CSGIS_CPNG_H
#define CSGIS_CPNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct csgis_png_image {
    uint32_t width, height;
    int channels;    // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
    int bit_depth;   // 8 or 16 (lower depths and palettes are expanded to 8)
    int was_palette; // the file used a palette (written back as RGB/RGBA)
    uint16_t *samples; // width*height*channels values, native order; free with csgis_png_free
    // gAMA, cHRM, sRGB, iCCP, pHYs, tEXt, zTXt, iTXt, eXIf as read and bKGD in the output's sample format, for writing back:
    // per chunk 4-byte name, 1 byte (1 = after the image data), 4-byte big-endian length,
    // data. NULL if none; freed by csgis_png_free (or csgis_png_free_chunks for a reader's).
    uint8_t *chunks;
    size_t chunks_size;
} csgis_png_image;
void csgis_png_free_chunks(uint8_t *chunks);

/// Decodes a whole PNG (any colour type, bit depth, interlacing). Returns 0 on success,
/// else non-zero with a message in err. Images over max_pixels are refused before decoding.
int csgis_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, csgis_png_image *out,
                     char *err, size_t errlen);
void csgis_png_free(csgis_png_image *img);
/// True if the data starts with the PNG signature.
int csgis_png_is_png(const uint8_t *data, size_t size);

// ---- Row streaming (bounded memory) ----
/// Reads up to `size` bytes into `buf`; returns the count (0 = end of input), or -1 on error.
typedef long (*csgis_png_read_fn)(void *user, uint8_t *buf, size_t size);
/// Writes all `size` bytes; returns 0, or non-zero on error.
typedef int (*csgis_png_write_fn)(void *user, const uint8_t *buf, size_t size);

typedef struct csgis_png_reader csgis_png_reader;
/// Starts reading a non-interlaced PNG whose first `nprefix` bytes (`prefix`, kept alive
/// for this call) were already taken from the input; fills width, height, channels,
/// bit_depth and was_palette of `info` (samples stays NULL). Returns NULL with a message
/// in err on failure (interlaced images are refused: they cannot be read row by row).
csgis_png_reader *csgis_png_reader_open(csgis_png_read_fn read, void *user, const uint8_t *prefix, size_t nprefix,
                                        uint64_t max_pixels, csgis_png_image *info, char *err, size_t errlen);
/// The next row: width*channels samples, native order. Returns 0, or non-zero with a message.
int csgis_png_reader_row(csgis_png_reader *r, uint16_t *row, char *err, size_t errlen);
/// After the last row: reads the end of the file (checking it) and returns the kept chunks,
/// those after the image data included (free with csgis_png_free_chunks). 0, or non-zero with a message.
int csgis_png_reader_end(csgis_png_reader *r, uint8_t **chunks, size_t *chunks_size, char *err, size_t errlen);
void csgis_png_reader_free(csgis_png_reader *r);

typedef struct csgis_png_writer csgis_png_writer;
/// Starts writing a non-interlaced PNG of the given layout (channels 1..4, depth 8 or 16).
/// `chunks` (chunks_size bytes, as in csgis_png_image; may be NULL) are written unchanged.
csgis_png_writer *csgis_png_writer_open(csgis_png_write_fn write, void *user, uint32_t width, uint32_t height,
                                        int channels, int bit_depth, const uint8_t *chunks, size_t chunks_size,
                                        char *err, size_t errlen);
/// Writes the next row (width*channels samples). Returns 0, or non-zero with a message.
int csgis_png_writer_row(csgis_png_writer *w, const uint16_t *row, char *err, size_t errlen);
/// Writes the end of the file after the last row, with those of `chunks` that go after the
/// image data and were not known when the writer was opened. Returns 0, or non-zero with a message.
int csgis_png_writer_finish(csgis_png_writer *w, const uint8_t *chunks, size_t chunks_size, char *err, size_t errlen);
void csgis_png_writer_free(csgis_png_writer *w);
#endif
