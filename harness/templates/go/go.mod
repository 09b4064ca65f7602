module crosswire/peers/@NAME@

go 1.21
