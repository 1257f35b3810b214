/* Just enough of MATLAB's level-5 MAT format to read the ImageNet devkit's
 * meta.mat: compressed (zlib) and plain elements, numeric, char, cell and
 * struct arrays. Only reading; no sparse, complex or object arrays. */
#ifndef CORDS_MATFILE_H
#define CORDS_MATFILE_H

#include <stddef.h>
#include <stdint.h>

/* ImageNet synsets: for every element of the struct array `synsets`, its
 * ILSVRC2012_ID, WNID and num_children, in file order. */
typedef struct {
	int id, num_children;
	char wnid[16];
} cords_synset;

/* Parses meta.mat (whole file in memory); *out is malloc'd. Returns the count or -1. */
int cords_mat_synsets(const uint8_t *p, size_t n, const char *name, cords_synset **out);

#endif
