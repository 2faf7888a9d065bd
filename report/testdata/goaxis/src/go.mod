module example.com/goaxis

go 1.23
