/* The dataset table (dataset.h). */
#include "dataset.h"

#include "err.h"
#include "meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGENET_MEAN {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}

static const cords_dataset table[] = {
	{"mnist", 10, 1, 28, {60000, 10000}, {0.1307}, {0.3081}, "0,1,2,3,4,5,6,7,8,9"},
	{"fashion-mnist", 10, 1, 28, {60000, 10000}, {0.2860}, {0.3530},
	 "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"},
	{"cifar10", 10, 3, 32, {50000, 10000}, {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}, NULL},
	{"cifar100", 100, 3, 32, {50000, 10000}, {0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}, NULL},
	{"imagenet", 1000, 3, 0, {1281167, 50000}, IMAGENET_MEAN, NULL},
	{"folder", 0, 3, 0, {0, 0}, IMAGENET_MEAN, NULL},
	{"files", 0, 3, 0, {0, 0}, IMAGENET_MEAN, NULL},
};

const cords_dataset *cords_dataset_find(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

const char *cords_split_name(int split) { return split == CORDS_TEST ? "test" : "train"; }

int cords_split_parse(const char *s)
{
	return !strcmp(s, "train") ? CORDS_TRAIN : !strcmp(s, "test") ? CORDS_TEST : -1;
}

static void doubles_str(const double *v, int n, char *buf, size_t len)
{
	size_t o = 0;
	for (int i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%g", i ? "," : "", v[i]);
}

int cords_dataset_set_norm(const cords_dataset *d, cords_tensor *meta)
{
	char mean[96], sd[96];
	doubles_str(d->mean, d->channels, mean, sizeof mean);
	doubles_str(d->std, d->channels, sd, sizeof sd);
	return cords_meta_set(meta, CORDS_KEY_NORM_MEAN, mean) || cords_meta_set(meta, CORDS_KEY_NORM_STD, sd) ? -1 : 0;
}

cords_tensor *cords_dataset_meta(const cords_dataset *d, int split, int classes, const char *class_names,
				 int64_t count)
{
	cords_tensor *m = cords_meta_new();
	if (!m)
		return NULL;
	const char *names = class_names ? class_names : d->class_names;
	if (cords_meta_set(m, CORDS_KEY_FORMAT, "cords-samples") || cords_meta_set(m, CORDS_KEY_DATASET, d->name) ||
	    cords_meta_set(m, CORDS_KEY_SPLIT, cords_split_name(split)) ||
	    cords_meta_setf(m, CORDS_KEY_CLASSES, "%d", classes) ||
	    (names && cords_meta_set(m, CORDS_KEY_CLASS_NAMES, names)) ||
	    cords_meta_setf(m, CORDS_KEY_CHANNELS, "%d", d->channels) ||
	    (count >= 0 && cords_meta_setf(m, CORDS_KEY_COUNT, "%lld", (long long)count)) || cords_dataset_set_norm(d, m)) {
		cords_tensor_free(m);
		return NULL;
	}
	return m;
}
