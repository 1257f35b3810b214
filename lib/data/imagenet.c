/* ImageNet archives (imagenet.h). */
#include "imagenet.h"

#include "err.h"
#include "folder.h"
#include "matfile.h"
#include "tarfile.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cords_imagenet_name(const char *base) { return !strncmp(base, "ILSVRC2012_", 11); }

static int cmp_wnid(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* Sorted, comma-joined WNIDs (n x 16 bytes each). */
static char *join_wnids(char (*w)[16], int n)
{
	char *s = malloc((size_t)n * 16 + 1);
	if (!s)
		return cords_err("out of memory"), NULL;
	s[0] = 0;
	for (int i = 0; i < n; i++)
		strcat(strcat(s, i ? "," : ""), w[i]);
	return s;
}

static int is_next(int rc) { return rc == ARCHIVE_OK || rc == ARCHIVE_WARN; }

/* Pass 1: the WNIDs of the inner tars, sorted. */
static int train_classes(const char *tar, char (**w)[16], int *n)
{
	struct archive *a = cords_tar_open(tar);
	struct archive_entry *e;
	int rc, cap = 0;
	*w = NULL, *n = 0;
	if (!a)
		return -1;
	while (is_next(rc = archive_read_next_header(a, &e))) {
		const char *b = cords_base_name(archive_entry_pathname(e));
		size_t k = strlen(b);
		if (archive_entry_filetype(e) != AE_IFREG || k < 5 || k > 19 || strcmp(b + k - 4, ".tar"))
			continue;
		if (*n == cap && !(*w = realloc(*w, sizeof **w * (size_t)(cap = 2 * cap + 64)))) {
			archive_read_free(a);
			return cords_err("out of memory");
		}
		memcpy((*w)[*n], b, k - 4);
		(*w)[(*n)++][k - 4] = 0;
	}
	if (rc != ARCHIVE_EOF)
		rc = cords_err("%s: %s", tar, archive_error_string(a));
	else
		rc = *n ? 0 : cords_err("%s: no per-class .tar members", tar);
	archive_read_free(a);
	if (!rc)
		qsort(*w, (size_t)*n, sizeof **w, cmp_wnid);
	return rc;
}

/* The inner reader's input: the outer archive's current entry. */
typedef struct {
	struct archive *outer;
	uint8_t buf[1 << 16];
} nested;

static la_ssize_t nested_read(struct archive *inner, void *ctx, const void **out)
{
	nested *n = ctx;
	la_ssize_t k = archive_read_data(n->outer, n->buf, sizeof n->buf);
	if (k < 0)
		archive_set_error(inner, EIO, "%s", archive_error_string(n->outer));
	*out = n->buf;
	return k;
}

/* Every image of one inner tar, with its label. */
static int class_tar(struct archive *outer, const char *tar, const char *member, int64_t label, cords_sink *s)
{
	nested *ctx = malloc(sizeof *ctx);
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	uint8_t *buf = NULL;
	size_t cap = 0, n;
	char name[512];
	int rc = 0;
	if (!ctx || !in) {
		free(ctx);
		archive_read_free(in);
		return cords_err("out of memory");
	}
	ctx->outer = outer;
	archive_read_support_format_tar(in);
	archive_read_support_format_gnutar(in);
	if (archive_read_open(in, ctx, NULL, nested_read, NULL) != ARCHIVE_OK)
		rc = cords_err("%s: %s: %s", tar, member, archive_error_string(in));
	while (!rc) {
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (!is_next(r)) {
			rc = cords_err("%s: %s: %s", tar, member, archive_error_string(in));
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		snprintf(name, sizeof name, "%s: %s: %s", tar, member, archive_entry_pathname(e));
		rc = cords_tar_read_entry(in, name, &buf, &cap, &n) || cords_put_encoded(s, buf, n, name, name, label) ? -1 : 0;
	}
	archive_read_free(in);
	free(ctx);
	free(buf);
	return rc;
}

/* The base name of the next regular member, NULL at the end; -1 in *rc on error. */
static const char *next_member(struct archive *a, const char *tar, int *rc)
{
	struct archive_entry *e;
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			return NULL;
		if (!is_next(r)) {
			*rc = cords_err("%s: %s", tar, archive_error_string(a));
			return NULL;
		}
		if (archive_entry_filetype(e) == AE_IFREG)
			return cords_base_name(archive_entry_pathname(e));
	}
}

int cords_imagenet_train(const char *tar, char **class_names, cords_sink *s)
{
	char(*w)[16];
	int nw, rc = 0;
	const char *b;
	if (train_classes(tar, &w, &nw) || !(*class_names = join_wnids(w, nw))) {
		free(w);
		return -1;
	}
	s->classes = nw;
	struct archive *a = cords_tar_open(tar);
	if (!a)
		rc = -1;
	while (!rc && (b = next_member(a, tar, &rc))) {
		char key[16] = "";
		size_t k = strlen(b);
		if (k < 5 || k > 19 || strcmp(b + k - 4, ".tar"))
			continue;
		memcpy(key, b, k - 4);
		char(*hit)[16] = bsearch(key, w, (size_t)nw, sizeof *w, cmp_wnid);
		rc = class_tar(a, tar, b, hit - w, s);
	}
	if (a)
		archive_read_free(a);
	free(w);
	return rc;
}

/* Devkit: label of every validation image (index 0 = image 1), the classes. */
static int val_labels(const char *devkit, int64_t **labels, int *nlab, char **class_names, int *nclasses)
{
	uint8_t *mat = NULL, *gt = NULL;
	size_t nm, ng;
	cords_synset *syn = NULL;
	int ns = -1, nl = 0, rc = -1;
	char(*w)[16] = NULL;
	*labels = NULL;
	if (cords_tar_member(devkit, "meta.mat", &mat, &nm) ||
	    cords_tar_member(devkit, "ILSVRC2012_validation_ground_truth.txt", &gt, &ng) ||
	    (ns = cords_mat_synsets(mat, nm, "meta.mat", &syn)) < 0 || !(w = malloc(sizeof *w * (size_t)ns + 1)))
		goto out;
	for (int i = 0; i < ns; i++) /* the leaves are the classes */
		if (!syn[i].num_children && syn[i].id > 0)
			memcpy(w[nl++], syn[i].wnid, 16);
	if (nl)
		qsort(w, (size_t)nl, sizeof *w, cmp_wnid);
	*labels = malloc(sizeof **labels * (ng / 2 + 1));
	*nlab = 0;
	for (char *p = (char *)gt, *end; *labels && *p; p = end) {
		long id = strtol(p, &end, 10);
		if (end == p)
			break;
		int64_t lab = -1;
		for (int i = 0; i < ns && lab < 0; i++)
			if (syn[i].id == id && !syn[i].num_children)
				lab = (char(*)[16])bsearch(syn[i].wnid, w, (size_t)nl, sizeof *w, cmp_wnid) - w;
		(*labels)[(*nlab)++] = lab; /* -1: an ID that is not a class, caught as a bad label */
	}
	if (!*labels || !(*class_names = join_wnids(w, nl)))
		goto out;
	*nclasses = nl;
	rc = 0;
out:
	if (rc && ns >= 0 && (!w || !*labels)) /* the reads succeeded: memory ran out */
		cords_err("%s: out of memory", devkit);
	free(mat), free(gt), free(syn), free(w);
	return rc;
}

int cords_imagenet_val(const char *tar, const char *devkit, char **class_names, cords_sink *s)
{
	int64_t *labels = NULL;
	int nlab = 0, rc = 0;
	const char *b;
	if (val_labels(devkit, &labels, &nlab, class_names, &s->classes))
		return -1;
	struct archive *a = cords_tar_open(tar);
	uint8_t *buf = NULL;
	size_t cap = 0, n;
	char name[512];
	if (!a)
		rc = -1;
	while (!rc && (b = next_member(a, tar, &rc))) {
		unsigned idx = 0;
		snprintf(name, sizeof name, "%s: %s", tar, b);
		if (sscanf(b, "ILSVRC2012_val_%8u.", &idx) != 1 || idx < 1 || (int)idx > nlab)
			rc = cords_sink_bad(s, "%s: no label for this name", name);
		else
			rc = cords_tar_read_entry(a, name, &buf, &cap, &n) ||
					     cords_put_encoded(s, buf, n, name, name, labels[idx - 1]) ? -1 : 0;
	}
	if (a)
		archive_read_free(a);
	free(buf);
	free(labels);
	return rc;
}
