module crosswire/peers/go

go 1.21
