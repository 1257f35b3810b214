# The paper's full settings on imagenet (cords-training(7), cords-data(7)): CordsNet-R8 at 224x224, the
# published schedule. Override DATA (where the distribution files are), DEVICE, OUT, DEPTH.
#   make -f pipelines/imagenet-paper.mk DATA=... DEVICE=cuda:0
DATASET := imagenet
DATA ?= ILSVRC2012_img_train.tar ILSVRC2012_img_val.tar ILSVRC2012_devkit_t12.tar.gz
TRAIN_IMAGES ?= 1281167
DEPTH ?= 8
include $(dir $(lastword $(MAKEFILE_LIST)))paper.mk
