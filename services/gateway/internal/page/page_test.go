package page

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	resp := w.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestPageServesIndexWithAStrictPolicy(t *testing.T) {
	resp, body := get(t, Handler(), http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `aria-live="polite"`) {
		t.Error("the summary sentence is not announced (aria-live)")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if resp, _ := get(t, Handler(), http.MethodGet, "/", http.Header{"If-None-Match": {etag}}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET / with its ETag = %d, want 304", resp.StatusCode)
	}
}

// Every file the page refers to, from the HTML and from the modules'
// imports, is served with a type the browser accepts; a module served as
// text/plain would stop the page.
func TestPageServesEveryFileItRefersTo(t *testing.T) {
	h := Handler()
	want := map[string]string{".css": "text/css", ".js": "text/javascript", ".html": "text/html"}
	refs := regexp.MustCompile(`(?:src|href)="([^":]+)"|from '(\./[^']+)'`)
	seen := map[string]bool{}
	queue := []string{"index.html"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		resp, body := get(t, h, http.MethodGet, "/"+name, nil)
		if name == "index.html" {
			resp, body = get(t, h, http.MethodGet, "/", nil)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/%s: %d", name, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want[path.Ext(name)]) {
			t.Errorf("/%s: Content-Type %q", name, ct)
		}
		for _, m := range refs.FindAllStringSubmatch(body, -1) {
			ref := m[1] + m[2]
			if strings.HasPrefix(ref, "#") {
				continue
			}
			queue = append(queue, path.Clean(path.Join(path.Dir(name), ref)))
		}
	}
	// And no file is left unused.
	files, _ := fs.Sub(static, "static")
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !seen[p] {
			t.Errorf("%s is embedded but nothing refers to it", p)
		}
		return err
	})
}

func TestPageRefusesWhatItDoesNotServe(t *testing.T) {
	h := Handler()
	for target, code := range map[string]int{
		"/nothing-here": http.StatusNotFound,
		"/js/":          http.StatusNotFound, // no directory listing
		"/js":           http.StatusNotFound,
		"/../page.go":   http.StatusNotFound,
	} {
		if resp, _ := get(t, h, http.MethodGet, target, nil); resp.StatusCode != code {
			t.Errorf("GET %s = %d, want %d", target, resp.StatusCode, code)
		}
	}
	if resp, _ := get(t, h, http.MethodPost, "/", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", resp.StatusCode)
	}
}
