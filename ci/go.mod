module dagger/ci

go 1.26.1

require (
	dagger.io/dagger v0.21.8
	github.com/parity-ci/parity v0.0.0
)

// The engine's generated code (dagger.gen.go) imports Dagger's telemetry
// module, which the SDK's go.mod does not pin: unpinned, the engine's go mod
// tidy takes its newest version, whose otel meets the SDK's otel/log replace
// in an import cycle and the module does not load. This is the version
// Dagger v0.21.8 itself builds with (docs/dagger.md).
require github.com/dagger/otel-go v1.43.1-0.20260515012101-af7cd0684887

replace github.com/parity-ci/parity => ../
