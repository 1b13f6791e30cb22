// A thin C layer over oneDNN's C API for the Swift core: builds the few descriptors the
// engine needs (oneDNN takes C arrays and macros that Swift imports awkwardly) and names
// the run-time CPU and thread controls. No policy lives here; the Swift core decides.
#ifndef CSGIS_CDNNL_H
#define CSGIS_CDNNL_H

#include <oneapi/dnnl/dnnl.h>
#include <stddef.h>
#include <stdint.h>

// Internal to libcsgis and the tools: not exported from the shared library.
#define CSGIS_INTERNAL __attribute__((visibility("hidden")))

/// One 3x3, stride-1 convolution to an NHWC (or, with `block`, nChw8c or nChw16c) output of h x w: zero-padded ("same") left and
/// right; vertically padded by `pad_h` rows from an input of `ih` rows (ih = h, pad_h =
/// dilation for a whole image; ih = h + 2 * dilation, pad_h = 0 for a block of rows whose
/// neighbours, or zero rows at the image's edge, are present in the input).
typedef struct csgis_conv_spec {
    int h, w, cin, cout, dilation;
    int ih, pad_h;
    dnnl_data_type_t src_dt, wei_dt, dst_dt; // bias is always f32
    int relu;  // fused ReLU post-op
    int sum;   // 1 = "sum" post-op (dst = result + sum_scale * dst); 2 = "binary add" post-op
               // after the ReLU, reading src1 (never dst itself: AVX2 kernels keep partial sums in dst)
    float sum_scale;
    dnnl_data_type_t sum_dt;  // how dst's earlier contents are read (u8 or s8 into an s8 dst); undef: as dst
    // int8: per output channel, dst = scales[oc] * (sum of products + bias); NULL: none
    const float *scales;
    int n_scales;
    // 8: source, destination and src1 in nChw8c (channels in blocks of 8, zero-padded), AVX2's
    // native fp32 layout; 16: nChw16c; 0: NHWC. oneDNN 2.6 has jit kernels only when both sides agree.
    int block;
    // 1: Winograd F(4x4, 3x3), pinned to oneDNN's jit_wino_4x3 (fp32, AVX-512, dilation 1,
    // block 16); dnnl_unimplemented where it does not exist.
    int winograd;
} csgis_conv_spec;

/// Creates the primitive descriptor and primitive; weights layout is left to oneDNN.
CSGIS_INTERNAL dnnl_status_t csgis_conv_create(dnnl_engine_t engine, const csgis_conv_spec *spec,
                                dnnl_primitive_desc_t *pd, dnnl_primitive_t *prim);
CSGIS_INTERNAL const dnnl_memory_desc_t *csgis_conv_weights_md(const_dnnl_primitive_desc_t pd);
CSGIS_INTERNAL const char *csgis_primitive_impl_name(const_dnnl_primitive_desc_t pd);
/// `src1` is the binary post-op's operand (NULL unless spec.sum == 2).
CSGIS_INTERNAL dnnl_status_t csgis_conv_execute(dnnl_primitive_t prim, dnnl_stream_t stream, dnnl_memory_t src,
                                 dnnl_memory_t weights, dnnl_memory_t bias, dnnl_memory_t dst,
                                 dnnl_memory_t src1);

/// Dense activation memory (n = 1) in layout `tag` (dnnl_nhwc or dnnl_nChw8c) over
/// caller-owned storage (nChw8c: ceil(c / 8) * 8 * h * w elements).
CSGIS_INTERNAL dnnl_status_t csgis_activation_memory(dnnl_engine_t engine, int h, int w, int c, dnnl_data_type_t dt,
                                dnnl_format_tag_t tag, void *handle, dnnl_memory_t *mem);
/// A channel slice of an NHWC buffer with `ctotal` channels: `handle` points at the slice's
/// first channel of pixel 0; `c` channels are viewed with a pixel stride of `ctotal`.
CSGIS_INTERNAL dnnl_status_t csgis_nhwc_slice_memory(dnnl_engine_t engine, int h, int w, int c, int ctotal,
                                      dnnl_data_type_t dt, void *handle, dnnl_memory_t *mem);
/// PyTorch-layout (OIHW) 3x3 weights over caller-owned storage.
CSGIS_INTERNAL dnnl_status_t csgis_oihw_memory(dnnl_engine_t engine, int cout, int cin, dnnl_data_type_t dt,
                                void *handle, dnnl_memory_t *mem);
CSGIS_INTERNAL dnnl_status_t csgis_vector_memory(dnnl_engine_t engine, int n, dnnl_data_type_t dt, void *handle,
                                  dnnl_memory_t *mem);
/// Memory owned by oneDNN for the given descriptor.
CSGIS_INTERNAL dnnl_status_t csgis_owned_memory(dnnl_engine_t engine, const dnnl_memory_desc_t *md, dnnl_memory_t *mem);

/// A reorder (layout and/or type conversion) from src's descriptor to dst's.
CSGIS_INTERNAL dnnl_status_t csgis_reorder_create(dnnl_engine_t engine, dnnl_memory_t src, dnnl_memory_t dst,
                                   dnnl_primitive_t *prim);
CSGIS_INTERNAL dnnl_status_t csgis_reorder_execute(dnnl_primitive_t prim, dnnl_stream_t stream, dnnl_memory_t src,
                                    dnnl_memory_t dst);

/// Rows [row0, row0 + rows) of an fp32 nChw16c buffer of `total_rows` rows, `w` wide, `c`
/// channels, as memory of their own (a reorder's source or destination).
CSGIS_INTERNAL dnnl_status_t csgis_blocked16_rows_memory(dnnl_engine_t engine, int total_rows, int row0, int rows, int w, int c,
                                          void *handle, dnnl_memory_t *mem);
/// Zeroes rows [row0, row0 + rows) of an nChw16c buffer of `dst_rows` rows.
CSGIS_INTERNAL void csgis_blocked16_zero_rows(float *dst, int dst_rows, int row0, int rows, int w, int c);
/// OpenMP threads used by oneDNN calls made from the calling thread.
CSGIS_INTERNAL void csgis_set_threads(int n);
CSGIS_INTERNAL int csgis_max_threads(void);
/// 1 when the CPU has native bf16 dot products (AVX512-BF16 or AMX), else 0.
CSGIS_INTERNAL int csgis_cpu_has_bf16(void);
/// Whether the CPU is AMD's (its AVX512-BF16 runs bf16 at twice fp32's rate; Intel's without AMX does not).
CSGIS_INTERNAL int csgis_cpu_is_amd(void);
/// 1 when oneDNN's int8 kernels multiply 8-bit values exactly (AVX512-VNNI, AVX-VNNI, AMX), else 0.
CSGIS_INTERNAL int csgis_cpu_has_vnni(void);
/// oneDNN's name for the instruction set it dispatches to.
CSGIS_INTERNAL const char *csgis_cpu_isa_name(void);

/// Winograd F(2x2, 3x3) (winograd2.c): one 3x3 convolution of any dilation on AVX2 + FMA
/// (its products on AVX-512 where the CPU has it) over activations in blocks of 8 channels
/// (NHWC with C % 8 == 0, or nChw8c), given by strides in elements: row, pixel and 8-channel
/// block. fp32, or with `bf16` set bf16 src, dst and residual (AVX512-BF16; `u` then packed
/// by csgis_wino2_pack_bf16). Output rows [row0, row1) in the plan's coordinates (tiles start
/// on even multiples of the dilation there); `src` holds rows [src_y0, src_y1), anything
/// outside them or outside [0, width) reads as zero.
/// dst = relu?(conv + bias) (+ dst if post == 1, + residual if post == 2, after the ReLU).
typedef struct csgis_wino2_args {
    int width, cin, cout, dilation;
    int row0, row1;
    const void *src; int src_y0, src_y1; long src_rstride, src_pstride, src_cbstride;  // src: row src_y0
    void *dst; long dst_rstride, dst_pstride, dst_cbstride;                          // dst: row row0
    const void *residual;   // dst's strides
    const void *u;          // csgis_wino2_transform_weights (fp32) or csgis_wino2_pack_bf16 of it
    const float *bias;
    int relu, post, bf16;
} csgis_wino2_args;
/// Whether the CPU has AVX2 and FMA.
CSGIS_INTERNAL int csgis_wino2_supported(void);
/// Whether it also has AVX512-BF16 (and VL): the bf16 form.
CSGIS_INTERNAL int csgis_wino2_bf16_supported(void);
/// The transformed fp32 weights as bf16 pairs of input channels (16 x cin x cout halves).
CSGIS_INTERNAL void csgis_wino2_pack_bf16(const float *u, int cin, int cout, uint16_t *ub);
/// Whether its products run on AVX-512 (the CPU and oneDNN's level have it; else AVX2: the same floats); CSGIS_WINO2_ISA=avx2 forces AVX2.
CSGIS_INTERNAL int csgis_wino2_avx512(void);
/// OIHW weights -> the 16 x cin x cout transformed weights `u`.
CSGIS_INTERNAL void csgis_wino2_transform_weights(const float *w, int cin, int cout, float *u);
/// Runs on `threads` OpenMP threads (0: the default); 0 on success, 1 bad arguments, 2 out of memory.
CSGIS_INTERNAL int csgis_wino2_run(const csgis_wino2_args *a, int threads);
/// Scratch bytes each thread allocates while it runs.
CSGIS_INTERNAL size_t csgis_wino2_scratch_bytes(int cin, int cout);

#endif
