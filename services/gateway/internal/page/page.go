// Package page is the monitoring page: plain HTML, CSS and JavaScript,
// embedded in the gateway binary, for lab managers and front-desk staff.
// It reads the REST API and the live stream (/v1/live) of the same gateway.
package page

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// securityHeaders: the page loads nothing from elsewhere and runs no
// inline script or style, so a strict policy costs nothing.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	// A new gateway binary may bring a new page: ask every time, and let
	// the ETag answer 304 when nothing changed.
	"Cache-Control": "no-cache",
}

// Handler serves index.html at / and the assets beside it; it is meant to
// be mounted on "/", below the API's own routes.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	etags := etagsOf(files)
	server := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the page is only read (GET)", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			name = "index.html"
		}
		etag, known := etags[name]
		if !known {
			// Unknown, or a directory: no listings.
			http.NotFound(w, r)
			return
		}
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		w.Header().Set("ETag", etag)
		server.ServeHTTP(w, r)
	})
}

// etagsOf hashes every file once: embedded files carry no modification
// time for the file server to compare.
func etagsOf(files fs.FS) map[string]string {
	etags := map[string]string{}
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[path] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	if err != nil {
		panic(err)
	}
	return etags
}
