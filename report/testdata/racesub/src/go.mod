module example.com/racesub

go 1.26
