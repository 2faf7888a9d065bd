// Package testimages builds the container images that Parity's own
// integration tests run against, and serves them from a loopback OCI
// registry, so that those tests pull images by digest exactly as Parity
// pulls pinned images from a real registry in users' hands.
//
// Why it exists: no public image registry is reachable from this project's
// CI machines (only Debian's apt mirror, the Go module proxy and npm), so
// golang:* images cannot be pulled. Instead the images are assembled here
// from pieces those mirrors do serve, and pushed to a go-containerregistry
// registry listening on 127.0.0.1 (Docker treats 127.0.0.0/8 as an insecure
// registry by default, so no daemon configuration is needed).
//
// # Images
//
// Every image carries one Go toolchain (default 1.26.8), taken from the Go
// module proxy's golang.org/toolchain module and installed at /usr/local/go:
//
//	<registry>/parity-test/golang:<go>-trixie  index: linux/amd64, and linux/arm64/v8, linux/386, linux/s390x when asked
//	<registry>/parity-test/golang:<go>-musl    index: linux/amd64 only
//
// The glibc image is `debootstrap --variant=minbase trixie` plus gcc and
// libc6-dev (so cgo and -race work, as in golang:*-trixie); for 386
// `debootstrap --arch=i386`, which runs natively on an amd64 host.
//
// Where the module proxy refuses golang.org/toolchain for a platform (the
// proxy this project reaches serves linux-amd64 and linux-arm64 only), the
// Go layer is the same release built another way: the host's own GOROOT,
// which must be that version, with bin/go, bin/gofmt and pkg/tool
// cross-compiled for the platform (crossgo.go; ~2 min per platform).
//
// The s390x glibc image is a STAND-IN, not Debian: the Debian mirror here
// serves no s390x packages, so debootstrap cannot build it. It is a static
// busybox cross-compiled from Debian's busybox source with Debian's
// gcc-s390x-linux-gnu, plus the s390x glibc of Debian's
// libc6-s390x-cross (its loader at /lib/ld64.so.1): a big-endian userland
// with a shell and the usual utilities, and no C compiler, so its cells
// run with --cgo=off (busybox.go; ~1.5 min to build).
//
// The musl image is an Alpine STAND-IN, not Alpine: Alpine's rootfs and apk
// cannot be fetched here. It is the amd64 glibc image plus Debian's
// musl-tools, with CC=musl-gcc in its environment so that cgo code (and the
// race runtime) links against musl, and with bash removed because Alpine
// has none. Its /bin/sh is still dash, not busybox, and everything that
// does not go through the C compiler is still Debian's.
//
// Image configs are written by this package (mutate.ConfigFile), never by
// `docker import`, whose --platform is ignored (moby#42813): Architecture,
// OS and Variant are therefore right for every platform. All images have
// PATH=/usr/local/go/bin:..., GOLANG_VERSION, WorkingDir /, a world-writable
// sticky /tmp, and uid 65534 (nobody) in /etc/passwd.
//
// # Layers and cache
//
// Layers are uncompressed OCI tarballs (gzip of ~300 MB costs more time on
// two cores than it saves on a loopback registry), written by this package
// with archive/tar so that modes, numeric ownership, symlinks and hardlinks
// are exact. Each image is made of shared layers, so the musl image adds only
// a small diff on top of the layers the glibc image already has:
//
//	glibc: debian-<suite>-<arch>-gcc  +  go<ver>-linux-<arch>
//	musl:  debian-<suite>-amd64-gcc   +  go<ver>-linux-amd64  +  debian-<suite>-amd64-musl (diff, with whiteouts)
//
// Finished layers are kept in Options.CacheDir (default
// $PARITY_TESTIMAGES_CACHE, else /var/tmp/parity-testimages):
//
//	CacheDir/lock                    flock: exclusive while layers are built, shared while pushing
//	CacheDir/layers/<key>.tar        a finished layer tarball (renamed into place when complete)
//	CacheDir/layers/<key>.json       its digest, size, parent layer and build time; written last
//	CacheDir/work/                   scratch rootfs trees during a build; removed afterwards
//	CacheDir/blobs/                  the registry's blob directory used by the command and tests
//
// A key names a recipe revision, the suite or Go version, and the arch, e.g.
// "r2-debian-trixie-amd64-gcc" or "r2-go1.26.8-linux-arm64". Deleting a
// key's files rebuilds that layer (and any diff layer on top of it) on the
// next Build.
//
// Because go-containerregistry's registry keeps manifests in memory, every
// new process pushes again. That is cheap when the layers are cached: before
// pushing, each cached layer is hard-linked into the registry's blob
// directory (when it is on the same filesystem), so the registry already has
// every large blob and only configs and manifests travel.
//
// # Host requirements
//
// Building (not reusing) layers needs root, debootstrap, chroot and tar; the
// arm64 platform also needs qemu-user-static with binfmt_misc's qemu-aarch64
// entry enabled (its debootstrap second stage and apt run under qemu: ~3 min
// on two cores, against ~30 s for amd64); s390x needs the qemu-s390x entry
// and Debian's gcc-s390x-linux-gnu, libc6-dev-s390x-cross, make and bzip2
// (CrossPackages).
// CheckHost reports what is missing. Pulling and running the images needs a
// Docker Engine; this package itself never talks to Docker.
package testimages
