#include "CDNNL.h"
#include <string.h>

int omp_get_max_threads(void);
void omp_set_num_threads(int);

#define CSGIS_WINOGRAD_IMPL "jit_wino_4x3"

// The F(4x4, 3x3) implementation by name, whatever the shape: oneDNN's own pick moves
// between its 2x3 and 4x3 kernels with the tensor's size, and their floats differ.
static dnnl_status_t pinned_winograd(dnnl_primitive_desc_t *pd, const dnnl_convolution_desc_t *cd,
                                     const_dnnl_primitive_attr_t attr, dnnl_engine_t engine) {
    dnnl_primitive_desc_iterator_t it;
    dnnl_status_t st = dnnl_primitive_desc_iterator_create(&it, cd, attr, engine, NULL);
    if (st) return st;
    *pd = NULL;
    do {
        dnnl_primitive_desc_t q = dnnl_primitive_desc_iterator_fetch(it);
        if (!q) break;
        const char *name = NULL;
        dnnl_primitive_desc_query(q, dnnl_query_impl_info_str, 0, &name);
        if (name && strstr(name, CSGIS_WINOGRAD_IMPL)) { *pd = q; break; }
        dnnl_primitive_desc_destroy(q);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
    return *pd ? dnnl_success : dnnl_unimplemented;
}

dnnl_status_t csgis_conv_create(dnnl_engine_t engine, const csgis_conv_spec *s,
                                dnnl_primitive_desc_t *pd, dnnl_primitive_t *prim) {
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_dims_t sd = {1, s->cin, s->ih, s->w}, dd = {1, s->cout, s->h, s->w};
    dnnl_dims_t wd = {s->cout, s->cin, 3, 3}, bd = {s->cout};
    dnnl_status_t st;
    dnnl_format_tag_t tag = s->block == 16 ? dnnl_nChw16c : s->block == 8 ? dnnl_nChw8c : dnnl_nhwc;
    if (s->winograd && (s->block != 16 || s->dilation != 1)) return dnnl_invalid_arguments;
    if ((st = dnnl_memory_desc_init_by_tag(&src, 4, sd, s->src_dt, tag))) return st;
    if ((st = dnnl_memory_desc_init_by_tag(&dst, 4, dd, s->dst_dt, tag))) return st;
    if ((st = dnnl_memory_desc_init_by_tag(&wei, 4, wd, s->wei_dt, dnnl_format_tag_any))) return st;
    if ((st = dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x))) return st;
    dnnl_dims_t strides = {1, 1}, dil = {s->dilation - 1, s->dilation - 1}; // 0-based dilation
    dnnl_dims_t pad = {s->pad_h, s->dilation};
    dnnl_convolution_desc_t cd;
    if ((st = dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference,
            s->winograd ? dnnl_convolution_winograd : dnnl_convolution_direct, &src, &wei, &bias, &dst, strides, dil, pad, pad))) return st;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    if ((st = dnnl_primitive_attr_create(&attr))) return st;
    dnnl_post_ops_create(&po);
    if (s->relu) dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (s->sum == 1) dnnl_post_ops_append_sum_v2(po, s->sum_scale, s->sum_dt);
    if (s->sum == 2) dnnl_post_ops_append_binary(po, dnnl_binary_add, &dst);
    dnnl_primitive_attr_set_post_ops(attr, po);
    st = s->scales ? dnnl_primitive_attr_set_output_scales(attr, s->n_scales, s->n_scales > 1 ? 1 << 1 : 0, s->scales)
                   : dnnl_success;
    if (!st && !s->winograd) st = dnnl_primitive_desc_create(pd, &cd, attr, engine, NULL);
    if (!st && s->winograd) st = pinned_winograd(pd, &cd, attr, engine);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (st) return st;
    st = dnnl_primitive_create(prim, *pd);
    if (st) { dnnl_primitive_desc_destroy(*pd); *pd = NULL; }
    return st;
}

const dnnl_memory_desc_t *csgis_conv_weights_md(const_dnnl_primitive_desc_t pd) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
}

const char *csgis_primitive_impl_name(const_dnnl_primitive_desc_t pd) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return name ? name : "unknown";
}

dnnl_status_t csgis_conv_execute(dnnl_primitive_t prim, dnnl_stream_t stream, dnnl_memory_t src,
                                 dnnl_memory_t weights, dnnl_memory_t bias, dnnl_memory_t dst,
                                 dnnl_memory_t src1) {
    // The binary post-op's operand: post-op index 1 (after the ReLU at index 0).
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights},
                               {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst},
                               {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, src1}};
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, src1 ? 5 : 4, args);
    return st ? st : dnnl_stream_wait(stream);
}

dnnl_status_t csgis_activation_memory(dnnl_engine_t engine, int h, int w, int c, dnnl_data_type_t dt,
                                      dnnl_format_tag_t tag, void *handle, dnnl_memory_t *mem) {
    dnnl_memory_desc_t md;
    dnnl_dims_t d = {1, c, h, w};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 4, d, dt, tag);
    return st ? st : dnnl_memory_create(mem, &md, engine, handle);
}

dnnl_status_t csgis_nhwc_slice_memory(dnnl_engine_t engine, int h, int w, int c, int ctotal,
                                      dnnl_data_type_t dt, void *handle, dnnl_memory_t *mem) {
    dnnl_memory_desc_t md;
    dnnl_dims_t d = {1, c, h, w};
    dnnl_dims_t strides = {(dnnl_dim_t)h * w * ctotal, 1, (dnnl_dim_t)w * ctotal, ctotal};
    dnnl_status_t st = dnnl_memory_desc_init_by_strides(&md, 4, d, dt, strides);
    return st ? st : dnnl_memory_create(mem, &md, engine, handle);
}

dnnl_status_t csgis_oihw_memory(dnnl_engine_t engine, int cout, int cin, dnnl_data_type_t dt,
                                void *handle, dnnl_memory_t *mem) {
    dnnl_memory_desc_t md;
    dnnl_dims_t d = {cout, cin, 3, 3};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 4, d, dt, dnnl_oihw);
    return st ? st : dnnl_memory_create(mem, &md, engine, handle);
}

dnnl_status_t csgis_vector_memory(dnnl_engine_t engine, int n, dnnl_data_type_t dt, void *handle,
                                  dnnl_memory_t *mem) {
    dnnl_memory_desc_t md;
    dnnl_dims_t d = {n};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 1, d, dt, dnnl_x);
    return st ? st : dnnl_memory_create(mem, &md, engine, handle);
}

dnnl_status_t csgis_owned_memory(dnnl_engine_t engine, const dnnl_memory_desc_t *md, dnnl_memory_t *mem) {
    return dnnl_memory_create(mem, md, engine, DNNL_MEMORY_ALLOCATE);
}

dnnl_status_t csgis_reorder_create(dnnl_engine_t engine, dnnl_memory_t src, dnnl_memory_t dst,
                                   dnnl_primitive_t *prim) {
    const dnnl_memory_desc_t *smd, *dmd;
    dnnl_status_t st;
    if ((st = dnnl_memory_get_memory_desc(src, &smd))) return st;
    if ((st = dnnl_memory_get_memory_desc(dst, &dmd))) return st;
    dnnl_primitive_desc_t pd;
    if ((st = dnnl_reorder_primitive_desc_create(&pd, smd, engine, dmd, engine, NULL))) return st;
    st = dnnl_primitive_create(prim, pd);
    dnnl_primitive_desc_destroy(pd);
    return st;
}

dnnl_status_t csgis_reorder_execute(dnnl_primitive_t prim, dnnl_stream_t stream, dnnl_memory_t src,
                                    dnnl_memory_t dst) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, 2, args);
    return st ? st : dnnl_stream_wait(stream);
}

dnnl_status_t csgis_blocked16_rows_memory(dnnl_engine_t engine, int total_rows, int row0, int rows, int w, int c,
                                          void *handle, dnnl_memory_t *mem) {
    dnnl_memory_desc_t whole, part;
    dnnl_dims_t d = {1, c, total_rows, w}, sd = {1, c, rows, w}, off = {0, 0, row0, 0};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&whole, 4, d, dnnl_f32, dnnl_nChw16c);
    if (!st) st = dnnl_memory_desc_init_submemory(&part, &whole, sd, off);
    return st ? st : dnnl_memory_create(mem, &part, engine, handle);
}

void csgis_blocked16_zero_rows(float *dst, int dst_rows, int row0, int rows, int w, int c) {
    for (int b = 0; b < (c + 15) / 16; b++)
        memset(dst + (((size_t)b * dst_rows + row0) * w) * 16, 0, sizeof(float) * (size_t)rows * w * 16);
}

void csgis_set_threads(int n) { if (n > 0) omp_set_num_threads(n); }
int csgis_max_threads(void) { return omp_get_max_threads(); }

int csgis_cpu_has_bf16(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

int csgis_cpu_is_amd(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("amd");
}

int csgis_cpu_has_vnni(void) {
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    return (isa & (unsigned)dnnl_cpu_isa_avx512_core_vnni) == (unsigned)dnnl_cpu_isa_avx512_core_vnni
        || (isa & (unsigned)dnnl_cpu_isa_avx2_vnni) == (unsigned)dnnl_cpu_isa_avx2_vnni;
}

const char *csgis_cpu_isa_name(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
    }
}
