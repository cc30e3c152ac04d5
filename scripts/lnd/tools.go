//go:build tools

// Package tools names the commands scripts/build-lnd.mjs builds, so that `go mod tidy` keeps them (and their
// checksums in go.sum) in this wrapper module.
package tools

import (
	_ "github.com/btcsuite/btcd"
	_ "github.com/btcsuite/btcd/cmd/btcctl"
	_ "github.com/lightningnetwork/lnd/cmd/lncli"
	_ "github.com/lightningnetwork/lnd/cmd/lnd"
)
