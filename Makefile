# The two commands of the README, and a few more. CMake does the building.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all build demo test asan fuzz install clean deps deps-test fuzz-data fuzz-build python golden

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# Quiet by default: one line per stage, the full output in $(BUILD)/*.log (shown when a
# stage fails). VERBOSE=1 prints everything.
ifeq ($(VERBOSE),1)
QUIET :=
else
QUIET = >$(BUILD)/$(1).log 2>&1 || { tail -n 40 $(BUILD)/$(1).log; echo "failed: see $(BUILD)/$(1).log" >&2; exit 1; }
endif

$(BUILD)/CMakeCache.txt:
	@echo "configuring $(BUILD)/ (CMake, Release)"
	@mkdir -p $(BUILD) && cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(call QUIET,configure)

build: deps $(BUILD)/CMakeCache.txt
	@echo "building the library, the command, the tests and the examples in $(BUILD)/"
	@cmake --build $(BUILD) -j $(JOBS) $(call QUIET,build)

# The main job: builds if needed, then runs the demo.
demo: build
	$(BUILD)/descent demo

# The golden vectors again from torch (Debian's python3-torch), into a temporary
# directory: fails, showing which files differ, if they no longer match the committed
# ones (a changed script or torch). Copy them over only on purpose.
GOLDEN_PY ?= /usr/bin/python3
golden:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GOLDEN_PY) tests/golden/make_golden.py "$$tmp"; \
	$(GOLDEN_PY) tests/golden/make_beyond.py > "$$tmp/beyond_golden.h"; \
	$(GOLDEN_PY) tests/golden/make_clip.py > "$$tmp/clip.txt"; \
	$(GOLDEN_PY) tests/golden/make_schedules.py > "$$tmp/schedules.txt"; \
	$(GOLDEN_PY) tests/golden/make_sparse.py > "$$tmp/sparse_adam.txt"; \
	$(GOLDEN_PY) tests/golden/make_lbfgs.py > "$$tmp/lbfgs.txt"; \
	bad=0; for f in "$$tmp"/*; do \
	  if ! cmp -s "$$f" "tests/golden/$$(basename "$$f")"; then echo "golden: tests/golden/$$(basename "$$f") differs from torch's"; bad=1; fi; \
	done; \
	[ $$bad = 0 ] && echo "golden: every file matches torch ($$(ls "$$tmp" | wc -l) files)"; exit $$bad

# Every test through CTest.
test: deps-test $(BUILD)/CMakeCache.txt
	@echo "building in $(BUILD)/"
	@cmake --build $(BUILD) -j $(JOBS) $(call QUIET,build)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps-test
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DDSC_SANITIZE=ON
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# Every file loader under libFuzzer + ASan + UBSan (clang, one CMake tree): the
# checkpoint loader for FUZZ_CHECKPOINT_SECONDS, each dataset parser for FUZZ_SECONDS,
# from the committed seed corpora (new inputs go to $(BUILD)-fuzz/corpus_*, not into
# the repo). make fuzz-data runs the dataset parsers only.
FUZZ_SECONDS ?= 10
FUZZ_CHECKPOINT_SECONDS ?= 30
fuzz-build: deps-test
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDSC_FUZZ=ON -DDSC_TESTS=OFF
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_checkpoint fuzz_csv fuzz_npy fuzz_npz fuzz_idx

fuzz-data: fuzz-build
	set -e; for t in csv npy npz idx; do \
	  mkdir -p $(BUILD)-fuzz/corpus_$$t; \
	  ASAN_OPTIONS=detect_leaks=1 $(BUILD)-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)-fuzz/crash_$$t- $(BUILD)-fuzz/corpus_$$t fuzz/corpus/$$t; \
	done

fuzz: fuzz-data
	mkdir -p $(BUILD)-fuzz/corpus_checkpoint
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)-fuzz/fuzz_checkpoint -max_total_time=$(FUZZ_CHECKPOINT_SECONDS) \
		-max_len=16384 -print_final_stats=1 -artifact_prefix=$(BUILD)-fuzz/crash_checkpoint- \
		$(BUILD)-fuzz/corpus_checkpoint fuzz/corpus/checkpoint

# The Python package (python/), built with Debian's setuptools: into the active virtual
# environment, else into $(BUILD)/venv, which sees Debian's numpy and torch (Debian's
# python3 refuses pip installs outside a virtual environment).
PYVENV ?= $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(BUILD)/venv)
python: deps-test
	test -x $(PYVENV)/bin/python || /usr/bin/python3 -m venv --system-site-packages $(PYVENV)
	$(PYVENV)/bin/python -m pip install --no-build-isolation ./python
	@echo "descent is installed: $(PYVENV)/bin/python -c 'import descent'"

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz out
