/* cords-linear: Stage 4 of the three-step method (cords-training(7)). All the work is the shared
 * RNN training command line (cmd/common/train_cli.c); this file holds the stage's defaults. */
#include "train_cli.h"

int main(int argc, char **argv)
{
	static const cords_rnn_tool t = {
		.stage = "linear",
		.summary = "Stage 4 of the three-step method: train the linear RNN (phi = identity) on the time-weighted loss.",
		.rnn = {.loss = {.dyn = {.alpha = 0.2f, .phi = {CORDS_PHI_IDENTITY, 0.95f}, .spont_steps = 0, .stim_steps = 100},
				 .readouts = 30, .blank_steps = 0, .spont_window = 10, .spont_weight = 0},
			.anneal = 0, .slope_start = 0.95, .slope_step = 0.05, .fresh_per_epoch = 0},
		.opt = {.kind = CORDS_OPT_ADAMW, .lr = 1e-5, .weight_decay = 0.01, .beta1 = 0.9, .beta2 = 0.999,
			.eps = 1e-8, .clip = 1e-4, .warmup_start = 1.0 / 3},
		.epochs = 100,
	};
	return cords_rnn_tool_main(argc, argv, &t);
}
