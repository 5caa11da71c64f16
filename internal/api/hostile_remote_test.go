package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDiscoverCalendarWithoutComponentSet: a remote calendar whose
// PROPFIND answer leaves out the optional supported-calendar-component-set
// is discovered through the API (the request used to panic and the
// connection drop).
func TestDiscoverCalendarWithoutComponentSet(t *testing.T) {
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method != "PROPFIND" {
			http.Error(w, "PROPFIND only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?>`+
			`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response>`+
			`<D:href>/cal/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype>`+
			`<D:displayname>Bare</D:displayname></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>`+
			`</D:response></D:multistatus>`)
	}))
	defer bare.Close()
	local, _ := newConnectorServer(t, "alice")
	runSteps(t, local, []step{
		{name: "discover", method: "POST", path: "/api/v1/connectors/discover", body: `{"url":"` + bare.URL + `/cal/"}`,
			status: http.StatusOK, want: []string{`"url":"` + bare.URL + `/cal/"`, `"displayname":"Bare"`},
			not: []string{`"components"`}},
	})
}
