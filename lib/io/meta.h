/* The metadata record: a text record named "meta" of key=value lines, one
 * per line, that a stream may start with (man 5 cords-stream). */
#ifndef CORDS_META_H
#define CORDS_META_H

#include "tensor.h"

/* A new empty text record called "meta". */
cords_tensor *cords_meta_new(void);
/* A new "meta" record with the lines of meta (NULL: an empty one). */
cords_tensor *cords_meta_copy(const cords_tensor *meta);
/* The value of key (malloc'd) or NULL. */
char *cords_meta_get(const cords_tensor *meta, const char *key);
/* Set or replace key in a text record (reallocates its data). */
int cords_meta_set(cords_tensor *meta, const char *key, const char *value);

/* A list value, e.g. "0.4914,0.4822,0.4465": numbers separated by commas,
 * blanks, or both ("0.5, 0.5" and "0.5 0.5" read as "0.5,0.5"). Up to max
 * finite numbers into v; the count, or -1 for an empty or malformed list or
 * one longer than max. The same syntax for list options (--norm-mean, ...). */
int cords_meta_numbers(const char *s, double *v, int max);

#endif
