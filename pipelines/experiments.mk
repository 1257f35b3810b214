# The experiments of cords(7) EXPERIMENTS on the demo's models (`make experiments`
# after `make demo`): the BN CNN (cnn.tzst) and the final RNN (finetune.tzst),
# on the first BATCHES x 500 test images, each experiment a TSV and a gnuplot PNG:
#   noise.tsv/png     accuracy against noise sigma, three modes (cords-infer
#                     --noise-mode image|frame|state), BN CNN and RNN with the
#                     same draws (the CNN has no state: image and frame only)
#   contrast.tsv/png  accuracy and mean reaction time (--rt RT_THETA) against
#                     --contrast
#   rt.tsv/png        the reaction times of correct and wrong answers at full
#                     contrast (a histogram)
#   lesion.tsv/png    accuracy with each area lesioned, without recurrence, intact
#   fixed.tsv/png     for FIXED_IMAGES test images: spectral radius of the
#                     one-step map's Jacobian at the state after the protocol, and
#                     the residual of the fixed point found from there and the
#                     spectral radius at it
#   times.tsv         wall seconds of each experiment
#
#   make -f pipelines/experiments.mk BIN=bin DEMO=demo OUT=demo/experiments
#        [BATCHES=2] [DEVICE=cpu]

# Idle OpenMP threads sleep soon: see ENVIRONMENT in cords(7).
export GOMP_SPINCOUNT ?= 10000
BIN ?= bin
DEMO ?= demo
OUT ?= $(DEMO)/experiments
DEVICE ?= cpu
BATCHES ?= 2
SIGMAS ?= 0 0.25 0.5 1 1.5 2
CONTRASTS ?= 0.05 0.1 0.2 0.3 0.5 0.75 1
RT_THETA ?= 0.9
FIXED_IMAGES ?= 20
SEED ?= 0
CNN ?= $(DEMO)/cnn.tzst
RNN ?= $(DEMO)/finetune.tzst
TEST ?= $(DEMO)/test.tzst
# the CNN sees as many noisy frames as the RNN's stimulus steps
STIM = $(shell $(BIN)/cords-cat -m $(RNN) | sed -n 's/^stim_steps=//p' | head -n 1)
DEPTH = $(shell $(BIN)/cords-cat -m $(RNN) | sed -n 's/^depth=//p' | head -n 1)
INFER = $(BIN)/cords-infer --device $(DEVICE) --batches $(BATCHES) --seed $(SEED)
# the accuracy of a cords-infer run from its stderr, in %
ACC = awk '$$1 == "cords-infer:" && $$2 == "accuracy" { printf "%.2f", 100 * $$3 }'
TIME = sh -c 't0=$$(date +%s.%N); "$$@" || exit 1; t1=$$(date +%s.%N); \
	printf "%s\t%.1f\n" "$(1)" "$$(echo "$$t1 - $$t0" | bc -l)" >> $(OUT)/times.tsv' time
PLOT = gnuplot -e "set terminal pngcairo size 800,500 noenhanced; set datafile separator '\t'; \
	set key autotitle columnhead; $(1)"
COMMA := ,
HERE := $(dir $(lastword $(MAKEFILE_LIST)))
# a .npy's int64 values, one a line (cords-cat --npy-dir): the data after its header
NPY_I64 = npy_i64() { od -An -v -t d8 -j $$(( 10 + $$(od -An -t u2 -j 8 -N 2 "$$1") )) "$$1" | tr -s ' ' '\n' | sed '/^$$/d'; }

.PHONY: all clean
all: $(OUT)/noise.png $(OUT)/contrast.png $(OUT)/rt.png $(OUT)/lesion.png $(OUT)/fixed.png

$(OUT)/.dir:
	mkdir -p $(OUT) && rm -f $(OUT)/times.tsv && touch $@

$(OUT)/noise.tsv: $(OUT)/.dir $(CNN) $(RNN) $(TEST)
	printf 'sigma\tcnn_image\tcnn_frame\trnn_image\trnn_frame\trnn_state\n' > $@.tmp
	for s in $(SIGMAS); do row=$$s; \
		for m in cnn:image cnn:frame rnn:image rnn:frame rnn:state; do \
			model="$(RNN)"; [ $${m%%:*} = cnn ] && model="$(CNN) --stim $(STIM)"; \
			$(call TIME,noise) $(INFER) -m $$model --noise $$s --noise-mode $${m#*:} -o /dev/null \
				$(TEST) 2> $(OUT)/noise.err || { cat $(OUT)/noise.err >&2; exit 1; }; \
			row="$$row	$$($(ACC) $(OUT)/noise.err)"; done; \
		printf '%s\n' "$$row" >> $@.tmp; done
	mv $@.tmp $@
	cat $@

$(OUT)/noise.png: $(OUT)/noise.tsv
	$(call PLOT,set output '$@'; set title 'accuracy against noise: BN CNN and CordsNet (same draws)'; \
		set xlabel 'noise sigma (normalised input units; state: sigma sqrt(alpha) per step)'; \
		set ylabel 'test accuracy (%)'; set yrange [0:100]; \
		plot '$<' using 1:2 with linespoints dt 2 lc rgb '#c03020'$(COMMA) \
		'' using 1:3 with linespoints dt 2 lc rgb '#2050c0'$(COMMA) \
		'' using 1:4 with linespoints lw 2 lc rgb '#c03020'$(COMMA) \
		'' using 1:5 with linespoints lw 2 lc rgb '#2050c0'$(COMMA) \
		'' using 1:6 with linespoints lw 2 lc rgb '#208040')

# accuracy, accuracy at the reaction time, mean RT; the full-contrast run's rt
# records kept for rt.tsv
$(OUT)/contrast.tsv: $(OUT)/.dir $(RNN) $(TEST)
	printf 'contrast\taccuracy\trt_accuracy\tmean_rt\treached\n' > $@.tmp
	for c in $(CONTRASTS); do \
		$(call TIME,contrast) $(INFER) -m $(RNN) --contrast $$c --rt $(RT_THETA) -o $(OUT)/contrast-$$c.tzst \
			$(TEST) 2> $(OUT)/contrast.err || { cat $(OUT)/contrast.err >&2; exit 1; }; \
		printf '%s\t%s\t%s\n' $$c "$$($(ACC) $(OUT)/contrast.err)" "$$(awk '$$2 == "rt" { \
			gsub(/[(),]/, " "); printf "%.2f\t%s\t%s", 100 * $$5, ($$11 > 0 ? $$9 : "NaN"), $$11 }' $(OUT)/contrast.err)" >> $@.tmp; \
		[ $$c = 1 ] || rm -f $(OUT)/contrast-$$c.tzst; done
	mv $@.tmp $@
	cat $@

$(OUT)/contrast.png: $(OUT)/contrast.tsv
	$(call PLOT,set output '$@'; set title 'CordsNet: accuracy and reaction time (softmax max >= $(RT_THETA)) against contrast'; \
		set xlabel 'contrast'; set ylabel 'test accuracy (%)'; set yrange [0:100]; set y2label 'mean reaction time (steps)'; \
		set y2tics; set ytics nomirror; set logscale x; \
		plot '$<' using 1:2 with linespoints lw 2$(COMMA) '' using 1:3 with linespoints lw 2$(COMMA) \
		'' using 1:4 axes x1y2 with linespoints lw 2)

# the reaction times of the full-contrast run: step, correct, wrong (images)
$(OUT)/rt.tsv: $(OUT)/contrast.tsv
	rm -rf $(OUT)/rt.npy && mkdir -p $(OUT)/rt.npy
	$(BIN)/cords-cat -n rt -n rt_class -n y --npy-dir $(OUT)/rt.npy $(OUT)/contrast-1.tzst
	$(NPY_I64); for n in rt rt_class y; do : > $(OUT)/rt.npy/$$n.txt; for f in $$(cd $(OUT)/rt.npy && ls $$n.npy $$n.*.npy 2>/dev/null | \
		grep -E "^$$n(\.[0-9]+)?\.npy$$" | sort -t. -k2n); do npy_i64 $(OUT)/rt.npy/$$f >> $(OUT)/rt.npy/$$n.txt; done; done; \
	paste $(OUT)/rt.npy/rt.txt $(OUT)/rt.npy/rt_class.txt $(OUT)/rt.npy/y.txt | awk -F'\t' ' \
		$$1 >= 0 { if ($$2 == $$3) c[$$1]++; else w[$$1]++; if ($$1 > max) max = $$1 } \
		END { print "rt_step\tcorrect\twrong"; for (t = 1; t <= max; t++) printf "%d\t%d\t%d\n", t, c[t], w[t] }' > $@
	rm -rf $(OUT)/rt.npy
	cat $@

$(OUT)/rt.png: $(OUT)/rt.tsv
	$(call PLOT,set output '$@'; set title 'CordsNet: reaction times (softmax max >= $(RT_THETA)) of correct and wrong answers'; \
		set xlabel 'steps after the image appears'; set ylabel 'images'; set style data histogram; \
		set style histogram clustered; set style fill solid; \
		plot '$<' using 2:xtic(1)$(COMMA) '' using 3)

$(OUT)/lesion.tsv: $(OUT)/.dir $(RNN) $(TEST)
	printf 'condition\taccuracy\n' > $@.tmp
	for c in intact $$(seq 0 $$(( $(DEPTH) - 1 ))) no-recurrence; do \
		case $$c in intact) opt= ;; no-recurrence) opt=--no-recurrence ;; *) opt="--lesion $$c" ;; esac; \
		$(call TIME,lesion) $(INFER) -m $(RNN) $$opt -o /dev/null $(TEST) 2> $(OUT)/lesion.err || \
			{ cat $(OUT)/lesion.err >&2; exit 1; }; \
		printf '%s\t%s\n' "$$( [ -z "$${c##[0-9]*}" ] && echo "area $$c lesioned" || echo $$c)" \
			"$$($(ACC) $(OUT)/lesion.err)" >> $@.tmp; done
	mv $@.tmp $@
	cat $@

$(OUT)/lesion.png: $(OUT)/lesion.tsv
	$(call PLOT,set output '$@'; set title 'CordsNet: accuracy with an area silenced, and without recurrence'; \
		set style data histogram; set style fill solid; set ylabel 'test accuracy (%)'; set yrange [0:100]; \
		plot '$<' using 2:xtic(1))

# For each of the first FIXED_IMAGES test images (one-image batch streams):
# the spectral radius of the whole network's one-step Jacobian at the state
# after the protocol (cords-eig --op network --at IMAGE), and at the fixed
# point r* of the one-step map from there (cords-eig --at fixed:IMAGE,
# Newton-Krylov), with its residual ||F(r*) - r*|| / ||r*||, as cords-eig(1)
# reports them on stderr. The top eigenvalue converged (--converge -k 1), so
# the radius is a measured one, not a bound.
EIG = $(BIN)/cords-eig -m $(RNN) --op network --converge -k 1 --top 1 --device $(DEVICE)
RADIUS = sed -n 's/^cords-eig: spectral radius[^0-9]*\([0-9][0-9.eE+-]*\).*/\1/p' $(1) | head -n 1
RESIDUAL = sed -n 's/^cords-eig: fixed point: residual[^=]*= \([0-9][0-9.eE+-]*\).*/\1/p' $(1) | head -n 1
$(OUT)/fixed.tsv: $(OUT)/.dir $(RNN) $(TEST)
	printf 'image\tradius_after_protocol\tfixed_residual\tradius_at_fixed\n' > $@.tmp
	for i in $$(seq 0 $$(( $(FIXED_IMAGES) - 1 ))); do \
		$(HERE)one-image.sh $(BIN) $(TEST) $$i $(OUT)/img.tzst || exit 1; \
		$(call TIME,fixed) $(EIG) --at $(OUT)/img.tzst -o /dev/null 2> $(OUT)/fixed.err || \
			{ cat $(OUT)/fixed.err >&2; exit 1; }; \
		r=$$($(call RADIUS,$(OUT)/fixed.err)); \
		$(call TIME,fixed) $(EIG) --at fixed:$(OUT)/img.tzst -o /dev/null 2> $(OUT)/fixed.err || \
			{ cat $(OUT)/fixed.err >&2; exit 1; }; \
		res=$$($(call RESIDUAL,$(OUT)/fixed.err)); rf=$$($(call RADIUS,$(OUT)/fixed.err)); \
		printf '%d\t%s\t%s\t%s\n' $$i "$${r:-NaN}" "$${res:-NaN}" "$${rf:-NaN}" >> $@.tmp; done
	rm -f $(OUT)/img.tzst
	mv $@.tmp $@
	cat $@

$(OUT)/fixed.png: $(OUT)/fixed.tsv
	$(call PLOT,set output '$@'; set title 'CordsNet: spectral radius of the one-step map (stable below 1)'; \
		set xlabel 'test image'; set ylabel 'spectral radius'; set y2label 'fixed-point residual'; set y2tics; \
		set ytics nomirror; set logscale y2; \
		plot '$<' using 1:2 with points pt 7 title 'after the protocol'$(COMMA) \
		'' using 1:4 with points pt 9 title 'at the fixed point'$(COMMA) \
		'' using 1:3 axes x1y2 with points pt 2 title 'residual |F(r*) - r*| / |r*|')

clean:
	rm -rf $(OUT)
