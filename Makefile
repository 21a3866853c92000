# hexgate: thin wrapper over Meson for the two README commands and friends.
#   make         build (build/)
#   make check   install deps, build, run every test suite; ends with
#                "N passed, N failed"
#   make demo    install deps, build, route pings across hexgated in
#                network namespaces, an IKEv2 tunnel to strongSwan, tear
#                down
#   make bench   forwarding, classifier, ESP, IKE and overlay benchmarks (docs/PERFORMANCE.md)
#   make install meson install of $(BUILD): hexgated, hexctl, the manual
#                pages, hexgated.service, docs and the example config;
#                DESTDIR=/stage stages it, PREFIX=/usr sets the prefix
#                (default /usr/local)

BUILD     ?= build
BUILD_SAN ?= build-san

.PHONY: all deps check demo bench install clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(BUILD_SAN)/build.ninja:
	CC=clang meson setup $(BUILD_SAN) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dfuzz=true

deps:
	scripts/install-deps

check: deps
	$(MAKE) all
	$(MAKE) $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)
	scripts/check $(BUILD) $(BUILD_SAN)

demo: deps
	$(MAKE) all
	scripts/demo $(BUILD)

# The --bench packages (DPDK for bench/classify) may be newer than
# $(BUILD)'s setup: Meson looks for them again.
bench:
	scripts/install-deps --bench
	$(MAKE) all
	meson setup --reconfigure $(BUILD) >/dev/null
	ninja -C $(BUILD)
	bench/forward/run $(BUILD)
	bench/classify/run $(BUILD)
	bench/ipsec/run $(BUILD)
	bench/overlay/run $(BUILD)

# A PREFIX given here reconfigures $(BUILD) for it (meson keeps it from
# then on); DESTDIR is made absolute because meson would read it from
# inside $(BUILD).
install: $(BUILD)/build.ninja
	$(if $(PREFIX),meson configure $(BUILD) --prefix=$(abspath $(PREFIX)))
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild \
	    $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
