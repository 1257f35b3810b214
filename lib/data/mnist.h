/* MNIST-like datasets from their IDX files: locating the pair of files of a
 * split among the sources (directories or files, gzipped or not) and turning
 * them into samples (1 x 28 x 28 u8 and a label). */
#ifndef CORDS_MNIST_H
#define CORDS_MNIST_H

#include "sample.h"

#include <stddef.h>

/* Finds {train,t10k}-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz]
 * among src (directories are searched, files matched by base name).
 * Writes the paths (malloc'd) to *images and *labels. */
int cords_mnist_locate(char *const *src, int n, int split, char **images, char **labels);

/* True if a base name is one of the IDX file names above. */
int cords_mnist_name(const char *base);

/* Reads both files and emits every sample in order. Sets s->total. */
int cords_mnist_read(const char *images, const char *labels, cords_sink *s);

#endif
