# Ringback build and test targets. `make test` is what CI runs.
GO        ?= go
PKGS      ?= ./...
BENCHTIME ?= 1s

.PHONY: build test test-race bench run vet fmt fuzz clean

build:
	$(GO) build -o bin/ringback ./cmd/ringback

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -s -w $$(git ls-files '*.go')

test: vet
	$(GO) test -count=1 -timeout 12m $(PKGS)

test-race:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./bench/...

run: build
	./bin/ringback demo

clean:
	rm -rf bin
