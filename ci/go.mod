module dagger/ci

go 1.26.1

require (
	dagger.io/dagger v0.21.8
	github.com/parity-ci/parity v0.0.0
)

replace github.com/parity-ci/parity => ../
