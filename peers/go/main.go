// Command cw-peer is the Go reference peer of crosswire: the kit (crosswire.dev/kit) running
// the codec generated from the schema (package codec, harness/codegen/go.py).
package main

import (
	_ "embed"

	"crosswire.dev/kit"

	"crosswire/peers/go/codec"
)

// The manifest, built into the program: HELLO reports what it declares.
//
//go:embed peer.toml
var manifest string

func main() { kit.Run(codec.Reference(manifest)) }
