# sluice: build, test, benchmark. `make test` is what CI runs (.ci/run).
GO        ?= go
PKGS      := ./...
FUZZTIME  ?= 5s
STATICCHECK ?= v0.8.2
# Packages whose tests also run under the race detector.
RACE_PKGS := ./internal/engine/... ./internal/tmpl/... ./internal/redact/... ./internal/secret/... ./internal/api/... ./internal/auth/... ./internal/node/kafka/... \
	./internal/store/sqlite/... ./internal/node/webhook/... ./internal/cli/... ./test/leak/...

# Fuzz targets, as package:Target.
FUZZ := ./internal/workflow:FuzzParse ./internal/tmpl:FuzzCompile ./internal/redact:FuzzRedact ./internal/redact:FuzzJSONBytes ./internal/credscan:FuzzScan

.PHONY: build test unit race fuzz lint bench demo clean

build:
	$(GO) build -o bin/sluice ./cmd/sluice

test: lint unit race fuzz

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
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

demo:
	$(GO) run ./cmd/sluice demo

clean:
	rm -rf bin sluice-data
