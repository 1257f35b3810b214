/* CIFAR binary tarballs (cifar.h). The archive is read in order; a member
 * that is wanted before the current position reopens it (the official
 * tarballs are in order, so that is one pass for the names and one for the
 * data). */
#include "cifar.h"

#include "dataset.h"
#include "err.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int cords_cifar_name(const char *base, int *c100)
{
	*c100 = !strncmp(base, "cifar-100", 9);
	return (!strncmp(base, "cifar-10-", 9) || *c100) && strstr(base, "bin") && strstr(base, ".tar");
}

static struct archive *open_tar(const char *path)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		cords_err("%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Positions a at the member whose base name is `want`; returns 1 if found,
 * 0 if not, -1 on an archive error. */
static int seek_member(struct archive *a, const char *path, const char *want)
{
	struct archive_entry *e;
	int rc;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)
		if (archive_entry_filetype(e) == AE_IFREG && !strcmp(base_of(archive_entry_pathname(e)), want))
			return 1;
	if (rc == ARCHIVE_EOF)
		return 0;
	return cords_err("%s: %s", path, archive_error_string(a));
}

/* A small member (a names file) whole, NUL-terminated. */
static char *read_member(const char *path, const char *want)
{
	struct archive *a = open_tar(path);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	if (!a)
		return NULL;
	int rc = seek_member(a, path, want);
	if (rc == 0)
		cords_err("%s: no %s in the archive", path, want);
	while (rc == 1) {
		if (cap - n < 4096 && !(buf = realloc(buf, cap = 2 * cap + 4096))) {
			cords_err("out of memory");
			break;
		}
		la_ssize_t k = archive_read_data(a, buf + n, cap - n - 1);
		if (k < 0) {
			cords_err("%s: %s: %s", path, want, archive_error_string(a));
			break;
		}
		if (k == 0) {
			buf[n] = 0;
			archive_read_free(a);
			return buf;
		}
		n += (size_t)k;
	}
	free(buf);
	archive_read_free(a);
	return NULL;
}

char *cords_cifar_classes(const char *tarball, int c100, int coarse)
{
	const char *file = !c100 ? "batches.meta.txt" : coarse ? "coarse_label_names.txt" : "fine_label_names.txt";
	char *t = read_member(tarball, file);
	if (!t)
		return NULL;
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
			if (!(a = open_tar(tarball)))
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
