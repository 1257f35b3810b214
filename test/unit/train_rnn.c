/* One training step of the RNN stages (linear, anneal, finetune) against
 * the PyTorch fixtures of testdata/train/gen.py: the loss and the gradient of
 * every parameter within 1e-4 (relative to the tensor's largest entry), with
 * every state kept and with BPTT checkpoints every 1 and 4 steps; the
 * finetune step back-propagated through a window of its last steps, and
 * through 60 steps. */
#include "arch.h"
#include "backend.h"
#include "err.h"
#include "loss.h"
#include "model.h"
#include "rnn_train.h"
#include "stream.h"
#include "t.h"
#include "train_fixture.h"

static cords_tensor_list params;

/* kept: the states the backward should hold (0: not checked) */
static void stage(const char *file, int k, int kept)
{
	cords_tensor_list fx = fx_load(file);
	const cords_tensor *meta = cords_list_find(&fx, "meta"), *x = cords_list_find(&fx, "x"), *y = cords_list_find(&fx, "y");
	cords_model *m = cords_model_new(&params, cords_list_find(&params, "meta"), t_backend("cpu"));
	CHECK(m != NULL, "%s", cords_errmsg());
	if (!m)
		return;
	cords_rnn_loss cfg = fx_loss(meta, k);
	int B = (int)x->shape[0];
	cords_labels lab = fx_labels(y);
	cords_params *ps = cords_params_new(m->be, &params, cords_params_all);
	cords_rnn_trainer *t = cords_rnn_trainer_new(m, B, &cfg);
	cords_rnn_stats st;
	CHECK(ps && t && cords_rnn_grad(t, ps, B, x->data, lab, 1, &st) == 0, "%s", cords_errmsg());
	cords_tensor_list grads = fx_grads(ps);
	CHECK(!kept || st.states_kept == kept, "%s k=%d: %d states kept, expected %d", file, k, st.states_kept, kept);
	CHECK_CLOSE(st.loss, *(double *)cords_list_find(&fx, "loss")->data, 2e-5, 0);
	CHECK_CLOSE(st.spont, *(double *)cords_list_find(&fx, "spont")->data, 1e-4, 1e-12);
	/* the last read-out: its cross-entropy, and the images it gets right */
	const cords_tensor *ce = cords_list_find(&fx, "ce"), *lg = cords_list_find(&fx, "logits");
	CHECK_CLOSE(st.ce_last, ((const float *)ce->data)[ce->shape[0] - 1], 1e-4, 0);
	int N = (int)lg->shape[1];
	CHECK(st.correct_last == cords_correct_cpu(lg->data, B, N, lab), "%d right at the last read-out, expected %d",
	      st.correct_last, cords_correct_cpu(lg->data, B, N, lab));
	t_worst e = {0, ""};
	CHECK(fx_grad_cmp(&grads, &fx, 1e-4, &e) <= 1, "%s k=%d: gradients: %s", file, k, e.at);
	cords_rnn_trainer_free(t);
	cords_params_free(ps);
	cords_list_free(&grads);
	cords_model_free(m);
	cords_list_free(&fx);
}

int main(void)
{
	params = fx_load("params.tzst");
	CASE("linear stage (identity, soft labels, no spontaneous phase): gradients equal torch") stage("linear.tzst", 0, 0);
	CASE("anneal stage (PReLU 0.35, spont penalty weight 1): gradients equal torch") stage("anneal.tzst", 0, 0);
	CASE("finetune stage (ReLU, soft labels): gradients equal torch") stage("finetune.tzst", 0, 0);
	CASE("BPTT checkpoints every step give the same gradients") stage("anneal.tzst", 1, 0);
	CASE("BPTT checkpoints every 4 steps give the same gradients") stage("finetune.tzst", 4, 0);
	/* The window's states only are kept: the one before it and its 6, not all 12 */
	CASE("--bptt-window 6 of 11 steps: gradients equal torch's with the states up to step 5 detached")
	stage("finetune-window.tzst", 0, 7);
	CASE("the window with checkpoints every 4 steps (2 checkpoints in it, a segment of 4)")
	stage("finetune-window.tzst", 4, 6);
	CASE("the window with checkpoints every step") stage("finetune-window.tzst", 1, 7);
	/* The long horizon, where float32's error accumulates: 60 steps back-propagated
	 * against torch's float64, every state kept and with checkpoints every 8 steps. */
	CASE("a 60-step BPTT (stimulus 50, blank 10): gradients equal torch's (float64)") stage("finetune-long.tzst", 0, 0);
	CASE("the 60 steps with checkpoints every 8 steps") stage("finetune-long.tzst", 8, 0);
	cords_list_free(&params);
	T_DONE();
}
