# sluice: build, test, benchmark. `make test` is what CI runs (.ci/run).
#
# The PostgreSQL store's tests (and the CLI's tests against PostgreSQL) need
# a server: `make test` starts a throwaway one (scripts/with-postgres.sh:
# initdb in a temp dir, a free loopback port, fsync off), runs the tests
# with SLUICE_TEST_DATABASE_URL pointing at it and stops it whether they
# pass or fail. Without SLUICE_TEST_DATABASE_URL those tests fail, saying
# how to start one, unless SLUICE_TEST_SKIP_POSTGRES=1 (never set in CI).
GO        ?= go
PKGS      := ./...
FUZZTIME  ?= 3s
STATICCHECK ?= v0.8.2
# Packages whose tests run under the race detector (make test runs them only
# that way; unit-rest runs the others without it).
RACE_PKGS := ./internal/engine/... ./internal/tmpl/... ./internal/redact/... ./internal/secret/... ./internal/api/... ./internal/auth/... ./internal/node/kafka/... ./internal/node/input/... ./internal/catalog/... ./internal/autostart/... ./internal/node/integration/... \
	./internal/store/sqlite/... ./internal/store/postgres/... ./internal/node/webhook/... ./internal/cli/... ./test/leak/... ./internal/runevents/... \
	./internal/ui/... ./internal/node/ai/... \
	./internal/retention/... ./internal/telemetry/...

# Fuzz targets, as package:Target.
FUZZ := ./internal/api:FuzzParseWait ./internal/api:FuzzLogTags ./internal/api:FuzzRunCursor ./internal/api:FuzzExternalRunID ./internal/secret:FuzzOpenRun ./internal/workflow:FuzzParse ./internal/workflow:FuzzPolicy ./internal/tmpl:FuzzCompile ./internal/redact:FuzzRedact ./internal/redact:FuzzJSONBytes ./internal/credscan:FuzzScan ./internal/catalog:FuzzSearchQuery ./internal/node/integration:FuzzProviderAnswer \
	./internal/ui:FuzzFormFields ./internal/node/ai:FuzzModelAnswer \
	./internal/cli:FuzzReadConfigFile ./internal/cli:FuzzDefinitionIdentifier ./internal/retention:FuzzParsePeriod ./internal/telemetry:FuzzEndpointURL \
	./internal/traceparent:FuzzParse \
	./internal/view:FuzzLogMarshalJSON \
	./internal/jsonpath:FuzzPathAt ./internal/jsontext:FuzzCheck ./internal/jsontext:FuzzAppendString

.PHONY: build test unit unit-rest race fuzz lint bench bench-postgres bench-load bench-load-all test-postgres demo clean dist

# The version stamped by build and dist: the nearest tag, else the commit
# (sluice version prints it; see internal/cli/version.go).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X github.com/sluice-run/sluice/internal/cli.Version=$(VERSION) \
	-X github.com/sluice-run/sluice/internal/cli.Commit=$(COMMIT) -X github.com/sluice-run/sluice/internal/cli.BuildDate=$(BUILD_DATE)
DIST_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/sluice ./cmd/sluice

# dist cross-compiles static binaries (no cgo: the SQLite driver is pure
# Go) into dist/ with their SHA-256 checksums. Nothing is published.
dist:
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(DIST_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=dist/sluice-$(VERSION)-$$os-$$arch; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/sluice; \
	done
	cd dist && sha256sum sluice-* > SHA256SUMS

# test runs every package's tests once: those in RACE_PKGS under the race
# detector (the same tests, so running them also without it would only cost
# time), the others without it (unit-rest). The two run at once (-j2, each
# one's output printed when it ends): unit-rest is mostly test/crash, whose
# processes wait for kills and takeovers, so race gets the cores meanwhile.
test: lint
	scripts/need-chromium.sh
	scripts/with-postgres.sh $(MAKE) --no-print-directory -j2 --output-sync=target unit-rest race
	$(MAKE) --no-print-directory fuzz

# test-postgres runs only the packages that use PostgreSQL, with a
# throwaway server.
test-postgres:
	scripts/with-postgres.sh $(GO) test -count=1 ./internal/store/... ./internal/cli/ ./test/crash/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

unit-rest:
	@race="$$($(GO) list $(RACE_PKGS))"; rest="$$($(GO) list $(PKGS) | grep -vxF "$$race")"; \
	echo "go test (without -race) $$(echo $$rest | wc -w) packages outside RACE_PKGS"; \
	$(GO) test -count=1 $$rest

race:
	$(GO) test -count=1 -race -timeout 30m $(RACE_PKGS)

# fuzz runs every target for FUZZTIME, without minimizing new inputs
# (FUZZMINIMIZETIME=60s to minimize); a run the fuzzing engine ends with no
# failing input (its known flake) is retried once (scripts/fuzz.sh).
fuzz:
	@GO=$(GO) scripts/fuzz.sh $(FUZZTIME) $(FUZZ)

bench:
	scripts/with-postgres.sh $(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# bench-postgres compares the PostgreSQL store with raw pgx on one
# throwaway server (docs/performance.md).
bench-postgres:
	scripts/with-postgres.sh $(GO) test -run='^$$' -bench=. -benchmem ./internal/store/postgres/

# bench-load starts bin/sluice on a fresh SQLite data dir and loads it with
# the 4-node workflow, closed and open loop, next to a raw-HTTP baseline
# (bench/load, docs/performance.md). LOAD_FLAGS: -duration, -clients, -rate.
LOAD_FLAGS ?=
bench-load: build
	$(GO) run ./bench/load -sluice bin/sluice $(LOAD_FLAGS)

# bench-load-all runs the same load, with the same LOAD_FLAGS, on SQLite,
# then on PostgreSQL with one serve process and with two, against one
# throwaway cluster (scripts/with-postgres.sh; a fresh database per run),
# into bench/out/load-{sqlite,pg1,pg2}.txt (bench/load-all.sh).
bench-load-all: build
	GO=$(GO) scripts/with-postgres.sh bench/load-all.sh $(LOAD_FLAGS)

demo:
	$(GO) run ./cmd/sluice demo

clean:
	rm -rf bin dist sluice-data
