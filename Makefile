# cohort — see README.md. `make demo` and `make test` are the two set-up commands.
GO        ?= go
BIN       := bin/cohort
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
# Packages whose tests are long-running integration tests live in ./test.
TEST_TIMEOUT ?= 18m

.PHONY: all build test test-short demo bench lint fmt fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cohort

test: build
	$(GO) test -timeout $(TEST_TIMEOUT) ./...
	# the adversarial test build's own parsing (mpc/adversary, tag-only code)
	$(GO) test -tags cohort_adversary ./mpc/adversary

test-short:
	$(GO) test -short ./...

demo: build
	./$(BIN) demo

bench: build
	$(GO) run ./bench -suite all -out bench/results/latest.json

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags cohort_adversary ./mpc/adversary ./node/...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go' | grep -v '\.pb\.go$$')

clean:
	rm -rf bin
