#!/bin/sh
# capture.sh regenerates the *.json captures in this directory by running
# real `go test -json` over the fixture module in src/fx. The parser's tests
# assert the outcomes of these captures, so rerun this only on purpose and
# review the diff: elapsed times and shuffle seeds change on every capture,
# so the goldens built from them need `go test ./report/ ./render/ -update`.
#
# Needs: go (the 1.26 toolchain), gcc, musl-gcc, aarch64-linux-gnu-gcc and
# qemu-user binfmt for arm64, and the module proxy for GOTOOLCHAIN=go1.23.12.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/src/fx"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOWORK=off
out=$here

# capture NAME [ENV=...] -- go test args...: stdout to NAME.json, stderr to
# NAME.stderr (removed when empty). go test's exit status is expected to be
# non-zero: these packages fail on purpose.
capture() {
	name=$1; shift
	env "$@" >"$out/$name.json" 2>"$out/$name.stderr"
	[ -s "$out/$name.stderr" ] || rm -f "$out/$name.stderr"
	echo "captured $name"
}

capture go126-outcomes go test -json -count=1 ./basic ./broken ./notests ./panics ./subpanic ./gopanic ./exits ./initpanic
capture go126-timeout go test -json -count=1 -timeout 2s ./slow
capture go126-shuffle go test -json -count=1 -shuffle=on ./basic ./flaky
capture go126-race CGO_ENABLED=1 go test -json -count=1 -race ./racy
capture go126-count2 go test -json -count=2 ./flaky ./basic
capture go126-attrs go test -json -count=1 -artifacts -outputdir="$(mktemp -d)" ./attrs

# Forged events (src/forge), interleaved packages (src/inter), testify
# (src/tfy, needs the module proxy once), a cached rerun. Piped: a test
# writing to /proc/$PPID/fd/1 of a regular file would overwrite its start.
(cd "$here/src/forge" && go test -json -count=1 -p 2 ./... | cat >"$out/go126-forged.json"); echo "captured go126-forged"
(cd "$here/src/inter" && go test -json -count=1 -p 2 ./... | cat >"$out/go126-interleaved.json"); echo "captured go126-interleaved"
(cd "$here/src/tfy" && go test -json -count=1 ./... | sed "s#$here/src/tfy/#/src/tfy/#g" >"$out/go126-testify.json"); echo "captured go126-testify"
(cd "$here/../../report/testdata/goaxis/src" && go test -json ./... >/dev/null && go test -json ./... >"$out/go126-cached.json"); echo "captured go126-cached"

# The repository's hostile fixture: where the forger's events land depends
# on timing; rerun until each of before/during/after is captured.
(cd "$here/../../testdata/hostile" && go test -json -count=1 ./forger ./victim | cat >"$out/go126-hostile-latest.json"); echo "captured go126-hostile-latest (rename to -before/-during/-after)"

# Go 1.23: build errors go to stderr as plain text. go123-outcomes keeps the
# streams apart (as Parity's runtimes do); go123-mixed merges them, as a
# careless `2>&1` would.
capture go123-outcomes GOTOOLCHAIN=go1.23.12 go test -json -count=1 ./basic ./broken ./panics
GOTOOLCHAIN=go1.23.12 go test -json -count=1 ./basic ./broken ./panics >"$out/go123-mixed.json" 2>&1
echo "captured go123-mixed"

# A three-cell matrix over the platform-dependent packages:
#   glibc/amd64: host gcc, -race;
#   musl/amd64: musl-gcc, statically linked, run without bash on PATH;
#   glibc/arm64: cross gcc, statically linked, run under qemu-user.
pkgs="./basic ./platform ./cgostack ./racy"
capture cell-glibc-amd64 CGO_ENABLED=1 go test -json -count=1 -race $pkgs
capture cell-musl-amd64 CGO_ENABLED=1 CC=musl-gcc go test -json -count=1 \
	-ldflags='-linkmode=external -extldflags=-static' -exec 'env PATH=/nonexistent' $pkgs
capture cell-glibc-arm64 CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc go test -json -count=1 \
	-ldflags='-linkmode=external -extldflags=-static' $pkgs
