/* The CordsNet-R{D} architecture (cords-model(7)): channel plan, strides, spatial
 * sizes for a given input, and the parameter names and shapes a checkpoint
 * uses. Also the model file's metadata record ("meta", key=value text). */
#ifndef CORDS_ARCH_H
#define CORDS_ARCH_H

#include "tensor.h"

#define CORDS_MAX_DEPTH 8

typedef struct {
	int depth;         /* D in {2,4,6,8} */
	int in_ch;         /* Cin: 1 or 3 (any >= 1 accepted) */
	int height, width; /* input image size */
	int classes;       /* N */
	int stem_h, stem_w;  /* after the 7x7/2 stem conv, before the pool */
	int cin[CORDS_MAX_DEPTH];    /* channels area i receives: ch[i] */
	int c[CORDS_MAX_DEPTH];      /* channels area i holds: ch[i+1] */
	int stride[CORDS_MAX_DEPTH]; /* feed-forward stride into area i */
	int h[CORDS_MAX_DEPTH], w[CORDS_MAX_DEPTH]; /* area i's map */
	int nskip;                   /* D/2 - 1 skip convs */
	int skip_in[3], skip_out[3]; /* channels of skip conv k */
} cords_arch;

extern const int cords_ch[9];      /* 64,64,64,128,128,256,256,512,512 */
extern const int cords_stride[8];  /* 1,1,2,1,2,1,2,1 */
extern const int cords_skip_ch[4]; /* 64,128,256,512 */

/* Conv output size: floor((n + 2 pad - k) / s) + 1. */
static inline int cords_conv_out(int n, int k, int s, int pad) { return (n + 2 * pad - k) / s + 1; }

int cords_arch_init(cords_arch *a, int depth, int in_ch, int height, int width, int classes);

/* The wiring (cords-model(7)): what area i reads. Its input u_i is relu(r_{i-1})
 * plus a shortcut from the area two below, as it is or through a skip
 * convolution (1x1, stride 2, where the channels double); area 0 reads the
 * pooled stem p, and area 1's shortcut is inp_skip(p). */
typedef enum {
	CORDS_FEED_STEM,      /* area 0: u_0 = p */
	CORDS_FEED_STEM_SKIP, /* area 1: u_1 = relu(r_0) + inp_skip(p) */
	CORDS_FEED_SAME,      /* u_i = relu(r_prev) + relu(r_side) */
	CORDS_FEED_SKIP,      /* u_i = relu(r_prev) + skip_area.k(relu(r_side)) */
} cords_feed_kind;

typedef struct {
	cords_feed_kind kind;
	int prev, side; /* the areas u_i reads (-1: none, p is read instead) */
	int skip;       /* k of skip_area.k for CORDS_FEED_SKIP, else -1 */
} cords_feed;

/* Area i's feed, 0 <= i < a->depth. */
cords_feed cords_arch_feed(const cords_arch *a, int i);
/* The area skip conv k feeds (its inverse); -1 if none. */
int cords_skip_area(const cords_arch *a, int k);

/* The RNN's parameters, in checkpoint order: 5D + 2(D/2-1) + 7 of them
 * (53 for R8). Fills name and shape of parameter i; -1 if out of range. */
int cords_arch_nparams(const cords_arch *a);
int cords_arch_param(const cords_arch *a, int i, char *name, size_t name_size, int *ndim, int64_t *shape);

/* Infer depth, in_ch, classes and area sizes from tensor shapes; the input
 * size is taken as 4 * h_0 (the largest input giving that area size) unless
 * height/width are already set (> 0) in *a. */
int cords_arch_infer(const cords_tensor_list *l, cords_arch *a);
/* Every parameter present with the right shape (floating dtype); the first
 * problem found is the error, naming the tensor. Extra tensors are allowed. */
int cords_arch_check(const cords_arch *a, const cords_tensor_list *l);

/* The architecture in a model's metadata: format=cords-model and the keys
 * meta.h lists under "Models: the architecture". Other keys belong to the
 * tools that set them. */
int cords_arch_to_meta(const cords_arch *a, cords_tensor *meta);
int cords_arch_from_meta(const cords_tensor *meta, cords_arch *a);

#endif
