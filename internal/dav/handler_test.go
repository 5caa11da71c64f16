package dav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"koyomi.dev/koyomi/internal/davlock"
)

// memBackend is a small in-memory namespace: a map of path to resource.
// Collection paths end in "/"; the root "/" always exists. Entity tags are
// content hashes, so they change exactly when the content does.
type memBackend struct {
	mu    sync.Mutex
	files map[string][]byte
	types map[string]string // content type by path
	dirs  map[string]bool
	dead  map[string]map[xml.Name]RawElement
	// patched counts successful Patch calls, to prove atomic refusals.
	patched int
}

func newMemBackend() *memBackend {
	return &memBackend{
		files: map[string][]byte{},
		types: map[string]string{},
		dirs:  map[string]bool{"/": true},
		dead:  map[string]map[xml.Name]RawElement{},
	}
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func parentDir(p string) string {
	p = strings.TrimSuffix(p, "/")
	i := strings.LastIndex(p, "/")
	return p[:i+1]
}

func (m *memBackend) resource(p string) *Resource {
	if m.dirs[p] {
		return &Resource{Path: p, Collection: true}
	}
	if b, ok := m.files[p]; ok {
		return &Resource{Path: p, ETag: etagOf(b), ContentType: m.types[p], Size: int64(len(b))}
	}
	return nil
}

func (m *memBackend) Resolve(ctx context.Context, p string) (*Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.resource(p); r != nil {
		return r, nil
	}
	if !strings.HasSuffix(p, "/") {
		if r := m.resource(p + "/"); r != nil {
			return r, nil
		}
	}
	return nil, ErrNotFound
}

func (m *memBackend) Children(ctx context.Context, r *Resource) ([]*Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Resource
	for p := range m.files {
		if parentDir(p) == r.Path {
			out = append(out, m.resource(p))
		}
	}
	for p := range m.dirs {
		if p != "/" && parentDir(p) == r.Path {
			out = append(out, m.resource(p))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (m *memBackend) Content(ctx context.Context, r *Resource) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Collection {
		return nil, Errorf(http.StatusMethodNotAllowed, "no GET on collections")
	}
	return m.files[r.Path], nil
}

func (m *memBackend) Put(ctx context.Context, p, href string, body []byte, ct string, cond Conditions) (*Resource, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[parentDir(p)] {
		return nil, false, Errorf(http.StatusConflict, "no parent")
	}
	old, exists := m.files[p]
	if cond.IfNoneMatch && exists {
		return nil, false, Errorf(http.StatusPreconditionFailed, "exists")
	}
	if cond.IfMatch != "" && (!exists || etagOf(old) != cond.IfMatch) {
		return nil, false, Errorf(http.StatusPreconditionFailed, "etag changed")
	}
	m.files[p] = append([]byte(nil), body...)
	m.types[p] = ct
	return m.resource(p), !exists, nil
}

func (m *memBackend) Delete(ctx context.Context, r *Resource, cond Conditions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := range m.files {
		if p == r.Path || (r.Collection && strings.HasPrefix(p, r.Path)) {
			delete(m.files, p)
		}
	}
	for p := range m.dirs {
		if r.Collection && strings.HasPrefix(p, r.Path) {
			delete(m.dirs, p)
		}
	}
	return nil
}

func (m *memBackend) Mkcol(ctx context.Context, p string, types []xml.Name, props []PropOp) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[parentDir(p)] {
		return Errorf(http.StatusConflict, "no parent")
	}
	m.dirs[p] = true
	for _, op := range props {
		m.setDead(p, op)
	}
	return nil
}

func (m *memBackend) setDead(p string, op PropOp) {
	if m.dead[p] == nil {
		m.dead[p] = map[xml.Name]RawElement{}
	}
	if op.Remove {
		delete(m.dead[p], op.Prop.Name)
	} else {
		m.dead[p][op.Prop.Name] = op.Prop
	}
}

func (m *memBackend) CopyMove(ctx context.Context, src *Resource, dst, dstHref string, move, overwrite bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if src.Collection {
		return false, Errorf(http.StatusForbidden, "collections are not copied here")
	}
	_, existed := m.files[dst]
	m.files[dst] = m.files[src.Path]
	m.types[dst] = m.types[src.Path]
	if move {
		delete(m.files, src.Path)
	}
	return !existed, nil
}

func (m *memBackend) Patch(ctx context.Context, r *Resource, ops []PropOp) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		m.setDead(r.Path, op)
	}
	m.patched++
	return nil
}

func (m *memBackend) DeadProperties(ctx context.Context, r *Resource) ([]RawElement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []RawElement
	for _, e := range m.dead[r.Path] {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.Local < out[j].Name.Local })
	return out, nil
}

// testHandler returns an engine over a backend holding /a.txt ("hello")
// and the collection /col/.
func testHandler(t *testing.T) (*Handler, *memBackend) {
	t.Helper()
	b := newMemBackend()
	b.files["/a.txt"] = []byte("hello")
	b.types["/a.txt"] = "text/plain"
	b.dirs["/col/"] = true
	h := NewHandler(b, slog.New(slog.DiscardHandler), davlock.New(nil))
	return h, b
}

type req struct {
	method, path, body string
	header             map[string]string
}

func serve(t *testing.T, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	hr := httptest.NewRequest(r.method, "http://example.com"+r.path, strings.NewReader(r.body))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	return rec
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"//", "/"},
		{"a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"/a//b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/b/..", "/a"},
		{"/a/b/../", "/a/"},
		{"/a/b/../../..", "/"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"/a/../../b/", "/b/"},
		// The input is already percent-decoded: escapes are not decoded
		// a second time, so "%2e%2e" is a name, not a dot segment.
		{"/a/%2e%2e/b", "/a/%2e%2e/b"},
		{"/a/ b/c d.ics", "/a/ b/c d.ics"},
	}
	for _, tt := range tests {
		if got := CleanPath(tt.in); got != tt.want {
			t.Errorf("CleanPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEncodedDotSegments checks that percent-encoded dot segments in the
// request target are resolved after decoding and cannot climb out.
func TestEncodedDotSegments(t *testing.T) {
	h, _ := testHandler(t)
	rec := serve(t, h, req{method: "GET", path: "/col/%2e%2e/a.txt"})
	if rec.Code != http.StatusOK || rec.Body.String() != "hello" {
		t.Fatalf("GET /col/%%2e%%2e/a.txt = %d %q, want 200 hello", rec.Code, rec.Body.String())
	}
}

func TestETagListMatches(t *testing.T) {
	tests := []struct {
		list, etag string
		want       bool
	}{
		{`"abc"`, "abc", true},
		{`"x", "abc"`, "abc", true},
		{`"x","y"`, "abc", false},
		{`*`, "abc", true},
		{`W/"abc"`, "abc", true}, // weak comparison, as If-None-Match uses
		{`"abcd"`, "abc", false},
		{`""`, "abc", false},
	}
	for _, tt := range tests {
		if got := etagListMatches(tt.list, tt.etag); got != tt.want {
			t.Errorf("etagListMatches(%q, %q) = %v, want %v", tt.list, tt.etag, got, tt.want)
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	cur := `"` + etagOf([]byte("hello")) + `"`
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		want   int
	}{
		{"get if-match current", "GET", "/a.txt", map[string]string{"If-Match": cur}, 200},
		{"get if-match list", "GET", "/a.txt", map[string]string{"If-Match": `"zz", ` + cur}, 200},
		{"get if-match stale", "GET", "/a.txt", map[string]string{"If-Match": `"zz"`}, 412},
		{"get if-match star", "GET", "/a.txt", map[string]string{"If-Match": "*"}, 200},
		{"get if-none-match current", "GET", "/a.txt", map[string]string{"If-None-Match": cur}, 304},
		{"get if-none-match weak", "GET", "/a.txt", map[string]string{"If-None-Match": "W/" + cur}, 304},
		{"get if-none-match star", "GET", "/a.txt", map[string]string{"If-None-Match": "*"}, 304},
		{"get if-none-match other", "GET", "/a.txt", map[string]string{"If-None-Match": `"zz"`}, 200},
		// RFC 7232 section 6: If-Match is evaluated first; when it fails
		// the answer is 412 whatever If-None-Match says.
		{"get if-match fails before if-none-match", "GET", "/a.txt", map[string]string{"If-Match": `"zz"`, "If-None-Match": cur}, 412},
		// RFC 7232 section 3.1: If-Match uses the strong comparison, and a
		// weak tag never matches strongly.
		{"get if-match weak", "GET", "/a.txt", map[string]string{"If-Match": "W/" + cur}, 412},
		{"put if-match weak", "PUT", "/a.txt", map[string]string{"If-Match": "W/" + cur}, 412},
		{"put if-none-match star existing", "PUT", "/a.txt", map[string]string{"If-None-Match": "*"}, 412},
		{"put if-none-match star new", "PUT", "/new.txt", map[string]string{"If-None-Match": "*"}, 201},
		{"put if-none-match current", "PUT", "/a.txt", map[string]string{"If-None-Match": cur}, 412},
		{"put if-match star missing", "PUT", "/new.txt", map[string]string{"If-Match": "*"}, 412},
		{"put if-match stale", "PUT", "/a.txt", map[string]string{"If-Match": `"zz"`}, 412},
		{"put if-match current", "PUT", "/a.txt", map[string]string{"If-Match": cur}, 204},
		{"put if-match star existing", "PUT", "/a.txt", map[string]string{"If-Match": "*"}, 204},
		{"delete if-match stale", "DELETE", "/a.txt", map[string]string{"If-Match": `"zz"`}, 412},
		{"delete if-match current", "DELETE", "/a.txt", map[string]string{"If-Match": cur}, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, b := testHandler(t)
			rec := serve(t, h, req{method: tt.method, path: tt.path, body: "changed", header: tt.header})
			if rec.Code != tt.want {
				t.Fatalf("%s %s %v = %d, want %d (%s)", tt.method, tt.path, tt.header, rec.Code, tt.want, rec.Body.String())
			}
			if tt.method == "PUT" && tt.want == 412 {
				if got := string(b.files["/a.txt"]); got != "hello" {
					t.Errorf("a refused PUT changed the content to %q", got)
				}
			}
			if tt.want == 304 && rec.Header().Get("ETag") != cur {
				t.Errorf("304 without the current ETag: %q", rec.Header().Get("ETag"))
			}
		})
	}
}

func TestPropfindDepth(t *testing.T) {
	tests := []struct {
		depth     string
		set       bool
		want      int
		responses int
		condition string
	}{
		{depth: "0", set: true, want: 207, responses: 1},
		{depth: "1", set: true, want: 207, responses: 3}, // /, /a.txt, /col/
		{depth: "infinity", set: true, want: 403, condition: "propfind-finite-depth"},
		{depth: "Infinity", set: true, want: 403, condition: "propfind-finite-depth"},
		{set: false, want: 403, condition: "propfind-finite-depth"}, // absent means infinity
		{depth: "2", set: true, want: 400},
		{depth: "one", set: true, want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.depth, func(t *testing.T) {
			h, _ := testHandler(t)
			hd := map[string]string{}
			if tt.set {
				hd["Depth"] = tt.depth
			}
			rec := serve(t, h, req{method: "PROPFIND", path: "/", header: hd,
				body: `<propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>`})
			if rec.Code != tt.want {
				t.Fatalf("Depth %q: status %d, want %d: %s", tt.depth, rec.Code, tt.want, rec.Body.String())
			}
			body := rec.Body.String()
			if tt.condition != "" && !strings.Contains(body, "<D:"+tt.condition+"/>") {
				t.Errorf("missing precondition %s in %s", tt.condition, body)
			}
			if tt.want == 207 {
				if n := strings.Count(body, "<D:response>"); n != tt.responses {
					t.Errorf("%d responses, want %d: %s", n, tt.responses, body)
				}
			}
		})
	}
}

// TestProppatchAtomic checks RFC 4918 9.2: one protected property fails
// the whole request; it is reported 403 and every other one 424, and
// nothing is stored.
func TestProppatchAtomic(t *testing.T) {
	h, b := testHandler(t)
	body := `<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:z">
  <D:set><D:prop><Z:color>red</Z:color></D:prop></D:set>
  <D:set><D:prop><D:getetag>"forged"</D:getetag></D:prop></D:set>
  <D:remove><D:prop><Z:size/></D:prop></D:remove>
</D:propertyupdate>`
	rec := serve(t, h, req{method: "PROPPATCH", path: "/a.txt", body: body})
	if rec.Code != http.StatusMultiStatus {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	ms := parseMultistatus(t, rec.Body.String())
	if len(ms.Responses) != 1 {
		t.Fatalf("%d responses", len(ms.Responses))
	}
	statusOf := map[string]string{}
	for _, ps := range ms.Responses[0].Propstats {
		for _, p := range ps.Prop.Any {
			statusOf[p.XMLName.Local] = ps.Status
		}
		if strings.Contains(ps.Status, "403") && !strings.Contains(ps.Error.Inner, "cannot-modify-protected-property") {
			t.Errorf("403 propstat without cannot-modify-protected-property: %q", ps.Error.Inner)
		}
	}
	want := map[string]string{
		"getetag": "HTTP/1.1 403 Forbidden",
		"color":   "HTTP/1.1 424 Failed Dependency",
		"size":    "HTTP/1.1 424 Failed Dependency",
	}
	for k, v := range want {
		if statusOf[k] != v {
			t.Errorf("%s: status %q, want %q", k, statusOf[k], v)
		}
	}
	if b.patched != 0 || len(b.dead["/a.txt"]) != 0 {
		t.Errorf("a refused PROPPATCH stored properties: %d patches, %v", b.patched, b.dead["/a.txt"])
	}
}

func TestProppatchStoresDeadProperties(t *testing.T) {
	h, _ := testHandler(t)
	body := `<propertyupdate xmlns="DAV:"><set><prop><color xmlns="urn:example:z" shade="dark">red &amp; blue</color></prop></set></propertyupdate>`
	if rec := serve(t, h, req{method: "PROPPATCH", path: "/a.txt", body: body}); rec.Code != 207 || !strings.Contains(rec.Body.String(), "200 OK") {
		t.Fatalf("PROPPATCH: %d %s", rec.Code, rec.Body.String())
	}
	rec := serve(t, h, req{method: "PROPFIND", path: "/a.txt", header: map[string]string{"Depth": "0"},
		body: `<propfind xmlns="DAV:"><prop><color xmlns="urn:example:z"/></prop></propfind>`})
	got := rec.Body.String()
	if !strings.Contains(got, `<color xmlns="urn:example:z" shade="dark">red &amp; blue</color>`) {
		t.Errorf("dead property not served back as stored: %s", got)
	}
}

func TestMethodErrors(t *testing.T) {
	tests := []struct {
		name string
		r    req
		want int
	}{
		{"mkcol existing collection", req{method: "MKCOL", path: "/col/"}, 405},
		{"mkcol existing collection without slash", req{method: "MKCOL", path: "/col"}, 405},
		{"mkcol over a file", req{method: "MKCOL", path: "/a.txt"}, 405},
		{"mkcol missing parent", req{method: "MKCOL", path: "/no/such/"}, 409},
		{"mkcol non-xml body", req{method: "MKCOL", path: "/new/", body: "hello", header: map[string]string{"Content-Type": "text/plain"}}, 415},
		{"mkcol new", req{method: "MKCOL", path: "/new/"}, 201},
		{"copy to a destination with dot segments", req{method: "COPY", path: "/a.txt", header: map[string]string{"Destination": "/col/../a2.txt", "Overwrite": "F"}}, 201},
		{"copy overwrite F onto itself", req{method: "COPY", path: "/a.txt", header: map[string]string{"Destination": "http://example.com/a.txt", "Overwrite": "F"}}, 403},
		{"copy overwrite bad", req{method: "COPY", path: "/a.txt", header: map[string]string{"Destination": "/b.txt", "Overwrite": "maybe"}}, 400},
		{"copy no destination", req{method: "COPY", path: "/a.txt"}, 400},
		{"copy other host", req{method: "COPY", path: "/a.txt", header: map[string]string{"Destination": "http://elsewhere.example/b.txt"}}, 502},
		{"move other host", req{method: "MOVE", path: "/a.txt", header: map[string]string{"Destination": "http://elsewhere.example/b.txt"}}, 502},
		{"copy same host", req{method: "COPY", path: "/a.txt", header: map[string]string{"Destination": "http://example.com/b.txt"}}, 201},
		// Host names are case-insensitive (RFC 3986 3.2.2).
		{"copy same host other case", req{method: "COPY", path: "/a.txt", header: map[string]string{"Destination": "http://EXAMPLE.com/b.txt"}}, 201},
		{"move depth 0", req{method: "MOVE", path: "/a.txt", header: map[string]string{"Destination": "/b.txt", "Depth": "0"}}, 400},
		{"copy collection into itself", req{method: "COPY", path: "/col/", header: map[string]string{"Destination": "/col/sub/"}}, 403},
		{"propfind malformed", req{method: "PROPFIND", path: "/", header: map[string]string{"Depth": "0"}, body: "<propfind xmlns='DAV:'><prop>"}, 400},
		{"propfind wrong root", req{method: "PROPFIND", path: "/", header: map[string]string{"Depth": "0"}, body: "<prop xmlns='DAV:'/>"}, 400},
		{"propfind undeclared prefix", req{method: "PROPFIND", path: "/", header: map[string]string{"Depth": "0"}, body: "<x:propfind><x:allprop/></x:propfind>"}, 400},
		{"propfind two kinds", req{method: "PROPFIND", path: "/", header: map[string]string{"Depth": "0"}, body: "<propfind xmlns='DAV:'><allprop/><propname/></propfind>"}, 400},
		{"proppatch malformed", req{method: "PROPPATCH", path: "/a.txt", body: "<propertyupdate xmlns='DAV:'><set>"}, 400},
		{"proppatch empty", req{method: "PROPPATCH", path: "/a.txt"}, 400},
		{"report malformed", req{method: "REPORT", path: "/", body: "not xml"}, 400},
		{"report unknown", req{method: "REPORT", path: "/", body: "<x xmlns='urn:example'/>"}, 403},
		{"lock malformed", req{method: "LOCK", path: "/a.txt", body: "<lockinfo xmlns='DAV:'>"}, 400},
		{"put to collection path", req{method: "PUT", path: "/col/", body: "x"}, 405},
		{"put over a collection", req{method: "PUT", path: "/col", body: "x"}, 405},
		{"put content-range", req{method: "PUT", path: "/a.txt", body: "x", header: map[string]string{"Content-Range": "bytes 0-0/1"}}, 400},
		{"unknown method", req{method: "BREW", path: "/"}, 405},
		{"get missing", req{method: "GET", path: "/nope"}, 404},
		{"malformed If header", req{method: "PUT", path: "/a.txt", body: "x", header: map[string]string{"If": "(<no-end"}}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := testHandler(t)
			rec := serve(t, h, tt.r)
			if rec.Code != tt.want {
				t.Fatalf("%s %s: status %d, want %d: %s", tt.r.method, tt.r.path, rec.Code, tt.want, rec.Body.String())
			}
			if rec.Code == 405 && rec.Header().Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

func TestCopyMoveOverwrite(t *testing.T) {
	tests := []struct {
		method, overwrite string
		want              int
		srcLeft           bool
		dstContent        string
	}{
		{"COPY", "F", 412, true, "other"},
		{"MOVE", "F", 412, true, "other"},
		{"COPY", "T", 204, true, "hello"},
		{"MOVE", "T", 204, false, "hello"},
		{"MOVE", "", 204, false, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.overwrite, func(t *testing.T) {
			h, b := testHandler(t)
			b.files["/col/b.txt"] = []byte("other")
			hd := map[string]string{"Destination": "http://example.com/col/b.txt"}
			if tt.overwrite != "" {
				hd["Overwrite"] = tt.overwrite
			}
			rec := serve(t, h, req{method: tt.method, path: "/a.txt", header: hd})
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body.String())
			}
			if _, ok := b.files["/a.txt"]; ok != tt.srcLeft {
				t.Errorf("source present = %v, want %v", ok, tt.srcLeft)
			}
			if got := string(b.files["/col/b.txt"]); got != tt.dstContent {
				t.Errorf("destination holds %q, want %q", got, tt.dstContent)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	h, b := testHandler(t)
	h.MaxBody = 16
	big := strings.Repeat("x", 17)
	for _, method := range []string{"PUT", "PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "LOCK"} {
		// Once with a Content-Length, once chunked (length unknown).
		for _, chunked := range []bool{false, true} {
			hr := httptest.NewRequest(method, "http://example.com/a.txt", strings.NewReader(big))
			hr.Header.Set("Depth", "0")
			if chunked {
				hr.ContentLength = -1
				hr.Body = io.NopCloser(strings.NewReader(big))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, hr)
			want := http.StatusRequestEntityTooLarge
			if method == "MKCOL" {
				// The target exists: 413 or 405 are both acceptable
				// refusals, but the body must not be stored.
				if rec.Code != want && rec.Code != http.StatusMethodNotAllowed {
					t.Errorf("%s chunked=%v: %d", method, chunked, rec.Code)
				}
				continue
			}
			if rec.Code != want {
				t.Errorf("%s chunked=%v: status %d, want 413: %s", method, chunked, rec.Code, rec.Body.String())
			}
		}
	}
	if got := string(b.files["/a.txt"]); got != "hello" {
		t.Errorf("an oversized PUT was stored: %q", got)
	}
}

func TestLockUnlock(t *testing.T) {
	h, b := testHandler(t)
	rec := serve(t, h, req{method: "LOCK", path: "/a.txt", header: map[string]string{"Timeout": "Second-60"},
		body: `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:a@example.org</D:href></D:owner></D:lockinfo>`})
	if rec.Code != 200 {
		t.Fatalf("LOCK: %d %s", rec.Code, rec.Body.String())
	}
	token := strings.Trim(rec.Header().Get("Lock-Token"), "<>")
	if token == "" {
		t.Fatal("no Lock-Token header")
	}
	if !strings.Contains(rec.Body.String(), "<owner xmlns=\"DAV:\"><href>mailto:a@example.org</href></owner>") {
		t.Errorf("owner not echoed: %s", rec.Body.String())
	}
	if rec := serve(t, h, req{method: "PUT", path: "/a.txt", body: "x"}); rec.Code != http.StatusLocked {
		t.Errorf("PUT without token: %d, want 423", rec.Code)
	}
	if rec := serve(t, h, req{method: "PUT", path: "/a.txt", body: "x", header: map[string]string{"If": "(<urn:uuid:wrong>)"}}); rec.Code != http.StatusPreconditionFailed {
		t.Errorf("PUT with a wrong token: %d, want 412", rec.Code)
	}
	if rec := serve(t, h, req{method: "PUT", path: "/a.txt", body: "x", header: map[string]string{"If": "(<" + token + ">)"}}); rec.Code != http.StatusNoContent {
		t.Errorf("PUT with the token: %d, want 204: %s", rec.Code, rec.Body.String())
	}
	if string(b.files["/a.txt"]) != "x" {
		t.Errorf("PUT with the token was not stored")
	}
	if rec := serve(t, h, req{method: "UNLOCK", path: "/a.txt", header: map[string]string{"Lock-Token": "<urn:uuid:wrong>"}}); rec.Code != http.StatusConflict {
		t.Errorf("UNLOCK wrong token: %d, want 409", rec.Code)
	}
	if rec := serve(t, h, req{method: "UNLOCK", path: "/a.txt", header: map[string]string{"Lock-Token": "<" + token + ">"}}); rec.Code != http.StatusNoContent {
		t.Errorf("UNLOCK: %d, want 204", rec.Code)
	}
	if rec := serve(t, h, req{method: "PUT", path: "/a.txt", body: "y"}); rec.Code != http.StatusNoContent {
		t.Errorf("PUT after UNLOCK: %d, want 204", rec.Code)
	}
}

// multistatus is enough of RFC 4918 14.16 to check statuses per property.
type multistatus struct {
	Responses []struct {
		Href      string `xml:"href"`
		Status    string `xml:"status"`
		Propstats []struct {
			Prop struct {
				Any []struct {
					XMLName xml.Name
				} `xml:",any"`
			} `xml:"prop"`
			Status string `xml:"status"`
			Error  struct {
				Inner string `xml:",innerxml"`
			} `xml:"error"`
		} `xml:"propstat"`
	} `xml:"response"`
}

func parseMultistatus(t *testing.T, body string) multistatus {
	t.Helper()
	var ms multistatus
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, body)
	}
	return ms
}
