// Package profiles holds the built-in runjail profiles, embedded in the binary.
package profiles

import "embed"

// FS holds the built-in profiles as NAME.toml files at its root.
//
//go:embed *.toml
var FS embed.FS
