# The paper's full settings on mnist (cords-training(7), cords-data(7)): CordsNet-R8 at 224x224, the
# published schedule. Override DATA (where the distribution files are), DEVICE, OUT, DEPTH.
#   make -f pipelines/mnist-paper.mk DATA=... DEVICE=cuda:0
DATASET := mnist
DATA ?= /usr/share/datasets/mnist
TRAIN_IMAGES ?= 60000
DEPTH ?= 8
include $(dir $(lastword $(MAKEFILE_LIST)))paper.mk
