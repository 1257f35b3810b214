# Your own photos -> a trained model's activity in areas 6 and 7 at every time step.
#
#   make -f pipelines/own-images.mk PHOTOS=my-photos MODEL=model.tzst [OUT=activity.nc]
#
# PHOTOS is a directory of JPEG/PNG images of any size and aspect ratio (read
# recursively, in byte-sorted order of their paths; other files are ignored,
# and named by cords-unpack -v) or a list of image files. A folder without
# images is an error. Each photo gets the ImageNet test transform (shorter
# side to 256, centre crop 224, normalise), then the model runs the paper's
# protocol (100 blank steps, 100 with the image) and records the states of
# areas 6 and 7 at all 200 steps.
#
# OUT (default activity.nc) is a netCDF-4 file for xarray: r6, r7 (time_bin,
# presentation, c, y, x), logits, logits_t, with the coordinates time_ms and
# stimulus (each photo's path relative to PHOTOS): see cords-cat(1) --netcdf.
#   import xarray; d = xarray.open_dataset('activity.nc')
# OUT=activity.npz writes a NumPy .npz instead (cords-cat --npz).
#
# The variables that shape the output (PHOTOS' files, MODEL, AREAS, SIZE,
# BATCH, INFER_OPTS, OUT) are kept in $(WORK)/vars.stamp: changing any of
# them rebuilds what depends on it.
# Idle OpenMP threads sleep soon: see ENVIRONMENT in cords(7).
export GOMP_SPINCOUNT ?= 10000
BIN ?= bin
PHOTOS ?= photos
MODEL ?= model.tzst
OUT ?= activity.nc
AREAS ?= 6,7
SIZE ?= 224
BATCH ?= 16
INFER_OPTS ?=
WORK ?= $(basename $(OUT)).work

FILES := $(shell find $(PHOTOS) -type f 2>/dev/null | LC_ALL=C sort)
VARS := PHOTOS=$(PHOTOS) FILES=$(FILES) MODEL=$(MODEL) AREAS=$(AREAS) SIZE=$(SIZE) BATCH=$(BATCH) INFER_OPTS=$(INFER_OPTS) OUT=$(OUT)

.PHONY: all clean FORCE
all: $(OUT)

# Rewritten only when a variable changed, so that its date says when.
$(WORK)/vars.stamp: FORCE
	@mkdir -p $(WORK)
	@printf '%s\n' '$(subst ','\'',$(VARS))' | cmp -s - $@ || printf '%s\n' '$(subst ','\'',$(VARS))' > $@

# The sample stream: the photos' original bytes, checked, label -1, each
# with its name.
$(WORK)/samples.tzst: $(FILES) $(WORK)/vars.stamp
	$(BIN)/cords-unpack --dataset files -o $@ $(PHOTOS)

# The ImageNet test transform, in the photos' order.
$(WORK)/batches.tzst: $(WORK)/samples.tzst $(WORK)/vars.stamp
	$(BIN)/cords-prep --dataset files --split test --size $(SIZE) --batch $(BATCH) -o $@ $<

$(WORK)/activity.tzst: $(WORK)/batches.tzst $(MODEL) $(WORK)/vars.stamp
	$(BIN)/cords-infer -m $(MODEL) --record $(AREAS) $(INFER_OPTS) -o $@ $<

$(OUT): $(WORK)/activity.tzst $(WORK)/vars.stamp
	$(BIN)/cords-cat $(if $(filter %.npz,$(OUT)),--npz,--netcdf) $@ $<

clean:
	rm -rf $(WORK) $(OUT)
