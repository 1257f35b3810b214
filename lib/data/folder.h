/* Image files on disk: torchvision's ImageFolder (classes = sorted
 * sub-directory names; samples sorted by class, then by walk directory, then
 * file name; extensions .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp in
 * any case) and plain lists of files (the users' own images, label -1).
 * Samples are emitted as the files' original bytes (record `jpeg` or `png`
 * by their magic, whatever the extension); each is decoded once to check it. */
#ifndef CORDS_FOLDER_H
#define CORDS_FOLDER_H

#include "sample.h"

/* Emits the samples of an ImageFolder tree; *class_names (malloc'd,
 * comma-separated) and *nclasses are set first. */
int cords_folder_read(const char *dir, char **class_names, int *nclasses, cords_sink *s);
/* Emits files in the given order; a directory stands for its images in walk
 * order, found by extension or by content (a JPEG or PNG signature), the
 * other files named through sink->ignored. A sample's id is the path as
 * given, or, under a directory, relative to it. */
int cords_files_read(char *const *paths, int n, cords_sink *s);
/* Encoded image bytes as a sample, after checking they decode (bad ones
 * through cords_sink_bad, naming `name`). */
int cords_put_encoded(cords_sink *s, const uint8_t *buf, size_t n, const char *name, const char *id, int64_t label);
/* One image file as a sample with the given id (bad files through
 * cords_sink_bad). */
int cords_image_file(const char *path, const char *id, int64_t label, cords_sink *s);

/* "a/b", malloc'd; NULL when out of memory. */
char *cords_path_join(const char *a, const char *b);

#endif
