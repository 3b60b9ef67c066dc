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
FUZZTIME  ?= 5s
STATICCHECK ?= v0.8.2
# Packages whose tests also run under the race detector.
RACE_PKGS := ./internal/engine/... ./internal/tmpl/... ./internal/redact/... ./internal/secret/... ./internal/api/... ./internal/auth/... ./internal/node/kafka/... ./internal/node/input/... ./internal/catalog/... ./internal/autostart/... ./internal/node/integration/... \
	./internal/store/sqlite/... ./internal/node/webhook/... ./internal/cli/... ./test/leak/... \
	./internal/ui/...

# Fuzz targets, as package:Target.
FUZZ := ./internal/workflow:FuzzParse ./internal/tmpl:FuzzCompile ./internal/redact:FuzzRedact ./internal/redact:FuzzJSONBytes ./internal/credscan:FuzzScan ./internal/catalog:FuzzSearchQuery ./internal/node/integration:FuzzProviderAnswer \
	./internal/ui:FuzzFormFields

.PHONY: build test unit race fuzz lint bench bench-postgres test-postgres demo clean

build:
	$(GO) build -o bin/sluice ./cmd/sluice

test: lint
	scripts/with-postgres.sh $(MAKE) --no-print-directory unit race
	$(MAKE) --no-print-directory fuzz

# test-postgres runs only the packages that use PostgreSQL, with a
# throwaway server.
test-postgres:
	scripts/with-postgres.sh $(GO) test -count=1 ./internal/store/... ./internal/cli/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

race:
	$(GO) test -count=1 -race $(RACE_PKGS)

fuzz:
	@set -e; for t in $(FUZZ); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

bench:
	scripts/with-postgres.sh $(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

# bench-postgres compares the PostgreSQL store with raw pgx on one
# throwaway server (docs/performance.md).
bench-postgres:
	scripts/with-postgres.sh $(GO) test -run='^$$' -bench=. -benchmem ./internal/store/postgres/

demo:
	$(GO) run ./cmd/sluice demo

clean:
	rm -rf bin sluice-data
