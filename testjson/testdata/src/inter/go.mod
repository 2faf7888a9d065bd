module example.com/inter

go 1.26
