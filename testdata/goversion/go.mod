module example.com/goversion

go 1.26.0
