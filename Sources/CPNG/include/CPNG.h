// PNG decoding and encoding in memory through libpng, with libpng's longjmp-based errors
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
} csgis_png_image;

/// Decodes a whole PNG (any colour type, bit depth, interlacing). Returns 0 on success,
/// else non-zero with a message in err. Images over max_pixels are refused before decoding.
int csgis_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, csgis_png_image *out,
                     char *err, size_t errlen);
/// Encodes samples as PNG into a malloc'd buffer (*out, *outsize); free with free().
int csgis_png_encode(const csgis_png_image *img, uint8_t **out, size_t *outsize, char *err, size_t errlen);
void csgis_png_free(csgis_png_image *img);
/// True if the data starts with the PNG signature.
int csgis_png_is_png(const uint8_t *data, size_t size);
#endif
