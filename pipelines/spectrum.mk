# The spectrum of a model's operator, computed by cords-eig and drawn in the
# complex plane with the stability boundary of that operator (cords-eig(1)).
#   make -f pipelines/spectrum.mk MODEL=model.tzst [AREA=0] [OP=conv|jacobian|network]
#        [AT=spont|batch.tzst] [K=300] [BIN=bin] [OUT=.]
# gives $(OUT)/spectrum-$(OP)-$(AREA).tsv and .png.
# Idle OpenMP threads sleep soon: see ENVIRONMENT in cords(7).
export GOMP_SPINCOUNT ?= 10000
BIN ?= bin
OUT ?= .
OP ?= conv
AREA ?= 0
AT ?= spont
K ?= 300
ifndef MODEL
$(error MODEL=model.tzst is required)
endif
ALPHA := $(or $(shell $(BIN)/cords-cat -m $(MODEL) 2>/dev/null | sed -n 's/^alpha=//p' | head -n 1),0.2)
NAME := $(OUT)/spectrum-$(OP)-$(if $(filter network,$(OP)),all,$(AREA))
AREA_OPT := $(if $(filter network,$(OP)),,--area $(AREA))
AT_OPT := $(if $(filter conv,$(OP)),,--at $(AT))
HERE := $(dir $(lastword $(MAKEFILE_LIST)))

.PHONY: all
all: $(NAME).png

$(NAME).tsv: $(MODEL)
	$(BIN)/cords-eig -m $(MODEL) $(AREA_OPT) --op $(OP) $(AT_OPT) -k $(K) --tsv -o $@

$(NAME).png: $(NAME).tsv $(HERE)spectrum.gp
	gnuplot -e "data='$<'; out='$@'; op='$(OP)'; alpha=$(ALPHA)" $(HERE)spectrum.gp
