# Arena. `make run` starts everything; `make test` runs every test. Both set
# up Postgres themselves (scripts/postgres.sh).

ARENA_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/arena?sslmode=disable
ARENA_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export ARENA_DATABASE_URL ARENA_TEST_DATABASE_URL

GO ?= go
EXAMPLES_OUT ?= bin/examples

.PHONY: run test build examples wasm-fixtures db test-db browser vendor-web clean scores bench python test-python bench-python validity bench-lm

## run: start Postgres if needed, migrate, and serve HTTP + web + NATS + workers on :8080
run: db build
	./bin/arena serve

# The race detector slows pure computation five- to tenfold, so the
# compute-bound packages run without it, except the test that scores
# examples concurrently on a shared engine; so do the tests that compile
# Go-built examples (the end-to-end test skips itself under -race, and
# strategy's is left out of race builds). The language model, its corpus
# and the validity suite (which trains the default LM with every reference
# strategy, about two CPU-minutes) are compute too.
COMPUTE_PKGS = ./meter ./scoring ./lm ./corpus/... ./internal/validity

## test: every test, against a real Postgres (each test gets its own database)
## and, for the pages, a real headless Chromium
test: test-db browser
	$(GO) vet ./...
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e /meter$$ -e /scoring$$ -e /lm$$ -e /corpus -e /internal/validity$$)
	$(GO) test -count=1 -timeout 20m $(COMPUTE_PKGS)
	$(GO) test -count=1 -run EveryKind ./cmd/arena
	$(GO) test -count=1 -run GoBuilt ./strategy
	$(GO) test -race -short -count=1 -run GoroutineLayout ./scoring
	$(MAKE) test-python

build:
	$(GO) build -o bin/arena ./cmd/arena

## vendor-web: refresh uPlot in web/static/vendor from npm, at web/vendor/package-lock.json's version (needs Node.js; building does not)
vendor-web:
	./scripts/vendor-web.sh

## examples: build every example strategy into $(EXAMPLES_OUT)
examples:
	@mkdir -p $(EXAMPLES_OUT)
	@for dir in examples/*/*/; do \
		kind=$$(basename $$(dirname $$dir)); name=$$(basename $$dir); \
		echo "go build $$dir -> $(EXAMPLES_OUT)/$$kind-$$name.wasm"; \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $(EXAMPLES_OUT)/$$kind-$$name.wasm ./$$dir || exit 1; \
	done
	@for wasm in examples/*/*.wasm; do \
		kind=$$(basename $$(dirname $$wasm)); name=$$(basename $$wasm); \
		echo "copy $$wasm -> $(EXAMPLES_OUT)/$$kind-$$name"; cp $$wasm $(EXAMPLES_OUT)/$$kind-$$name; \
	done

## wasm-fixtures: reassemble every committed .wasm from its .wat source (installs wabt if needed)
wasm-fixtures:
	@command -v wat2wasm >/dev/null || { apt-get update -qq && apt-get install -y -qq wabt; }
	@for wat in $$(git ls-files '*.wat'); do echo "wat2wasm $$wat"; wat2wasm $$wat -o $${wat%.wat}.wasm || exit 1; done

db:
	./scripts/postgres.sh "$(ARENA_DATABASE_URL)"

test-db:
	./scripts/postgres.sh "$(ARENA_TEST_DATABASE_URL)"

browser:
	./scripts/chromium.sh

clean:
	rm -rf bin $(EXAMPLES_OUT)

## scores: score every example with its kind's defaults (the README's table)
scores:
	$(GO) run ./internal/scoretable

## validity: score the reference strategies on the default workloads and
## check the published orderings; writes docs/validity.md
validity:
	$(GO) run ./internal/validity -out docs/validity.md

## bench-lm: one LM training step in Go beside PyTorch on the same configuration
bench-lm:
	./scripts/lm_bench.sh

## bench: time the sandbox (native, wazero, metered, close-on-done; instantiation; cached load)
bench:
	$(GO) run ./internal/benchtable

## python: build libarena.so (cabi/, the C API) and put it in python/arena,
## so that PYTHONPATH=python (or pip install ./python) finds it
python:
	$(GO) build -buildmode=c-shared -trimpath -o bin/libarena.so ./cabi
	@# A new file, renamed into place: a process still running the old one keeps it.
	cp bin/libarena.so python/arena/libarena.so.tmp && mv -f python/arena/libarena.so.tmp python/arena/libarena.so

# The Python tests run on the interpreter that has Debian's PyTorch
# (scripts/torch.sh installs it when missing), against the built examples,
# strategy's table-printing test optimizer and the Go reference run they
# compare bits with; testdata/smoke.c drives the library from C first.
## test-python: the C API from C, and the Python package's tests in real PyTorch loops
test-python: python examples
	@mkdir -p bin/testdata
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o bin/testdata/rolesgd.wasm ./strategy/testdata/rolesgd
	$(GO) build -o bin/goref ./cabi/goref
	cc -Wall -Werror -Icabi -o bin/smoke cabi/testdata/smoke.c -Lbin -larena -Wl,-rpath,'$$ORIGIN'
	bin/smoke examples/optimizer/signsgd.wasm sandbox/testdata/loop.wasm
	PY=$$(scripts/torch.sh) && PYTHONPATH=python "$$PY" python/tests/run.py

## bench-python: time arena.torch.Optimizer's step next to torch.optim.AdamW's on a 1M-parameter model
bench-python: python examples
	PY=$$(scripts/torch.sh) && PYTHONPATH=python "$$PY" python/bench.py
