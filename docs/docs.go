// Package docs embeds Arena's documentation, so the server can serve each
// kind's contract beside the challenges that use it.
package docs

import "embed"

// FS holds the docs' Markdown files.
//
//go:embed *.md
var FS embed.FS
