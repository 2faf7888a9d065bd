module example.com/repetition

go 1.26.0
