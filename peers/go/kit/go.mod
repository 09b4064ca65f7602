module crosswire.dev/kit

go 1.21
