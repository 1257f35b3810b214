# The paper's full settings on cifar100 (cords-training(7), cords-data(7)): CordsNet-R8 at 224x224, the
# published schedule. Override DATA (where the distribution files are), DEVICE, OUT, DEPTH.
#   make -f pipelines/cifar100-paper.mk DATA=... DEVICE=cuda:0
DATASET := cifar100
DATA ?= cifar-100-binary.tar.gz
TRAIN_IMAGES ?= 50000
DEPTH ?= 8
include $(dir $(lastword $(MAKEFILE_LIST)))paper.mk
