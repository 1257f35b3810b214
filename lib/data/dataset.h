/* What we know about each dataset (cords-data(7)): classes, channels, native size,
 * split counts, normalisation, class names, and the `meta` record a sample
 * stream starts with (format=cords-samples; its keys are meta.h's). */
#ifndef CORDS_DATASET_H
#define CORDS_DATASET_H

#include "tensor.h"

#include <stdint.h>

typedef struct {
	const char *name;
	int classes, channels, size; /* size 0: images of any size */
	int64_t count[2];            /* train, test; 0 = not fixed */
	double mean[3], std[3];      /* per channel (channels entries) */
	const char *class_names;     /* comma-separated, or NULL (from the source) */
} cords_dataset;

enum { CORDS_TRAIN = 0, CORDS_TEST = 1 };

/* mnist fashion-mnist cifar10 cifar100 imagenet folder files; NULL if unknown. */
const cords_dataset *cords_dataset_find(const char *name);
const char *cords_split_name(int split);
int cords_split_parse(const char *s); /* -1 if neither train nor test */

/* Fills a new `meta` text record for a sample stream. class_names may be NULL
 * (the dataset's own), count < 0 leaves it out. */
cords_tensor *cords_dataset_meta(const cords_dataset *d, int split, int classes, const char *class_names,
				 int64_t count);

/* Sets norm_mean and norm_std (one value per channel) in a meta record. */
int cords_dataset_set_norm(const cords_dataset *d, cords_tensor *meta);

#endif
