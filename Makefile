# cords — one Makefile for the library, the tools, the CUDA backend, tests and install.
#   make                 tools in bin/
#   make check           unit and command-line tests (ends with "N passed, N failed, N skipped")
#   make check SANITIZE=1  the same under AddressSanitizer + UBSan (build in build-san/)
#   make install PREFIX=/usr/local DESTDIR=
#   make deps            install the Debian packages the build and the tests need
#   make mutate          the unit tests' mutation score (test/mutate.py; slow, not in check)
#   make bench-deps      PyPI's torch for the benchmarks, in BENCH_VENV (bench/deps.sh)
#   CUDA=0               never build the CUDA backend (default: built when nvcc is found)

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
SANITIZE ?=
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA ?= $(if $(NVCC),1,0)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))

# -march=native only if the compiler accepts it for this machine; MARCH= to override.
MARCH ?= $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)
OPT ?= -O3

PKGS := libzstd libarchive libjpeg libpng lapacke openblas ompi-c netcdf
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
BUILD := build-san
BIN := build-san/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g
else ifeq ($(FUZZ),1)
# libFuzzer build (make fuzz): clang, with gcc's OpenMP runtime as oneDNN uses it.
BUILD := build-fuzz
BIN := build-fuzz/bin
CC := clang
OMP := -fopenmp=libgomp
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT := -O1 -g
else
BUILD := build
BIN := bin
SANFLAGS :=
endif
OMP ?= -fopenmp

# lib/ is one folder a layer (lib/README); every folder is on the include path.
LIB_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard lib/*/*.h))))
LIB_INC := $(LIB_DIRS:%=-I%) -Icmd/common
LIB_HDR := $(wildcard lib/*/*.h)

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS ?= $(OPT) $(MARCH) -g
ALL_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -DCORDS_VERSION='"$(VERSION)"' \
	$(WARN) $(OMP) $(LIB_INC) $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS := -Wl,--as-needed $(PKG_LIBS) -ldnnl -lz -lm $(OMP)
EMU_LDLIBS := $(LDLIBS) -lstdc++

LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_SRC := $(wildcard cmd/*.c)
# cmd/common: the command-line helpers the tools share (they print and exit).
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/common/*.c))
TOOLS := $(CMD_SRC:cmd/%.c=$(BIN)/cords-%)
UNIT_SRC := $(wildcard test/unit/*.c)
UNITS := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%) $(BUILD)/test/backend_cuda_emu
# The tools test/cli/cuda_emu.sh runs with --device cuda on the emulation.
EMU_TOOLS := $(patsubst %,$(BUILD)/emu/bin/cords-%,infer linear anneal finetune cnn fold inverse eig)
# Fuzz targets: test/fuzz/NAME.c defines LLVMFuzzerTestOneInput; make check
# replays testdata/fuzz/NAME/* through each with test/fuzz/driver.c, which
# holds the inputs test/fuzz/outcomes names to what they must give.
FUZZ_NAMES := $(filter-out driver,$(patsubst test/fuzz/%.c,%,$(wildcard test/fuzz/*.c)))
REPLAYS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
LIBA := $(BUILD)/libcords.a

# The CUDA backend: kernels/*.cu when enabled, else kernels/absent.c, which
# reports "built without CUDA". Either way the same symbols are defined.
ifeq ($(CUDA),1)
CU_SRC := $(wildcard kernels/*.cu)
KERN_OBJ := $(if $(CU_SRC),$(CU_SRC:%.cu=$(BUILD)/%.o),$(BUILD)/kernels/absent.o)
NVFLAGS ?= -O3 -std=c++17 -arch=sm_90 -Xcompiler -Wall,-Werror $(LIB_INC)
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublas -lcudart -lstdc++
else
KERN_OBJ := $(if $(wildcard kernels/absent.c),$(BUILD)/kernels/absent.o)
endif

.PHONY: all check test install deps clean demo experiments bench bench-deps fuzz fuzz-run mutate
.SECONDARY:
all: $(TOOLS)

# V=1 shows the full commands.
ifneq ($(V),1)
Q := @
endif

$(BUILD)/%.o: %.c $(LIB_HDR) $(wildcard cmd/common/*.h) Makefile
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/kernels/%.o: kernels/%.cu $(LIB_HDR) $(wildcard kernels/*.h) Makefile
	@mkdir -p $(@D)
	@$(if $(Q),echo "  NVCC    $<")
	$(Q)$(NVCC) $(NVFLAGS) -c -o $@ $<

# The archive remembers which CUDA setting built it, so switching CUDA=0/1
# in one build folder swaps kernels/absent.o and the CUDA objects.
$(BUILD)/cuda-%.stamp:
	@mkdir -p $(@D)
	@rm -f $(BUILD)/cuda-*.stamp
	@touch $@

$(LIBA): $(LIB_OBJ) $(KERN_OBJ) $(BUILD)/cuda-$(CUDA).stamp
	@rm -f $@
	$(Q)ar rcs $@ $(filter %.o,$^)

$(BIN)/cords-%: $(BUILD)/cmd/%.o $(CLI_OBJ) $(LIBA)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/test/%: test/unit/%.c $(wildcard test/unit/*.h) $(LIBA)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(LIBA) $(LDLIBS)

# The CUDA backend's tests on the CPU, nvcc or not: kernels/*.cu as C++ with
# each launch k<<<...>>>(args) rewritten as emu_launch(k, ...)(args), on the
# emulated runtime, cuDNN, cuBLAS and NCCL of test/cuda_emu/ (its
# cuda_runtime.h says what that shows and what not).
EMU_OBJ := $(patsubst kernels/%.cu,$(BUILD)/emu/%.o,$(wildcard kernels/*.cu)) $(BUILD)/emu/emu.o
EMU_CXXFLAGS := -std=c++17 $(WARN) -Wno-missing-field-initializers -Itest/cuda_emu -Ikernels $(LIB_INC) $(SANFLAGS) \
	-O2 -g

$(BUILD)/emu/%.cc: kernels/%.cu
	@mkdir -p $(@D)
	$(Q)perl -pe 's/(\w+)<<<(.*?)>>>\(/emu_launch($$1, $$2)(/g' $< >$@

$(BUILD)/emu/%.o: $(BUILD)/emu/%.cc $(LIB_HDR) $(wildcard kernels/*.h test/cuda_emu/*.h) Makefile
	@$(if $(Q),echo "  CXX     $(<:$(BUILD)/emu/%.cc=kernels/%.cu) (emulated)")
	$(Q)$(CXX) $(EMU_CXXFLAGS) $(if $(findstring cuda_nccl,$<),-Ddlopen=emu_dlopen -Ddlsym=emu_dlsym \
		-Ddlclose=emu_dlclose -Ddlerror=emu_dlerror) -c -o $@ $<

$(BUILD)/emu/emu.o: test/cuda_emu/emu.cc $(wildcard test/cuda_emu/*.h) Makefile
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(EMU_CXXFLAGS) -c -o $@ $<

$(BUILD)/test/backend_cuda_emu: test/unit/backend_cuda.c $(wildcard test/unit/*.h) $(LIB_OBJ) $(EMU_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(LIB_OBJ) $(EMU_OBJ) $(EMU_LDLIBS)

$(BUILD)/emu/bin/cords-%: $(BUILD)/cmd/%.o $(CLI_OBJ) $(LIB_OBJ) $(EMU_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(CLI_OBJ) $(LIB_OBJ) $(EMU_OBJ) $(EMU_LDLIBS)

$(BUILD)/bench/%: bench/%.c $(CLI_OBJ) $(LIBA)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/fuzz/%: test/fuzz/%.c test/fuzz/driver.c $(wildcard test/fuzz/*.h) $(LIBA)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< test/fuzz/driver.c $(LIBA) $(LDLIBS)

$(BUILD)/fuzzer/%: test/fuzz/%.c $(wildcard test/fuzz/*.h) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LDLIBS)

# make fuzz FUZZ_SECONDS=N: every target for N seconds; new corpus entries go
# to build-fuzz/corpus/NAME, crashes to build-fuzz/crashes/ (copy them to
# testdata/fuzz/NAME/ once fixed: make check then replays them). Inputs slower
# than libFuzzer's 10 s under the sanitizers are kept there as slow-unit-*.
fuzz:
	$(MAKE) FUZZ=1 fuzz-run

fuzz-run: $(FUZZ_NAMES:%=$(BUILD)/fuzzer/%)
	@mkdir -p $(BUILD)/crashes
	@for n in $(FUZZ_NAMES); do mkdir -p $(BUILD)/corpus/$$n; \
		echo "fuzz $$n for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzzer/$$n -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
			-artifact_prefix=$(BUILD)/crashes/$$n- $(BUILD)/corpus/$$n testdata/fuzz/$$n \
			2>&1 | grep -E '(DONE|ERROR|SUMMARY|^Done)' || true; done
	@if ls $(BUILD)/crashes | grep -v -q slow-unit; then echo "fuzz: crashes in $(BUILD)/crashes/"; exit 1; fi
	@if ls $(BUILD)/crashes | grep -q slow-unit; then echo "fuzz: slow inputs (not failures) in $(BUILD)/crashes/"; fi

# Benchmark programs (bench/*.c); the scripts under bench/ say how to run them.
bench: $(TOOLS) $(BENCHES)

# What the benchmarks measure against: PyPI's torch, torchvision and scipy in a
# virtual environment outside the tree, BENCH_VENV (default /work/venv-torch).
bench-deps:
	sh bench/deps.sh

check test: $(TOOLS) $(UNITS) $(EMU_TOOLS) $(REPLAYS)
	@BIN=$(CURDIR)/$(BIN) BUILD=$(CURDIR)/$(BUILD) SANITIZE=$(SANITIZE) sh test/run.sh

# make mutate: mutants planted in a scratch copy (build-mutate/src), each
# killed or not by the unit tests that run its line (test/mutate.py says
# how). MUTANTS=N: at most N a file, the same N every time (MUTANTS=0: all,
# hours); MUTATE_FILES=...: these files only; MUTATE_IDS=...: these mutants;
# MUTATE_SANITIZE=0: survivors not run again under ASan and UBSan.
MUTANTS ?= 40
MUTATE_FILES ?=
MUTATE_IDS ?=
MUTATE_SANITIZE ?= 1
mutate:
	python3 test/mutate.py --sample $(MUTANTS) $(if $(filter 1,$(MUTATE_SANITIZE)),--sanitize) \
		$(if $(MUTATE_IDS),--ids '$(MUTATE_IDS)') $(MUTATE_FILES)

install: $(TOOLS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	for s in 1 5 7; do for f in man/man$$s/*.$$s; do [ -f "$$f" ] && \
		install -m 644 "$$f" $(DESTDIR)$(PREFIX)/share/man/man$$s/; done; done; true

deps:
	sh scripts/deps.sh

demo: $(TOOLS)
	$(MAKE) -f pipelines/fashion-mnist.mk BIN=$(CURDIR)/$(BIN)

# after `make demo`: noise, contrast and reaction times, lesions, fixed points (cords(7) EXPERIMENTS)
experiments: $(TOOLS)
	$(MAKE) -f pipelines/experiments.mk BIN=$(CURDIR)/$(BIN)

clean:
	rm -rf build build-san build-fuzz build-mutate bin
