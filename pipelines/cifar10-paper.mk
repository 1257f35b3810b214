# The paper's full settings on cifar10 (cords-training(7), cords-data(7)): CordsNet-R8 at 224x224, the
# published schedule. Override DATA (where the distribution files are), DEVICE, OUT, DEPTH.
#   make -f pipelines/cifar10-paper.mk DATA=... DEVICE=cuda:0
DATASET := cifar10
DATA ?= cifar-10-binary.tar.gz
TRAIN_IMAGES ?= 50000
DEPTH ?= 8
include $(dir $(lastword $(MAKEFILE_LIST)))paper.mk
