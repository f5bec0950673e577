# The two commands of the README, and a few more. CMake does the building.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local

.PHONY: all build demo test asan fuzz install clean deps deps-test fuzz-data

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The main job: builds if needed, then runs the demo.
demo: build
	$(BUILD)/descent demo

# Every test through CTest.
test: deps-test $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps-test
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DDSC_SANITIZE=ON
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer on each dataset parser for FUZZ_SECONDS each (clang, ASan + UBSan).
FUZZ_SECONDS ?= 10
FUZZ_SOURCES = $(wildcard src/data/*.c) src/core/status.c src/core/memory.c src/core/file.c
fuzz-data: deps-test
	mkdir -p $(BUILD)-fuzz
	set -e; for t in csv npy idx; do \
	  clang -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
	    -Iinclude -Isrc fuzz/fuzz_$$t.c $(FUZZ_SOURCES) -lz -lm -o $(BUILD)-fuzz/fuzz_$$t; \
	  rm -rf $(BUILD)-fuzz/corpus_$$t && cp -r fuzz/corpus/$$t $(BUILD)-fuzz/corpus_$$t; \
	  $(BUILD)-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)-fuzz/crash_$$t- $(BUILD)-fuzz/corpus_$$t; \
	done

# The checkpoint loader under libFuzzer + ASan + UBSan for FUZZ_CHECKPOINT_SECONDS, from
# the committed seed corpus (new inputs go to $(BUILD)-fuzz/corpus, not into the repo);
# then the dataset parsers (fuzz-data).
FUZZ_CHECKPOINT_SECONDS ?= 30
fuzz: deps-test fuzz-data
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDSC_FUZZ=ON -DDSC_TESTS=OFF
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_checkpoint
	mkdir -p $(BUILD)-fuzz/corpus
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)-fuzz/fuzz_checkpoint -max_total_time=$(FUZZ_CHECKPOINT_SECONDS) \
		-max_len=16384 -print_final_stats=1 $(BUILD)-fuzz/corpus fuzz/corpus/checkpoint

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz out
