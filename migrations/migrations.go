// Package migrations embeds Arena's SQL migrations for golang-migrate.
package migrations

import "embed"

// FS holds the numbered up and down migrations.
//
//go:embed *.sql
var FS embed.FS
