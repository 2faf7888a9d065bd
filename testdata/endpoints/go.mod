module example.com/endpoints

go 1.26
