/* Small helpers over libarchive for the dataset readers: open a (possibly
 * compressed) tar, and read one small member whole. */
#ifndef CORDS_TARFILE_H
#define CORDS_TARFILE_H

#include <stddef.h>
#include <stdint.h>

struct archive;

/* A reader for path (any compression libarchive knows); NULL with a message. */
struct archive *cords_tar_open(const char *path);
/* The member whose base name is `base`, whole, NUL-terminated (malloc'd). */
int cords_tar_member(const char *path, const char *base, uint8_t **data, size_t *n);
/* Reads the current entry's data whole into *buf (grown as needed, cap in *cap). */
int cords_tar_read_entry(struct archive *a, const char *what, uint8_t **buf, size_t *cap, size_t *n);
const char *cords_base_name(const char *path);

#endif
