/* The metadata record: a text record named "meta" of key=value lines, one
 * per line, that a stream may start with (man 5 cords-stream). */
#ifndef CORDS_META_H
#define CORDS_META_H

#include "tensor.h"

/* A new empty text record called "meta". */
cords_tensor *cords_meta_new(void);
/* The value of key (malloc'd) or NULL. */
char *cords_meta_get(const cords_tensor *meta, const char *key);
/* Set or replace key in a text record (reallocates its data). */
int cords_meta_set(cords_tensor *meta, const char *key, const char *value);

#endif
