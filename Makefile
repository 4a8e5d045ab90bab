# runjail: make (build), make install, make test, make bench.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
GO ?= go
# No cgo: runjail is a static binary, and init drops privileges on every
# thread (syscall.AllThreadsSyscall needs cgo off).
export CGO_ENABLED = 0

.PHONY: all build install uninstall test test-short bench bench-start bench-proxy clean

all: build

build:
	$(GO) build -trimpath -o bin/runjail ./cmd/runjail
	$(GO) build -trimpath -o bin/runclaude ./cmd/runclaude
	$(GO) build -trimpath -o bin/runproxy ./cmd/runproxy
	$(GO) build -trimpath -o bin/runjail-aws ./cmd/runjail-aws
	$(GO) build -trimpath -o bin/runjail-init ./cmd/runjail-init

install: build
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 bin/runjail bin/runclaude bin/runproxy bin/runjail-aws bin/runjail-init $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/runjail $(DESTDIR)$(BINDIR)/runclaude $(DESTDIR)$(BINDIR)/runproxy $(DESTDIR)$(BINDIR)/runjail-aws $(DESTDIR)$(BINDIR)/runjail-init

# Everything: unit tests, golden plans, CLI scripts and the attack suite,
# which runs real jails as the calling user.
test:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 ./...

bench: bench-start bench-proxy

# Start-to-exec of /bin/true: runjail against bubblewrap, same run.
bench-start: build
	./scripts/bench-start.sh

# The egress proxy against direct connections and mitmdump, same run.
bench-proxy:
	./scripts/bench-proxy.sh

clean:
	rm -rf bin
