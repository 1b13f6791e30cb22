/* GIMP 2.10 plug-in: CSGIS-Net smoothing over libcsgis.
 * Registration data (procedure, menu, parameters, defaults) comes from
 * plugin-manifest/manifest.json through the generated registration.h.
 * Pixels are read and written through GEGL by rectangle as libcsgis asks for them (full-
 * height strips when the selection is too wide for the budget), with the network's
 * receptive radius as halo around the selection, so memory stays bounded and the result
 * equals smoothing the whole drawable; the shadow buffer is merged at the end
 * (one undo step, selection respected), so a failed or cancelled run changes nothing. */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>
#include <csgis.h>
#include "registration.h"

#define PLUG_IN_BINARY "csgis-smooth"

typedef struct {
    gdouble strength;
    gchar model[1024];
    gint precision;
    gint memory_mb;
} SmoothVals;

static SmoothVals vals;

static void set_defaults(void) {
    vals.strength = CSGIS_DEFAULT_STRENGTH;
    g_strlcpy(vals.model, CSGIS_DEFAULT_MODEL, sizeof vals.model);
    vals.precision = CSGIS_DEFAULT_PRECISION;
    vals.memory_mb = CSGIS_DEFAULT_MEMORY_MB;
}


static void query(void) {
    gimp_install_procedure(CSGIS_GIMP_PROCEDURE, CSGIS_GIMP_BLURB, CSGIS_GIMP_HELP, CSGIS_GIMP_AUTHOR,
                           CSGIS_GIMP_COPYRIGHT, CSGIS_GIMP_DATE, CSGIS_GIMP_MENU_LABEL, CSGIS_GIMP_IMAGE_TYPES,
                           GIMP_PLUGIN, CSGIS_GIMP_NPARAMS, 0, csgis_gimp_params, NULL);
    gimp_plugin_menu_register(CSGIS_GIMP_PROCEDURE, CSGIS_GIMP_MENU_PATH);
}

typedef struct {
    GeglBuffer *src, *dst;
    const Babl *format;
    gint channels;
    gint ix, iy;           /* the input rectangle's origin (selection bounds + halo, clipped) */
    gint x, y, w, h;       /* output rectangle (selection bounds) */
} Regions;

static int read_region(uint32_t x, uint32_t y, uint32_t w, uint32_t h, void *pixels, size_t stride, void *user) {
    Regions *b = user;
    gegl_buffer_get(b->src, GEGL_RECTANGLE(b->ix + (gint)x, b->iy + (gint)y, (gint)w, (gint)h), 1.0, b->format, pixels,
                    (gint)stride, GEGL_ABYSS_NONE);
    return 0;
}

/* Only the selection's bounds are written: the halo around them was context. */
static int write_region(uint32_t x, uint32_t y, uint32_t w, uint32_t h, const void *pixels, size_t stride, void *user) {
    Regions *b = user;
    GeglRectangle r = {b->ix + (gint)x, b->iy + (gint)y, (gint)w, (gint)h}, sel = {b->x, b->y, b->w, b->h}, o;
    if (!gegl_rectangle_intersect(&o, &r, &sel)) return 0;
    const guchar *p = (const guchar *)pixels + (gsize)(o.y - r.y) * stride + (gsize)(o.x - r.x) * b->channels * sizeof(gfloat);
    gegl_buffer_set(b->dst, &o, 0, b->format, p, (gint)stride);
    return 0;
}

static int on_progress(float fraction, double seconds_left, void *user) {
    (void)seconds_left; (void)user;
    gimp_progress_update(fraction);
    return 0;
}

static csgis_params params_from(const SmoothVals *v) {
    csgis_params p = csgis_default_params();
    p.strength = (float)v->strength;
    p.memory_budget = (size_t)v->memory_mb << 20;
    return p;
}

/* Smooths the selected part of the drawable; returns NULL or an error message to free. */
static gchar *smooth_drawable(gint32 image, gint32 drawable, const SmoothVals *v, gboolean show_progress) {
    gint x, y, w, h;
    /* strength 0 too goes to the library, whose planner copies the pixels through */
    if (!gimp_drawable_mask_intersect(drawable, &x, &y, &w, &h)) return NULL;
    csgis_model *model = NULL;  /* libcsgis resolves "base", "lite" or a path */
    csgis_context *ctx = NULL;
    csgis_context_params cp = csgis_context_default_params();
    cp.precision = (csgis_precision)v->precision;
    /* an empty model argument (a script's "") asks for the default, as NULL does */
    if (csgis_model_load(v->model[0] ? v->model : NULL, &model) != CSGIS_OK || csgis_context_new(model, &cp, &ctx) != CSGIS_OK) {
        csgis_model_free(model);
        return g_strdup(csgis_last_error());
    }
    gint W = gimp_drawable_width(drawable), H = gimp_drawable_height(drawable);
    gboolean grey = gimp_drawable_is_gray(drawable);
    Regions b;
    b.format = babl_format(grey ? "Y'A float" : "R'G'B'A float");
    b.channels = grey ? 2 : 4;
    /* the selection's bounds grown by the context the model reads, on its kernels' grid:
       the selection then gets exactly the whole layer's result */
    uint32_t rx, ry, rw, rh;
    if (csgis_context_input_rect(ctx, (uint32_t)W, (uint32_t)H, (uint32_t)x, (uint32_t)y, (uint32_t)w, (uint32_t)h, &rx, &ry, &rw, &rh) != CSGIS_OK) {
        gchar *e = g_strdup(csgis_last_error());
        csgis_context_free(ctx);
        csgis_model_free(model);
        return e;
    }
    b.ix = (gint)rx; b.iy = (gint)ry;
    gint iw = (gint)rw, ih = (gint)rh;
    b.x = x; b.y = y; b.w = w; b.h = h;
    b.src = gimp_drawable_get_buffer(drawable);
    b.dst = gimp_drawable_get_shadow_buffer(drawable);
    csgis_params o = params_from(v);
    if (show_progress) {
        gimp_progress_init("CSGIS smoothing");
        o.progress = on_progress;
    }
    csgis_image desc = csgis_image_packed((uint32_t)iw, (uint32_t)ih, (uint32_t)b.channels, CSGIS_F32); /* alpha last */
    /* GEGL's buffers are read and written by rectangle: a wide selection runs in strips
       straight from and to them, with no spool file */
    csgis_status st = csgis_smooth_regions(ctx, &o, &desc, read_region, write_region, &b);
    gchar *err = NULL;
    if (st == CSGIS_OK) {
        gegl_buffer_flush(b.dst);
        gimp_image_undo_group_start(image);
        gimp_drawable_merge_shadow(drawable, TRUE);
        gimp_drawable_update(drawable, x, y, w, h);
        gimp_image_undo_group_end(image);
    } else {
        err = g_strdup_printf("CSGIS smoothing failed: %s", csgis_last_error());
    }
    g_object_unref(b.src);
    g_object_unref(b.dst);
    csgis_context_free(ctx);
    csgis_model_free(model);
    if (show_progress) gimp_progress_update(1.0);
    return err;
}

/* ---- dialog with live preview (the lite model keeps it fast) ---- */

static GtkWidget *preview_widget;
static gint32 preview_drawable;
static csgis_model *preview_model;
static csgis_context *preview_context; /* kept across redraws: no weight packing per redraw */

static void render_preview(GimpPreview *preview) {
    gint px, py, pw, ph;
    gimp_preview_get_position(preview, &px, &py);
    gimp_preview_get_size(preview, &pw, &ph);
    gint W = gimp_drawable_width(preview_drawable), H = gimp_drawable_height(preview_drawable);
    GeglBuffer *src = gimp_drawable_get_buffer(preview_drawable);
    const Babl *f = babl_format("R'G'B'A float");
    /* the preview's area and the context it needs (the whole layer's result there) */
    uint32_t rx = (uint32_t)px, ry = (uint32_t)py, rw = (uint32_t)pw, rh = (uint32_t)ph;
    if (preview_context) csgis_context_input_rect(preview_context, (uint32_t)W, (uint32_t)H, (uint32_t)px, (uint32_t)py, (uint32_t)pw, (uint32_t)ph, &rx, &ry, &rw, &rh);
    gint ix = (gint)rx, iy = (gint)ry, iw = (gint)rw, ih = (gint)rh;
    gfloat *in = g_new(gfloat, (gsize)iw * ih * 4);
    gegl_buffer_get(src, GEGL_RECTANGLE(ix, iy, iw, ih), 1.0, f, in, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    g_object_unref(src);
    /* without a preview model the preview shows the layer as it is */
    csgis_status st = CSGIS_ERR_INVALID_ARGUMENT;
    if (preview_context) {
        csgis_params o = params_from(&vals); /* the preview's context runs at auto precision */
        csgis_image d = csgis_image_packed((uint32_t)iw, (uint32_t)ih, 4, CSGIS_F32);
        st = csgis_smooth(preview_context, &o, &d, in, &d, in);
    }
    if (g_getenv("CSGIS_DEBUG"))
        g_printerr("csgis preview: %dx%d at %d,%d, status %d%s%s\n", pw, ph, px, py, (int)st, st ? ": " : "", st ? csgis_last_error() : "");
    /* crop to the preview and convert to the drawable's 8-bit layout for drawing */
    gboolean grey = gimp_drawable_is_gray(preview_drawable), alpha = gimp_drawable_has_alpha(preview_drawable);
    const Babl *shown = babl_format(grey ? (alpha ? "Y'A u8" : "Y' u8") : (alpha ? "R'G'B'A u8" : "R'G'B' u8"));
    gint bpp = babl_format_get_bytes_per_pixel(shown);
    gfloat *crop = g_new(gfloat, (gsize)pw * ph * 4);
    for (gint yy = 0; yy < ph; yy++)
        memcpy(crop + (gsize)yy * pw * 4, in + ((gsize)(yy + py - iy) * iw + (px - ix)) * 4, (gsize)pw * 4 * sizeof(gfloat));
    guchar *out = g_new(guchar, (gsize)pw * ph * bpp);
    babl_process(babl_fish(f, shown), crop, out, (long)pw * ph);
    gimp_preview_draw_buffer(preview, out, pw * bpp);
    g_free(crop);
    g_free(in);
    g_free(out);
}

static void on_model_changed(GtkComboBox *combo, gpointer data) {
    (void)data;
    gchar *m = gtk_combo_box_text_get_active_text(GTK_COMBO_BOX_TEXT(combo));
    if (m) { g_strlcpy(vals.model, m, sizeof vals.model); g_free(m); }
}

static gboolean dialog(gint32 drawable) {
    gimp_ui_init(PLUG_IN_BINARY, FALSE);
    GtkWidget *dlg = gimp_dialog_new("CSGIS Smooth", PLUG_IN_BINARY, NULL, 0, gimp_standard_help_func, CSGIS_GIMP_PROCEDURE,
                                     "_Cancel", GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
    gtk_container_set_border_width(GTK_CONTAINER(box), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dlg))), box, TRUE, TRUE, 0);

    preview_drawable = drawable;
    if (csgis_model_load(CSGIS_GIMP_PREVIEW_MODEL, &preview_model) != CSGIS_OK) preview_model = NULL;
    if (!preview_model || csgis_context_new(preview_model, NULL, &preview_context) != CSGIS_OK) preview_context = NULL;
    preview_widget = gimp_drawable_preview_new_from_drawable_id(drawable);
    gtk_box_pack_start(GTK_BOX(box), preview_widget, TRUE, TRUE, 0);
    g_signal_connect(preview_widget, "invalidated", G_CALLBACK(render_preview), NULL);

    GtkWidget *table = gtk_table_new(3, 3, FALSE);
    gtk_table_set_col_spacings(GTK_TABLE(table), 6);
    gtk_box_pack_start(GTK_BOX(box), table, FALSE, FALSE, 0);
    GtkObject *adj = gimp_scale_entry_new(GTK_TABLE(table), 0, 0, "_Strength:", 200, 6, vals.strength,
                                          CSGIS_MIN_STRENGTH, CSGIS_MAX_STRENGTH, 0.01, 0.1, 2, TRUE, 0, 0, NULL, NULL);
    g_signal_connect(adj, "value-changed", G_CALLBACK(gimp_double_adjustment_update), &vals.strength);
    g_signal_connect_swapped(adj, "value-changed", G_CALLBACK(gimp_preview_invalidate), preview_widget);

    GtkWidget *model = gtk_combo_box_text_new_with_entry();
    gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(model), "base");
    gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(model), "lite");
    gtk_entry_set_text(GTK_ENTRY(gtk_bin_get_child(GTK_BIN(model))), vals.model);
    g_signal_connect(model, "changed", G_CALLBACK(on_model_changed), NULL);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 1, "_Model:", 0.0, 0.5, model, 2, FALSE);

    GtkWidget *prec = gimp_int_combo_box_new("Auto", 0, "FP32", 1, "BF16", 2, "INT8 (faster)", 3, NULL);
    gimp_int_combo_box_connect(GIMP_INT_COMBO_BOX(prec), vals.precision, G_CALLBACK(gimp_int_combo_box_get_active), &vals.precision);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, 2, "_Precision:", 0.0, 0.5, prec, 2, FALSE);

    gtk_widget_show_all(dlg);
    gboolean ok = gimp_dialog_run(GIMP_DIALOG(dlg)) == GTK_RESPONSE_OK;
    gtk_widget_destroy(dlg);
    csgis_context_free(preview_context);
    preview_context = NULL;
    if (preview_model) csgis_model_free(preview_model);
    preview_model = NULL;
    return ok;
}

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals, GimpParam **return_vals) {
    static GimpParam values[2];
    (void)name;
    *nreturn_vals = 1;
    *return_vals = values;
    values[0].type = GIMP_PDB_STATUS;
    values[0].data.d_status = GIMP_PDB_SUCCESS;
    GimpRunMode mode = param[CSGIS_PARAM_RUN_MODE].data.d_int32;
    gint32 image = param[CSGIS_PARAM_IMAGE].data.d_image, drawable = param[CSGIS_PARAM_DRAWABLE].data.d_drawable;
    gegl_init(NULL, NULL);
    set_defaults();
    switch (mode) {
    case GIMP_RUN_INTERACTIVE:
        gimp_get_data(CSGIS_GIMP_PROCEDURE, &vals);
        if (!dialog(drawable)) { values[0].data.d_status = GIMP_PDB_CANCEL; return; }
        break;
    case GIMP_RUN_NONINTERACTIVE:
        if (nparams != CSGIS_GIMP_NPARAMS) { values[0].data.d_status = GIMP_PDB_CALLING_ERROR; return; }
        vals.strength = param[CSGIS_PARAM_STRENGTH].data.d_float;
        g_strlcpy(vals.model, param[CSGIS_PARAM_MODEL].data.d_string ? param[CSGIS_PARAM_MODEL].data.d_string : CSGIS_DEFAULT_MODEL, sizeof vals.model);
        vals.precision = param[CSGIS_PARAM_PRECISION].data.d_int32;
        vals.memory_mb = param[CSGIS_PARAM_MEMORY_MB].data.d_int32;
        if (vals.strength < CSGIS_MIN_STRENGTH || vals.strength > CSGIS_MAX_STRENGTH || vals.precision < CSGIS_MIN_PRECISION ||
            vals.precision > CSGIS_MAX_PRECISION || vals.memory_mb < CSGIS_MIN_MEMORY_MB) {
            values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
            return;
        }
        break;
    default:
        gimp_get_data(CSGIS_GIMP_PROCEDURE, &vals);
    }
    gchar *err = smooth_drawable(image, drawable, &vals, TRUE);
    if (err) {
        values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
        values[1].type = GIMP_PDB_STRING;
        values[1].data.d_string = err;
        *nreturn_vals = 2;
        return;
    }
    if (mode != GIMP_RUN_NONINTERACTIVE) gimp_displays_flush();
    if (mode == GIMP_RUN_INTERACTIVE) gimp_set_data(CSGIS_GIMP_PROCEDURE, &vals, sizeof vals);
}

const GimpPlugInInfo PLUG_IN_INFO = {NULL, NULL, query, run};

MAIN()
