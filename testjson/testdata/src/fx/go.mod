module example.com/fx

// go 1.23 so that the Go 1.23 toolchain capture can build it too.
go 1.23
