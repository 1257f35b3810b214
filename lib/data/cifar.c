/* CIFAR binary tarballs (cifar.h). The archive is read in order; a member
 * that is wanted before the current position reopens it (the official
 * tarballs are in order, so that is one pass for the names and one for the
 * data). */
#include "cifar.h"

#include "dataset.h"
#include "err.h"
#include "pickle.h"
#include "tarfile.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cords_cifar_name(const char *base, int *c100)
{
	*c100 = !strncmp(base, "cifar-100", 9);
	return (!strncmp(base, "cifar-10-", 9) || *c100) && strstr(base, "bin") && strstr(base, ".tar");
}

/* Positions a at the member whose base name is `want`; returns 1 if found,
 * 0 if not, -1 on an archive error. */
static int seek_member(struct archive *a, const char *path, const char *want)
{
	struct archive_entry *e;
	int rc;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)
		if (archive_entry_filetype(e) == AE_IFREG && !strcmp(cords_base_name(archive_entry_pathname(e)), want))
			return 1;
	if (rc == ARCHIVE_EOF)
		return 0;
	return cords_err("%s: %s", path, archive_error_string(a));
}

char *cords_cifar_classes(const char *tarball, int c100, int coarse)
{
	const char *file = !c100 ? "batches.meta.txt" : coarse ? "coarse_label_names.txt" : "fine_label_names.txt";
	uint8_t *data;
	size_t n;
	if (cords_tar_member(tarball, file, &data, &n))
		return NULL;
	char *t = (char *)data;
	/* lines -> comma-separated, empty lines and trailing blanks dropped */
	char *o = t, *line = t, *next;
	for (; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		size_t k = strlen(line);
		while (k && (line[k - 1] == ' ' || line[k - 1] == '\r'))
			k--;
		if (!k)
			continue;
		if (o != t)
			*o++ = ',';
		memmove(o, line, k);
		o += k;
	}
	*o = 0;
	return t;
}

/* Streams one member's records to the sink. */
static int emit_member(struct archive *a, const char *path, const char *member, int c100, int coarse, cords_sink *s)
{
	enum { PIX = 3 * 32 * 32 };
	size_t rec = (size_t)PIX + (c100 ? 2 : 1), have = 0;
	uint8_t buf[3074];
	long long item = 0;
	char name[256];
	for (;;) {
		la_ssize_t k = archive_read_data(a, buf + have, rec - have);
		if (k < 0)
			return cords_err("%s: %s: %s", path, member, archive_error_string(a));
		if (k == 0)
			break;
		if ((have += (size_t)k) < rec)
			continue;
		have = 0;
		snprintf(name, sizeof name, "%s: item %lld", member, item++);
		cords_sample smp = {.label = c100 && !coarse ? buf[1] : buf[0], .c = 3, .h = 32, .w = 32,
				    .pix = buf + rec - PIX, .name = name};
		if (cords_sink_put(s, &smp))
			return cords_err_prefix("%s: ", path);
	}
	if (have)
		return cords_err("%s: %s: truncated record (%zu of %zu bytes)", path, member, have, rec);
	return 0;
}

int cords_cifar_read(const char *tarball, int c100, int split, int coarse, cords_sink *s)
{
	static const char *c10_train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
					  "data_batch_4.bin", "data_batch_5.bin", NULL};
	static const char *c10_test[] = {"test_batch.bin", NULL}, *c100_train[] = {"train.bin", NULL},
			  *c100_test[] = {"test.bin", NULL};
	const char **want = c100 ? (split == CORDS_TEST ? c100_test : c100_train)
				 : (split == CORDS_TEST ? c10_test : c10_train);
	struct archive *a = NULL;
	int rc = 0;
	for (int i = 0; !rc && want[i]; i++) {
		int found = a ? seek_member(a, tarball, want[i]) : 0;
		if (found == 0) { /* not ahead of us: start again from the top */
			if (a)
				archive_read_free(a);
			if (!(a = cords_tar_open(tarball)))
				return -1;
			found = seek_member(a, tarball, want[i]);
		}
		if (found == 0)
			rc = cords_err("%s: no %s in the archive", tarball, want[i]);
		else
			rc = found < 0 ? -1 : emit_member(a, tarball, want[i], c100, coarse, s);
	}
	if (a)
		archive_read_free(a);
	return rc;
}

/* The python tarballs: every member a pickled dict (protocol 2, bytes keys):
 * b"data" a NumPy u8 [N,3072] array, b"labels" (CIFAR-10) or b"fine_labels"
 * / b"coarse_labels" (CIFAR-100) lists of ints; the names in b"label_names"
 * (batches.meta) or b"fine_label_names" / b"coarse_label_names" (meta). */
int cords_cifar_py_name(const char *base, int *c100)
{
	*c100 = !strncmp(base, "cifar-100", 9);
	return (!strncmp(base, "cifar-10-", 9) || *c100) && strstr(base, "python") && strstr(base, ".tar");
}

static cords_pkl_doc *unpickle_member(const char *tarball, const char *member, uint8_t **buf)
{
	size_t n;
	if (cords_tar_member(tarball, member, buf, &n))
		return NULL;
	cords_pkl_doc *doc = cords_unpickle(*buf, n);
	if (!doc) {
		cords_err_prefix("%s: %s: ", tarball, member);
		free(*buf);
	}
	return doc;
}

char *cords_cifar_py_classes(const char *tarball, int c100, int coarse)
{
	uint8_t *buf;
	cords_pkl_doc *doc = unpickle_member(tarball, c100 ? "meta" : "batches.meta", &buf);
	if (!doc)
		return NULL;
	const char *key = !c100 ? "label_names" : coarse ? "coarse_label_names" : "fine_label_names";
	const cords_pkl *l = cords_pkl_dict_get(doc->root, key);
	size_t len = 1;
	for (size_t i = 0; l && l->type == CORDS_PKL_LIST && i < l->n; i++)
		len += l->items[i]->len + 1;
	char *names = l && l->type == CORDS_PKL_LIST ? calloc(1, len) : NULL;
	for (size_t i = 0; names && i < l->n; i++) {
		if (i)
			strcat(names, ",");
		strncat(names, l->items[i]->s, l->items[i]->len);
	}
	if (!names)
		cords_err("%s: no list %s in the metadata pickle", tarball, key);
	cords_pkl_free(doc);
	free(buf);
	return names;
}

static int emit_pickle(const char *tarball, const char *member, const cords_pkl *root, int c100, int coarse,
		       cords_sink *s)
{
	const char *key = !c100 ? "labels" : coarse ? "coarse_labels" : "fine_labels"; /* the pickle's, not metadata */
	const cords_pkl *d = cords_pkl_dict_get(root, "data"), *l = cords_pkl_dict_get(root, key);
	cords_tensor *x = NULL;
	if (!d || !l || l->type != CORDS_PKL_LIST)
		return cords_err("%s: %s: no data or %s", tarball, member, key);
	if (cords_pkl_numpy_tensor(d, "x", &x))
		return cords_err_prefix("%s: %s: ", tarball, member);
	int rc = 0;
	if (x->dtype != CORDS_U8 || x->ndim != 2 || x->shape[1] != 3072 || (size_t)x->shape[0] != l->n)
		rc = cords_err("%s: %s: expected u8 data [%zu,3072] for %zu labels", tarball, member, l->n, l->n);
	for (size_t i = 0; !rc && i < l->n; i++) {
		char name[256];
		snprintf(name, sizeof name, "%s: item %zu", member, i);
		if (l->items[i]->type != CORDS_PKL_INT) {
			rc = cords_err("%s: %s: a label that is not an integer", tarball, name);
			break;
		}
		cords_sample smp = {.label = l->items[i]->i, .c = 3, .h = 32, .w = 32,
				    .pix = (uint8_t *)x->data + 3072 * i, .name = name};
		if (cords_sink_put(s, &smp))
			rc = cords_err_prefix("%s: ", tarball);
	}
	cords_tensor_free(x);
	return rc;
}

int cords_cifar_py_read(const char *tarball, int c100, int split, int coarse, cords_sink *s)
{
	static const char *c10_train[] = {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
					  "data_batch_5", NULL};
	static const char *c10_test[] = {"test_batch", NULL}, *c100_train[] = {"train", NULL},
			  *c100_test[] = {"test", NULL};
	const char **want = c100 ? (split == CORDS_TEST ? c100_test : c100_train)
				 : (split == CORDS_TEST ? c10_test : c10_train);
	int rc = 0;
	for (int i = 0; !rc && want[i]; i++) {
		uint8_t *buf;
		cords_pkl_doc *doc = unpickle_member(tarball, want[i], &buf);
		if (!doc)
			return -1;
		rc = emit_pickle(tarball, want[i], doc->root, c100, coarse, s);
		cords_pkl_free(doc);
		free(buf);
	}
	return rc;
}
