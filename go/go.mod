module github.com/sandlock/libsandlock/go

go 1.19
