/* The `names` record (man 5 cords-stream): a text record holding the source
 * name of each sample of the data record that follows it (a batch x, an
 * encoded image, logits), one name a line, each line ended by '\n'. A
 * source name is a file's path relative to the folder given, an archive
 * member, or a sample's index in its dataset split. Tools pass it on from
 * cords-unpack through cords-prep and cords-infer; cords-cat exports it as
 * the `stimulus` coordinate. */
#ifndef CORDS_NAMES_H
#define CORDS_NAMES_H

#include "bytebuf.h"
#include "stream.h"

#define CORDS_RECORD_NAMES "names"

/* Appends one name and its '\n' (a newline or CR in it becomes '?', so a
 * line is always one name). */
void cords_names_add(cords_bytebuf *b, const char *name);
/* Writes b as a `names` record and empties it (nothing when b is empty). */
int cords_names_write(cords_writer *w, cords_bytebuf *b);
/* The number of names (lines) in text[0..n). */
int64_t cords_names_count(const char *text, size_t n);

#endif
