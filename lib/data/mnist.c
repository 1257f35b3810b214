/* MNIST-like IDX datasets (mnist.h). */
#include "mnist.h"
#include "folder.h"

#include "dataset.h"
#include "err.h"
#include "idx.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* kind: "images-idx3" or "labels-idx1". */
static int matches(const char *base, int split, const char *kind)
{
	char a[64], b[64];
	const char *pre = split == CORDS_TEST ? "t10k" : "train";
	snprintf(a, sizeof a, "%s-%s-ubyte", pre, kind);
	snprintf(b, sizeof b, "%s-%s-ubyte.gz", pre, kind);
	return !strcmp(base, a) || !strcmp(base, b);
}

int cords_mnist_name(const char *base)
{
	for (int sp = 0; sp < 2; sp++)
		if (matches(base, sp, "images-idx3") || matches(base, sp, "labels-idx1"))
			return 1;
	return 0;
}


/* Offer one candidate path; keep the first match of each kind. */
static void offer(const char *path, const char *base, int split, char **img, char **lab)
{
	if (!*img && matches(base, split, "images-idx3"))
		*img = strdup(path);
	else if (!*lab && matches(base, split, "labels-idx1"))
		*lab = strdup(path);
}

static void scan_dir(const char *dir, int split, char **img, char **lab)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *p = cords_path_join(dir, e->d_name);
		if (p)
			offer(p, e->d_name, split, img, lab);
		free(p);
	}
	if (d)
		closedir(d);
}

int cords_mnist_locate(char *const *src, int n, int split, char **images, char **labels)
{
	*images = *labels = NULL;
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(src[i], &st))
			return cords_err("%s: no such file or directory", src[i]);
		if (S_ISDIR(st.st_mode))
			scan_dir(src[i], split, images, labels);
		else
			offer(src[i], base_name(src[i]), split, images, labels);
	}
	if (*images && *labels)
		return 0;
	const char *pre = split == CORDS_TEST ? "t10k" : "train";
	cords_err("%s: no %s-%s-ubyte[.gz] for the %s split", src[0], pre, *images ? "labels-idx1" : "images-idx3",
		  cords_split_name(split));
	free(*images);
	free(*labels);
	*images = *labels = NULL;
	return -1;
}

static int check_shapes(const cords_tensor *x, const cords_tensor *y, const char *images, const char *labels)
{
	if (x->dtype != CORDS_U8 || x->ndim != 3)
		return cords_err("%s: expected u8 images N x H x W (IDX magic 0x00000803)", images);
	if (y->dtype != CORDS_U8 || y->ndim != 1)
		return cords_err("%s: expected u8 labels N (IDX magic 0x00000801)", labels);
	if (x->shape[0] != y->shape[0])
		return cords_err("%s: %lld labels for %lld images in %s", labels, (long long)y->shape[0],
				 (long long)x->shape[0], images);
	return 0;
}

int cords_mnist_read(const char *images, const char *labels, cords_sink *s)
{
	cords_tensor *x = cords_idx_read(images, "x"), *y = x ? cords_idx_read(labels, "y") : NULL;
	int rc = !x || !y || check_shapes(x, y, images, labels) ? -1 : 0;
	if (!rc)
		s->total = x->shape[0];
	int64_t hw = rc ? 0 : x->shape[1] * x->shape[2];
	for (int64_t i = 0; !rc && i < x->shape[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "item %lld", (long long)i);
		cords_sample smp = {.label = ((uint8_t *)y->data)[i], .c = 1, .h = (int)x->shape[1],
				    .w = (int)x->shape[2], .pix = (uint8_t *)x->data + i * hw, .name = name};
		if (cords_sink_put(s, &smp))
			rc = cords_err_prefix("%s: ", labels);
	}
	cords_tensor_free(x);
	cords_tensor_free(y);
	return rc;
}
