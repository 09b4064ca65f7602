module crosswire/peers/go

go 1.21

require crosswire.dev/kit v0.0.0

replace crosswire.dev/kit => ./kit
