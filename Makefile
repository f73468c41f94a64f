# The receiver module lives at the repository root; mdatagen is built from the
# tools module so that a fresh clone needs nothing but Go.
GO        ?= go
PKGNAME   := anthropicusagereceiver

.PHONY: all generate check-generated test test-unit lint tidy sim

all: test

# mdatagen (pinned in internal/tools/go.mod) names the generated test
# package after the folder that holds metadata.yaml, so it runs through a
# link named like the package whatever the checkout folder is called; in a
# checkout named anthropicusagereceiver, `go generate` does the same.
generate:
	@tmp=$$(mktemp -d) && ln -s $(CURDIR) $$tmp/$(PKGNAME) && \
	  (cd $$tmp/$(PKGNAME) && $(GO) tool -modfile=internal/tools/go.mod mdatagen metadata.yaml); rc=$$?; rm -rf $$tmp; exit $$rc

# Generated files are committed; this fails when they differ from what
# metadata.yaml generates.
check-generated: generate
	@git diff --exit-code -- internal/metadata internal/metadatatest documentation.md generated_component_test.go generated_package_test.go \
	  || (echo "generated files are stale: run 'make generate' and commit"; exit 1)

# Every test: the unit tests, the alerting rules' tests, the end-to-end
# test with the distribution and a real Prometheus (installed from Debian's
# packages when missing), and the container image where Docker runs.
test: test-unit e2e-deps alerts-test e2e image-test

# The Go tests alone (no distribution, no Prometheus): the quick loop.
test-unit:
	$(GO) test -race -count=1 ./...

# The Admin API simulator on its own (see README).
sim:
	$(GO) run ./cmd/anthropic-admin-sim

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/

tidy:
	$(GO) mod tidy
	cd internal/tools && $(GO) mod tidy

# The distribution, make run, the end-to-end test, alerts and the dashboard
# picture.
include Makefile.dist

# Benchmarks and fuzzing (BENCHMARKS.md).
include Makefile.perf
