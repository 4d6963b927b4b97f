// Package static embeds the stylesheet, our one script and the vendored front-end libraries, and serves
// them under content-hashed URLs (/static/app.3f2a9c1e.css) with immutable cache headers. The files under
// vendor/ are copied from node_modules by the build (make assets) and are not committed.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed app.css app.js favicon.svg vendor
var files embed.FS

// Prefix is where the assets are mounted.
const Prefix = "/static/"

type asset struct {
	name string // path inside files
	etag string
}

type index struct {
	hashed map[string]string // logical name -> hashed URL path
	assets map[string]asset  // hashed file name (without Prefix) -> asset
}

var load = sync.OnceValue(func() index {
	idx := index{hashed: map[string]string{}, assets: map[string]asset{}}
	_ = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(name)
		hashedName := strings.TrimSuffix(name, ext) + "." + hash + ext
		idx.hashed[name] = Prefix + hashedName
		idx.assets[hashedName] = asset{name: name, etag: `"` + hash + `"`}
		return nil
	})
	return idx
})

// Path returns the content-hashed URL of the asset called name (e.g. "app.css", "vendor/htmx.min.js").
// An unknown name returns a URL that answers 404, so a typo shows in the browser's network panel.
func Path(name string) string {
	if p, ok := load().hashed[name]; ok {
		return p
	}
	return Prefix + "missing/" + name
}

// Handler serves the hashed assets. Hashed URLs never change content, so they are cached for a year.
func Handler() http.Handler {
	idx := load()
	modTime := time.Unix(0, 0)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := idx.assets[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		f, err := files.Open(a.name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("ETag", a.etag)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, a.name, modTime, f.(readSeeker))
	})
}

type readSeeker interface {
	Read(p []byte) (int, error)
	Seek(offset int64, whence int) (int64, error)
}
