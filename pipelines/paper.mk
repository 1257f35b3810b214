# The paper's full three-step method (the defaults of cords-training(7)), shared by the
# *-paper.mk files, which set DATASET, DATA, TRAIN_IMAGES and DEPTH. Batches
# are piped from cords-prep into each tool (`--epochs N` streams carry every
# epoch, re-augmented; nothing of the size of ImageNet is kept on disk).
#   make -f pipelines/imagenet-paper.mk DATA=/data/imagenet DEVICE=cuda:0 OUT=runs/imagenet
# Variables: BIN, DATA (the distribution files), OUT, DEVICE, SIZE (224), DEPTH,
# SEED, WORKERS, and every schedule number below.

# Idle OpenMP threads sleep soon: see ENVIRONMENT in cords(7).
export GOMP_SPINCOUNT ?= 10000
BIN ?= bin
OUT ?= runs/$(DATASET)
DEVICE ?= cpu
SIZE ?= 224
SEED ?= 0
WORKERS ?= 8
# stage 1: BN CNN, SGD momentum 0.9, weight decay 1e-4, three rounds of 100 epochs, batch 256
CNN_BATCH ?= 256
CNN_ROUNDS ?= 0.1,0.01,0.001
CNN_EPOCHS ?= 100
# stage 3: inverse, AdamW lr 1e-4, clip 1e-3, 100 epochs, batch 64
INV_BATCH ?= 64
INV_EPOCHS ?= 100
# stages 4-6: AdamW lr 1e-5, clip 1e-4; 100 / 20 / 20 epochs; full protocol (100 + 100 + 100 steps)
RNN_BATCH ?= 64
LIN_EPOCHS ?= 100
ANNEAL_EPOCHS ?= 20
FT_EPOCHS ?= 20

comma := ,
CNN_ROUND_COUNT := $(words $(subst $(comma), ,$(CNN_ROUNDS)))
batches = $$(( ($(TRAIN_IMAGES) + $(1) - 1) / $(1) ))
PREP = $(BIN)/cords-unpack --split train $(DATA) | $(BIN)/cords-prep --dataset $(DATASET) --split train \
	--size $(SIZE) --workers $(WORKERS)
COMMON = --device $(DEVICE) --checkpoint $@.ckpt --every 1000 --eval $(OUT)/test.tzst --eval-batches 20

.PHONY: all clean
all: $(OUT)/finetune.tzst $(OUT)/finetune.acc

$(OUT)/.dir:
	mkdir -p $(OUT) && touch $@
$(OUT)/test.tzst: $(OUT)/.dir
	$(BIN)/cords-unpack --split test $(DATA) | $(BIN)/cords-prep --dataset $(DATASET) --split test \
		--size $(SIZE) --batch 100 -o $@
$(OUT)/init.tzst: $(OUT)/.dir
	$(BIN)/cords-init --dataset $(DATASET) --size $(SIZE) --depth $(DEPTH) --seed $(SEED) -o $@
$(OUT)/cnn.tzst: $(OUT)/init.tzst $(OUT)/test.tzst
	$(PREP) --batch $(CNN_BATCH) --epochs $$(( $(CNN_EPOCHS) * $(CNN_ROUND_COUNT) )) --seed $(SEED) | \
		$(BIN)/cords-cnn -m $(OUT)/init.tzst --rounds $(CNN_ROUNDS) --epochs $(CNN_EPOCHS) \
		--epoch-batches $(call batches,$(CNN_BATCH)) $(COMMON) --log $(OUT)/cnn.tsv -o $@
$(OUT)/fold.tzst: $(OUT)/cnn.tzst
	$(BIN)/cords-fold $< --check $(OUT)/test.tzst --check-batches 2 --device $(DEVICE) -o $@
$(OUT)/inverse.tzst: $(OUT)/fold.tzst
	$(PREP) --batch $(INV_BATCH) --epochs $(INV_EPOCHS) --seed $$(( $(SEED) + 1 )) | \
		$(BIN)/cords-inverse -m $< --epochs $(INV_EPOCHS) --epoch-batches $(call batches,$(INV_BATCH)) \
		$(COMMON) --log $(OUT)/inverse.tsv -o $@
$(OUT)/linear.tzst: $(OUT)/inverse.tzst
	$(PREP) --batch $(RNN_BATCH) --epochs $(LIN_EPOCHS) --seed $$(( $(SEED) + 2 )) | \
		$(BIN)/cords-linear -m $< --epochs $(LIN_EPOCHS) --epoch-batches $(call batches,$(RNN_BATCH)) \
		$(COMMON) --log $(OUT)/linear.tsv -o $@
$(OUT)/anneal.tzst: $(OUT)/linear.tzst
	$(PREP) --batch $(RNN_BATCH) --epochs $(ANNEAL_EPOCHS) --seed $$(( $(SEED) + 3 )) | \
		$(BIN)/cords-anneal -m $< --epochs $(ANNEAL_EPOCHS) --epoch-batches $(call batches,$(RNN_BATCH)) \
		$(COMMON) --log $(OUT)/anneal.tsv -o $@
$(OUT)/finetune.tzst: $(OUT)/anneal.tzst
	$(PREP) --batch $(RNN_BATCH) --epochs $(FT_EPOCHS) --seed $$(( $(SEED) + 4 )) | \
		$(BIN)/cords-finetune -m $< --epochs $(FT_EPOCHS) --epoch-batches $(call batches,$(RNN_BATCH)) \
		$(COMMON) --log $(OUT)/finetune.tsv -o $@
$(OUT)/finetune.acc: $(OUT)/finetune.tzst $(OUT)/test.tzst
	$(BIN)/cords-infer -m $< --device $(DEVICE) -o $(OUT)/finetune.logits.tzst $(OUT)/test.tzst 2> $@

clean:
	rm -rf $(OUT)
