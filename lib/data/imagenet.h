/* ImageNet ILSVRC2012 as distributed, read in one pass without extraction:
 * ILSVRC2012_img_train.tar (a tar of per-class tars <WNID>.tar, each read by
 * a second libarchive reader whose input is the outer archive's data) and
 * ILSVRC2012_img_val.tar with labels from the devkit tarball
 * (data/ILSVRC2012_validation_ground_truth.txt, data/meta.mat). Class index =
 * rank of the WNID among the sorted WNIDs (torchvision's ImageFolder order).
 * Images are passed on as their original bytes (checked by a cheap decode). */
#ifndef CORDS_IMAGENET_H
#define CORDS_IMAGENET_H

#include "sample.h"

/* Train: *class_names (comma-separated WNIDs, malloc'd) and s->classes are
 * set from a first pass over the outer headers; samples in archive order. */
int cords_imagenet_train(const char *tar, char **class_names, cords_sink *s);
/* Val: samples in archive order, label from the number in each file name. */
int cords_imagenet_val(const char *tar, const char *devkit, char **class_names, cords_sink *s);
/* 1 for ILSVRC2012 archive names (train, val or devkit). */
int cords_imagenet_name(const char *base);

#endif
