# Your own photos -> a trained model's activity in areas 6 and 7 at every time step.
#
#   make -f pipelines/own-images.mk PHOTOS=my-photos MODEL=model.tzst [OUT=activity.npz]
#
# PHOTOS is a directory of JPEG/PNG images of any size and aspect ratio (read
# recursively, in sorted order) or a list of image files. Each photo gets the
# ImageNet test transform (shorter side to 256, centre crop 224, normalise),
# then the model runs the paper's protocol (100 blank steps, 100 with the
# image) and records the states of areas 6 and 7 at all 200 steps:
# OUT holds r6, r7 [200, B, c, h, w] (and r6.1, r7.1, ... for further batches
# of BATCH images), plus the logits of each batch. Load it with numpy.load().
# Idle OpenMP threads sleep soon: see ENVIRONMENT in cords(7).
export GOMP_SPINCOUNT ?= 10000
BIN ?= bin
PHOTOS ?= photos
MODEL ?= model.tzst
OUT ?= activity.npz
AREAS ?= 6,7
SIZE ?= 224
BATCH ?= 16
INFER_OPTS ?=
WORK ?= $(basename $(OUT)).work

.PHONY: all clean
all: $(OUT)

# The sample stream: the photos' original bytes, checked, label -1.
$(WORK)/samples.tzst: $(shell find $(PHOTOS) -type f 2>/dev/null | sort)
	@mkdir -p $(WORK)
	$(BIN)/cords-unpack --dataset files -o $@ $(PHOTOS)

# The ImageNet test transform, in the photos' order.
$(WORK)/batches.tzst: $(WORK)/samples.tzst
	$(BIN)/cords-prep --dataset files --split test --size $(SIZE) --batch $(BATCH) -o $@ $<

$(WORK)/activity.tzst: $(WORK)/batches.tzst $(MODEL)
	$(BIN)/cords-infer -m $(MODEL) --record $(AREAS) $(INFER_OPTS) -o $@ $<

$(OUT): $(WORK)/activity.tzst
	$(BIN)/cords-cat --npz $@ $<

clean:
	rm -rf $(WORK) $(OUT)
