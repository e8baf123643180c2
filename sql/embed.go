// Package sql holds the project's SQL as embedded files.
package sql

import "embed"

// Source holds the demo/test source database schemas, one directory per source.
//
//go:embed source
var Source embed.FS
