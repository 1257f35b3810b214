/* oneDNN alone on the convolutions of one CordsNet-R8 stimulus step at 224
 * (batch B): each convolution with the layouts oneDNN prefers, timed over
 * repeated runs; prints per-convolution and total GFLOP/s = the attainable
 * rate cords-infer's step is measured against. bf16: input and weights in
 * bf16, output in f32 (what cords-infer --precision bf16 asks oneDNN for).
 *   convbench B [REPEATS [fp32|bf16]] */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	const char *what;
	int ic, oc, ih, k, s, p;
} conv;

/* One stimulus step of R8 at 224 as cords-infer runs it (inp_skip(p) is
 * constant during the stimulus: computed once per batch, not per step). */
static const conv step[] = {
	{"area_conv.0", 64, 64, 56, 3, 1, 1},    {"area_area.0", 64, 64, 56, 3, 1, 1},
	{"area_conv.1", 64, 64, 56, 3, 1, 1},
	{"area_area.1", 64, 64, 56, 3, 1, 1},    {"area_conv.2", 128, 128, 28, 3, 1, 1},
	{"area_area.2", 64, 128, 56, 3, 2, 1},   {"skip_area.0", 64, 128, 56, 1, 2, 0},
	{"area_conv.3", 128, 128, 28, 3, 1, 1},  {"area_area.3", 128, 128, 28, 3, 1, 1},
	{"area_conv.4", 256, 256, 14, 3, 1, 1},  {"area_area.4", 128, 256, 28, 3, 2, 1},
	{"skip_area.1", 128, 256, 28, 1, 2, 0},  {"area_conv.5", 256, 256, 14, 3, 1, 1},
	{"area_area.5", 256, 256, 14, 3, 1, 1},  {"area_conv.6", 512, 512, 7, 3, 1, 1},
	{"area_area.6", 256, 512, 14, 3, 2, 1},  {"skip_area.2", 256, 512, 14, 1, 2, 0},
	{"area_conv.7", 512, 512, 7, 3, 1, 1},   {"area_area.7", 512, 512, 7, 3, 1, 1},
};

#define CK(x)                                                                          \
	do {                                                                           \
		if ((x) != dnnl_success) {                                             \
			fprintf(stderr, "convbench: %s failed\n", #x);               \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static dnnl_memory_t mem(dnnl_engine_t e, const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
	dnnl_memory_t m;
	const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, q, 0);
	CK(dnnl_memory_create(&m, md, e, DNNL_MEMORY_ALLOCATE));
	return m;
}

int main(int argc, char **argv)
{
	int B = argc > 1 ? atoi(argv[1]) : 8, reps = argc > 2 ? atoi(argv[2]) : 10;
	dnnl_data_type_t in = argc > 3 && !strcmp(argv[3], "bf16") ? dnnl_bf16 : dnnl_f32;
	dnnl_engine_t e;
	dnnl_stream_t st;
	CK(dnnl_engine_create(&e, dnnl_cpu, 0));
	CK(dnnl_stream_create(&st, e, dnnl_stream_default_flags));
	double total_flop = 0, total_t = 0;
	for (size_t i = 0; i < sizeof step / sizeof *step; i++) {
		const conv *c = &step[i];
		int oh = (c->ih + 2 * c->p - c->k) / c->s + 1;
		dnnl_dims_t sd = {B, c->ic, c->ih, c->ih}, wd = {c->oc, c->ic, c->k, c->k}, dd = {B, c->oc, oh, oh};
		dnnl_dims_t str = {c->s, c->s}, pl = {c->p, c->p}, pr;
		for (int j = 0; j < 2; j++)
			pr[j] = (oh - 1) * c->s + c->k - c->ih - c->p;
		dnnl_memory_desc_t smd, wmd, dmd;
		CK(dnnl_memory_desc_init_by_tag(&smd, 4, sd, in, dnnl_format_tag_any));
		CK(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, in, dnnl_format_tag_any));
		CK(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, dnnl_format_tag_any));
		dnnl_convolution_desc_t cd;
		CK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &smd, &wmd,
						      NULL, &dmd, str, pl, pr));
		dnnl_primitive_desc_t pd;
		dnnl_primitive_t prim;
		CK(dnnl_primitive_desc_create(&pd, &cd, NULL, e, NULL));
		CK(dnnl_primitive_create(&prim, pd));
		dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mem(e, pd, dnnl_query_src_md)},
					   {DNNL_ARG_WEIGHTS, mem(e, pd, dnnl_query_weights_md)},
					   {DNNL_ARG_DST, mem(e, pd, dnnl_query_dst_md)}};
		CK(dnnl_primitive_execute(prim, st, 3, args)); /* warm up */
		CK(dnnl_stream_wait(st));
		double t0 = now();
		for (int r = 0; r < reps; r++)
			CK(dnnl_primitive_execute(prim, st, 3, args));
		CK(dnnl_stream_wait(st));
		double t = (now() - t0) / reps, flop = 2.0 * B * c->oc * oh * oh * c->ic * c->k * c->k;
		const char *impl = "";
		dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
		printf("%-12s %4d->%-4d %3dx%-3d k%d s%d  %8.3f ms  %6.1f GFLOP/s  %s\n", c->what, c->ic, c->oc, c->ih,
		       c->ih, c->k, c->s, t * 1e3, flop / t * 1e-9, impl);
		total_flop += flop;
		total_t += t;
		for (int j = 0; j < 3; j++)
			dnnl_memory_destroy(args[j].memory);
		dnnl_primitive_destroy(prim);
		dnnl_primitive_desc_destroy(pd);
	}
	printf("step_total   batch %d %s  %.1f ms  %.3f GFLOP  attainable %.1f GFLOP/s\n", B,
	       in == dnnl_bf16 ? "bf16" : "fp32", total_t * 1e3,
	       total_flop * 1e-9, total_flop / total_t * 1e-9);
	return 0;
}
