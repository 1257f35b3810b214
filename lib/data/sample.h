/* One labelled sample as the dataset readers hand it out, and the sink they
 * hand it to. A sample is either decoded pixels (u8, C x H x W planar) or the
 * original bytes of an encoded image (JPEG/PNG) to be decoded later. Readers
 * call sink->put for every good sample in the source's order; a bad item
 * (label out of range, corrupt image) is an error naming it, or, when
 * skip_bad is set, reported through sink->bad and counted. */
#ifndef CORDS_SAMPLE_H
#define CORDS_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	int64_t label;
	int c, h, w;           /* pixels: c x h x w u8, planar */
	const uint8_t *pix;
	const uint8_t *enc;    /* or encoded bytes (pix == NULL) */
	size_t enc_n;
	const char *enc_kind;  /* "jpeg" or "png" */
	const char *name;      /* item name for messages, may be NULL */
	const char *id;        /* its source name in the stream (names record), NULL: name */
} cords_sample;

typedef struct cords_sink {
	int (*put)(struct cords_sink *s, const cords_sample *x); /* 0 or -1 */
	void (*bad)(struct cords_sink *s, const char *msg);     /* a skipped item */
	void (*ignored)(struct cords_sink *s, const char *msg); /* a file that is no item (not an image) */
	int classes;         /* labels must lie in [0, classes) when > 0 */
	int skip_bad;
	int64_t total;       /* set by a reader that knows the count up front, else -1 */
	int64_t done, skipped, ignored_n;
} cords_sink;

/* Passes a good sample on, or handles a bad one: returns -1 with the message
 * set unless skip_bad, in which case the message goes to sink->bad. */
int cords_sink_put(cords_sink *s, const cords_sample *x);
/* A file that is not a sample at all (not an image): counted, and named
 * through sink->ignored. */
void cords_sink_ignore(cords_sink *s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int cords_sink_bad(cords_sink *s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

#endif
