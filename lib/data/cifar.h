/* CIFAR-10 and CIFAR-100 from the binary (preferred) or python tarballs (cifar-10-binary.tar.gz,
 * cifar-100-binary.tar.gz), read with libarchive without extracting:
 * records of 1 label byte (CIFAR-10) or coarse + fine label bytes
 * (CIFAR-100), then 3 x 32 x 32 planar pixels; class names from
 * batches.meta.txt / fine_label_names.txt / coarse_label_names.txt. */
#ifndef CORDS_CIFAR_H
#define CORDS_CIFAR_H

#include "sample.h"

/* True if the base name looks like a CIFAR binary tarball; *c100 set for CIFAR-100. */
int cords_cifar_name(const char *base, int *c100);

/* The class names (comma-separated, malloc'd) of the archive. coarse: the
 * CIFAR-100 superclasses. */
char *cords_cifar_classes(const char *tarball, int c100, int coarse);

/* Emits the split's samples in torchvision's order (data_batch_1..5, test_batch). */
int cords_cifar_read(const char *tarball, int c100, int split, int coarse, cords_sink *s);

/* The python tarballs (cifar-10-python.tar.gz, cifar-100-python.tar.gz):
 * pickles read by the whitelist unpickler (pickle.h), same samples, same order.
 * Each member is read whole (30 MB a CIFAR-10 batch, 150 MB CIFAR-100 train). */
int cords_cifar_py_name(const char *base, int *c100);
char *cords_cifar_py_classes(const char *tarball, int c100, int coarse);
int cords_cifar_py_read(const char *tarball, int c100, int split, int coarse, cords_sink *s);

#endif
