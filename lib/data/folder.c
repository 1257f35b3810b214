/* ImageFolder trees and file lists (folder.h). */
#include "folder.h"

#include "decode.h"
#include "err.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	char **v;
	int n, cap;
} strs;

static int push(strs *l, const char *s)
{
	if (l->n == l->cap && !(l->v = realloc(l->v, sizeof *l->v * (size_t)(l->cap = 2 * l->cap + 16))))
		return cords_err("out of memory");
	return (l->v[l->n++] = strdup(s)) ? 0 : cords_err("out of memory");
}

static void strs_free(strs *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_image_name(const char *name)
{
	static const char *ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof ext / sizeof *ext; i++)
		if (!strcasecmp(dot, ext[i]))
			return 1;
	return 0;
}

char *cords_path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* Whether a file's first bytes are a JPEG or PNG signature. */
static int looks_encoded(const char *path)
{
	uint8_t b[8];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(b, 1, sizeof b, f) : 0;
	if (f)
		fclose(f);
	return cords_sniff(b, n) != CORDS_ENC_UNKNOWN;
}

enum { LIST_DIRS, LIST_IMAGES, LIST_ANY_IMAGE };

/* Entries of dir, sorted by name (strcmp: bytes, so "B.png" before
 * "a.png"): sub-directories (LIST_DIRS), or image files by extension
 * (LIST_IMAGES, ImageFolder's rule) or by extension or content
 * (LIST_ANY_IMAGE: a JPEG named "noext" is an image). With a sink, the
 * entries left out (hidden ones, files that are not images) are named
 * through it; directories are not (they are walked). */
static int list_dir(const char *dir, int what, strs *out, cords_sink *s)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return cords_err("%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = cords_path_join(dir, e->d_name);
		if (!p || stat(p, &st)) {
			free(p);
			continue;
		}
		int isdir = S_ISDIR(st.st_mode), hidden = e->d_name[0] == '.';
		int keep = what == LIST_DIRS ? isdir && !hidden
			   : !hidden && S_ISREG(st.st_mode) &&
				     (is_image_name(e->d_name) || (what == LIST_ANY_IMAGE && looks_encoded(p)));
		if (!keep && s && !isdir)
			cords_sink_ignore(s, "%s: %s", p, hidden ? "hidden file" : "not an image");
		free(p);
		if (keep && push(out, e->d_name)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
	return 0;
}

/* os.walk order sorted by directory path: collect every directory, sort them,
 * then list each one's images. */
static int walk_dirs(const char *dir, strs *dirs)
{
	strs sub = {0};
	int rc = push(dirs, dir) || list_dir(dir, LIST_DIRS, &sub, NULL) ? -1 : 0;
	for (int i = 0; !rc && i < sub.n; i++) {
		char *p = cords_path_join(dir, sub.v[i]);
		rc = p ? walk_dirs(p, dirs) : cords_err("out of memory");
		free(p);
	}
	strs_free(&sub);
	return rc;
}

/* The images under dir; each one's id is its path without the first root
 * bytes (the argument and its slash). any: images by content too. */
static int emit_tree(const char *dir, size_t root, int64_t label, int any, cords_sink *s)
{
	strs dirs = {0};
	int rc = walk_dirs(dir, &dirs);
	if (!rc)
		qsort(dirs.v, (size_t)dirs.n, sizeof *dirs.v, cmp_str);
	for (int i = 0; !rc && i < dirs.n; i++) {
		strs files = {0};
		rc = list_dir(dirs.v[i], any ? LIST_ANY_IMAGE : LIST_IMAGES, &files, s);
		for (int k = 0; !rc && k < files.n; k++) {
			char *p = cords_path_join(dirs.v[i], files.v[k]);
			rc = p ? cords_image_file(p, p + root, label, s) : cords_err("out of memory");
			free(p);
		}
		strs_free(&files);
	}
	strs_free(&dirs);
	return rc;
}

static int read_all(const char *path, uint8_t **buf, size_t *n)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16;
	*n = 0;
	*buf = NULL;
	if (!f)
		return cords_err("%s: %s", path, strerror(errno));
	for (;;) {
		uint8_t *nb = realloc(*buf, cap);
		if (!nb) {
			fclose(f);
			return cords_err("out of memory");
		}
		*buf = nb;
		*n += fread(*buf + *n, 1, cap - *n, f);
		if (*n < cap)
			break;
		cap *= 2;
	}
	int err = ferror(f);
	fclose(f);
	return err ? cords_err("%s: read error", path) : 0;
}

int cords_put_encoded(cords_sink *s, const uint8_t *buf, size_t n, const char *name, const char *id, int64_t label)
{
	cords_image im = {0};
	int kind = cords_sniff(buf, n), rc;
	/* A full pass over the compressed data at 1/8 scale (JPEG) finds corrupt
	 * and truncated files at a fraction of the cost of a full decode. */
	if (cords_decode(buf, n, &im, 1, 1)) {
		rc = cords_sink_bad(s, "%s: %s", name, cords_errmsg());
	} else {
		cords_sample smp = {.label = label, .enc = buf, .enc_n = n, .name = name, .id = id,
				    .enc_kind = kind == CORDS_ENC_JPEG ? "jpeg" : "png"};
		rc = cords_sink_put(s, &smp);
	}
	cords_image_free(&im);
	return rc;
}

int cords_image_file(const char *path, const char *id, int64_t label, cords_sink *s)
{
	uint8_t *buf;
	size_t n;
	if (read_all(path, &buf, &n))
		return -1;
	int rc = cords_put_encoded(s, buf, n, path, id, label);
	free(buf);
	return rc;
}

int cords_folder_read(const char *dir, char **class_names, int *nclasses, cords_sink *s)
{
	strs cls = {0};
	size_t len = 1;
	*class_names = NULL;
	if (list_dir(dir, LIST_DIRS, &cls, NULL))
		return -1;
	if (!cls.n) {
		strs_free(&cls);
		return cords_err("%s: no class sub-directories", dir);
	}
	for (int i = 0; i < cls.n; i++)
		len += strlen(cls.v[i]) + 1;
	char *names = calloc(1, len);
	for (int i = 0; names && i < cls.n; i++)
		strcat(strcat(names, i ? "," : ""), cls.v[i]);
	*class_names = names, *nclasses = cls.n;
	s->classes = cls.n;
	int rc = names ? 0 : cords_err("out of memory");
	for (int i = 0; !rc && i < cls.n; i++) {
		char *p = cords_path_join(dir, cls.v[i]);
		rc = p ? emit_tree(p, strlen(dir) + 1, i, 0, s) : cords_err("out of memory");
		free(p);
	}
	strs_free(&cls);
	return rc;
}

int cords_files_read(char *const *paths, int n, cords_sink *s)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st))
			return cords_err("%s: %s", paths[i], strerror(errno));
		if (S_ISDIR(st.st_mode) ? emit_tree(paths[i], strlen(paths[i]) + 1, -1, 1, s) : cords_image_file(paths[i], paths[i], -1, s))
			return -1;
	}
	return 0;
}
