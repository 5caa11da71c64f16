package api_test

import (
	"strings"
	"testing"
)

// Names, labels and URLs given through the API are bounded (200
// characters, 2048 bytes for URLs) and hold no control characters: a
// megabyte of group name would otherwise be in every member's PROPFIND.
// The refusal says which field and why, without echoing the value.
func TestNamesAndURLsAreBounded(t *testing.T) {
	ts, _ := newConnectorServer(t, "alice")
	rec := &recorder{t: t, ts: ts}
	huge := strings.Repeat("n", 300<<10)
	long := strings.Repeat("n", 201)
	longURL := "https://cal.example.org/" + strings.Repeat("p", 2048)
	const cal = `"calendar":"default"`
	const url = `"url":"https://cal.example.org/dav/cal/"`
	create := func(name, body string, want ...string) step {
		return step{name: name, method: "POST", path: "/api/v1/connectors", body: body, status: 400, want: want,
			not: []string{long}}
	}
	rec.run([]step{
		create("huge connector name", `{"name":"`+huge+`",`+cal+`,`+url+`}`, "name: 307200 characters, at most 200"),
		create("long connector name", `{"name":"`+long+`",`+cal+`,`+url+`}`, "name: 201 characters, at most 200"),
		create("control in connector name", `{"name":"a\u0007b",`+cal+`,`+url+`}`, "name: control characters"),
		create("long username", `{"name":"x",`+cal+`,`+url+`,"username":"`+long+`"}`, "username: 201 characters"),
		create("long URL", `{"name":"x",`+cal+`,"url":"`+longURL+`"}`, "URL: 2072 bytes, at most 2048"),
		{name: "discover long URL", method: "POST", path: "/api/v1/connectors/discover", body: `{"url":"` + longURL + `"}`,
			status: 400, want: []string{"url: 2072 bytes, at most 2048"}},
		{name: "nothing was created", method: "GET", path: "/api/v1/connectors", status: 200, want: []string{"[]"}},
		{name: "huge group name", method: "POST", path: "/api/v1/groups", body: `{"name":"team","displayname":"` + huge + `"}`,
			status: 400, want: []string{"displayname: 307200 characters, at most 200"}},
		{name: "control in group name", method: "POST", path: "/api/v1/groups", body: `{"name":"team","displayname":"a\u0001"}`,
			status: 400, want: []string{"displayname: control characters"}},
		{name: "group of 200 characters", method: "POST", path: "/api/v1/groups",
			body: `{"name":"team","displayname":"` + strings.Repeat("日", 200) + `"}`, status: 201},
		{name: "group renamed too long", method: "PUT", path: "/api/v1/groups/team", body: `{"displayname":"` + long + `"}`,
			status: 400, want: []string{"displayname: 201 characters"}},
	})
	for i, b := range rec.bodies {
		if len(b) > 1000 {
			t.Errorf("answer %d is %d bytes long: a refusal must not echo the value", i, len(b))
		}
	}
}
