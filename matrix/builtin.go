package matrix

// Builtin are the pins Parity uses when the repository has no lock file:
// published index digests of the official golang images (see
// docs/pins.md for where they come from). `parity pins update` refreshes a
// lock file; these change only with a Parity release.
func Builtin() Pins {
	return Pins{
		{Go: "1.27.1", Libc: Musl, Image: "golang:1.27.1-alpine3.24@sha256:4cb7ac979db5fcc41cae44b2227ba5ab8a51e8807f40d9ba4dee20a0ad960b5b"},
		{Go: "1.27.1", Libc: Glibc, Image: "golang:1.27.1-trixie@sha256:570570f8975a38d164ca7ccf21f4e6a040efb1e8a92e74c85bf5bf539e6f1aa3"},
		{Go: "1.26.8", Libc: Musl, Image: "golang:1.26.8-alpine3.24@sha256:51a7c389a5ddaf82f527191a1e9bff9928655130a44e4975dd1d7e0acf59f1ae"},
		{Go: "1.26.8", Libc: Glibc, Image: "golang:1.26.8-trixie@sha256:3c5d8408c03e8dbaf5dc4fb698d1ba89c669f69daaab6d0fddd929a5e789cf69"},
	}
}
