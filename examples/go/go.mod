module floss.example/focal

go 1.19
