/* JPEG and PNG decoding (decode.h). libjpeg and libpng report fatal errors
 * by longjmp; each decode has its own jump buffer, so threads are independent. */
#include "decode.h"

#include "err.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h, which it needs */
#include <jerror.h>
#include <png.h>

int cords_sniff(const uint8_t *p, size_t n)
{
	if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return CORDS_ENC_JPEG;
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return CORDS_ENC_PNG;
	return CORDS_ENC_UNKNOWN;
}

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int truncated;
} jerr_t;

static void jpeg_fail(j_common_ptr c)
{
	jerr_t *e = (jerr_t *)c->err;
	char msg[JMSG_LENGTH_MAX];
	c->err->format_message(c, msg);
	cords_err("corrupt JPEG: %s", msg);
	longjmp(e->jb, 1);
}

/* Warnings are tolerated (as PIL does), except running out of data. */
static void jpeg_note(j_common_ptr c, int level)
{
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
		((jerr_t *)c->err)->truncated = 1;
}

/* PIL: CMYK read as "CMYK;I" (Adobe inverted), then cmyk2rgb. */
static uint8_t cmyk_channel(int raw_c, int raw_k)
{
	int c = 255 - raw_c, nk = raw_k, t = c * nk + 128;
	int v = nk - (((t >> 8) + t) >> 8);
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* One interleaved row (RGB, or CMYK when cmyk) into the three planes. */
static void store_row(cords_image *im, int y, const uint8_t *row, int cmyk)
{
	size_t plane = (size_t)im->h * im->w, o = (size_t)y * im->w;
	uint8_t *restrict r = im->p + o, *restrict g = r + plane, *restrict b = g + plane;
	const int w = im->w; /* not re-read through the byte stores */
	if (cmyk) {
		for (int x = 0; x < w; x++) {
			const uint8_t *q = row + 4 * x;
			r[x] = cmyk_channel(q[0], q[3]), g[x] = cmyk_channel(q[1], q[3]), b[x] = cmyk_channel(q[2], q[3]);
		}
		return;
	}
	for (int x = 0; x < w; x++)
		r[x] = row[3 * x], g[x] = row[3 * x + 1], b[x] = row[3 * x + 2];
}

/* The largest DCT shrink (8/8 .. 1/8) keeping both sides >= 2 * min. */
static void pick_scale(struct jpeg_decompress_struct *d, int min_h, int min_w)
{
	d->scale_num = 1;
	d->scale_denom = 1;
	for (int den = 8; den > 1 && (min_h || min_w); den /= 2)
		if ((int)((d->image_width + den - 1) / den) >= 2 * min_w && (int)((d->image_height + den - 1) / den) >= 2 * min_h) {
			d->scale_denom = (unsigned)den;
			break;
		}
}

static int decode_jpeg(const uint8_t *p, size_t n, cords_image *im, int min_h, int min_w, int header_only)
{
	struct jpeg_decompress_struct d;
	jerr_t e;
	uint8_t *volatile row = NULL;
	im->p = NULL;
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = jpeg_fail;
	e.pub.emit_message = jpeg_note;
	e.truncated = 0;
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&d);
		free(row);
		cords_image_free(im);
		return -1;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, p, (unsigned long)n);
	jpeg_read_header(&d, TRUE);
	int cmyk = d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK;
	d.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	pick_scale(&d, min_h, min_w);
	if (header_only) {
		im->h = (int)d.image_height, im->w = (int)d.image_width;
		jpeg_destroy_decompress(&d);
		return 0;
	}
	jpeg_start_decompress(&d);
	if ((size_t)d.output_width * d.output_height > CORDS_DECODE_MAX_PIXELS) {
		cords_err("image too large (%ux%u)", d.output_width, d.output_height);
		longjmp(e.jb, 1);
	}
	if (cords_image_alloc(im, 3, (int)d.output_height, (int)d.output_width) ||
	    !(row = malloc((size_t)d.output_width * (size_t)d.output_components)))
		longjmp(e.jb, 1);
	while (d.output_scanline < d.output_height) {
		JSAMPROW r = row;
		int y = (int)d.output_scanline;
		jpeg_read_scanlines(&d, &r, 1);
		store_row(im, y, row, cmyk);
	}
	if (e.truncated) {
		cords_err("truncated JPEG (premature end of data)");
		longjmp(e.jb, 1);
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	free(row);
	return 0;
}

typedef struct {
	const uint8_t *p;
	size_t n, off;
} png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t k)
{
	png_src *s = png_get_io_ptr(png);
	if (k > s->n - s->off)
		png_error(png, "truncated PNG");
	memcpy(out, s->p + s->off, k);
	s->off += k;
}

static void png_fail(png_structp png, png_const_charp msg)
{
	cords_err("corrupt PNG: %s", msg);
	png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int decode_png(const uint8_t *p, size_t n, cords_image *im, int header_only)
{
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_quiet);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *volatile rows = NULL;
	png_bytep *volatile ptrs = NULL; /* not a VLA: libpng allows 10^6 rows, 8 MB of stack */
	png_src src = {p, n, 0};
	im->p = NULL;
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return cords_err("out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		free(rows);
		free(ptrs);
		cords_image_free(im);
		return -1;
	}
	png_set_read_fn(png, &src, png_read_mem);
	png_read_info(png, info);
	int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
	if (header_only) {
		im->h = h, im->w = w;
		png_destroy_read_struct(&png, &info, NULL);
		return 0;
	}
	png_set_strip_16(png);
	png_set_strip_alpha(png);
	png_set_packing(png);
	png_set_palette_to_rgb(png);
	png_set_expand_gray_1_2_4_to_8(png);
	png_set_gray_to_rgb(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t)w * 3)
		png_error(png, "unsupported pixel layout");
	if ((size_t)w * (size_t)h > CORDS_DECODE_MAX_PIXELS)
		png_error(png, "image too large");
	if (cords_image_alloc(im, 3, h, w) || !(rows = malloc((size_t)w * 3 * (size_t)h)) ||
	    !(ptrs = malloc(sizeof *ptrs * (size_t)h)))
		png_error(png, "out of memory");
	for (int y = 0; y < h; y++)
		ptrs[y] = rows + (size_t)y * w * 3;
	png_read_image(png, ptrs);
	for (int y = 0; y < h; y++)
		store_row(im, y, ptrs[y], 0);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	free(ptrs);
	return 0;
}

int cords_decode(const uint8_t *p, size_t n, cords_image *im, int min_h, int min_w)
{
	switch (cords_sniff(p, n)) {
	case CORDS_ENC_JPEG: return decode_jpeg(p, n, im, min_h, min_w, 0);
	case CORDS_ENC_PNG: return decode_png(p, n, im, 0);
	}
	return cords_err("neither JPEG nor PNG (magic %02x %02x %02x %02x)", n > 0 ? p[0] : 0, n > 1 ? p[1] : 0,
			 n > 2 ? p[2] : 0, n > 3 ? p[3] : 0);
}

int cords_decode_check(const uint8_t *p, size_t n, int *h, int *w)
{
	cords_image im = {0};
	int k = cords_sniff(p, n);
	int rc = k == CORDS_ENC_JPEG ? decode_jpeg(p, n, &im, 0, 0, 1)
		 : k == CORDS_ENC_PNG ? decode_png(p, n, &im, 1)
				      : cords_err("neither JPEG nor PNG");
	*h = im.h, *w = im.w;
	return rc;
}

int cords_item_decode(const cords_item *it, cords_image *im, int min_h, int min_w)
{
	if (it->kind != CORDS_ITEM_PIXELS)
		return cords_decode(it->data, it->n, im, min_h, min_w);
	if (cords_image_alloc(im, it->c, it->h, it->w))
		return -1;
	memcpy(im->p, it->data, it->n);
	return 0;
}
