package davlock

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	tok1 = "urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2"
	tok2 = "urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092"
)

func TestParseIf(t *testing.T) {
	tok := func(s string) Condition { return Condition{Token: s} }
	notTok := func(s string) Condition { return Condition{Not: true, Token: s} }
	etag := func(s string) Condition { return Condition{ETag: s} }
	notETag := func(s string) Condition { return Condition{Not: true, ETag: s} }

	tests := []struct {
		name   string
		header string
		want   []List
	}{
		{"RFC 4918 10.4.6 no-tag",
			`(<` + tok1 + `> ["I am an ETag"]) (["I am another ETag"])`,
			[]List{
				{Conditions: []Condition{tok(tok1), etag(`"I am an ETag"`)}},
				{Conditions: []Condition{etag(`"I am another ETag"`)}},
			}},
		{"RFC 4918 10.4.7 not",
			`(Not <` + tok1 + `> <` + tok2 + `>)`,
			[]List{{Conditions: []Condition{notTok(tok1), tok(tok2)}}}},
		{"RFC 4918 10.4.8 always true",
			`(<` + tok1 + `>) (Not <DAV:no-lock>)`,
			[]List{
				{Conditions: []Condition{tok(tok1)}},
				{Conditions: []Condition{notTok(NoLock)}},
			}},
		{"RFC 4918 10.4.9 tagged, weak etag",
			`<http://www.example.com/resource1> (<` + tok1 + `> [W/"A weak ETag"]) (["strong ETag"])`,
			[]List{
				{Resource: "/resource1", Conditions: []Condition{tok(tok1), etag(`W/"A weak ETag"`)}},
				{Resource: "/resource1", Conditions: []Condition{etag(`"strong ETag"`)}},
			}},
		{"RFC 4918 10.4.10 collection tag",
			`<http://www.example.com/specs/> (<` + tok1 + `>)`,
			[]List{{Resource: "/specs/", Conditions: []Condition{tok(tok1)}}}},
		{"two tagged resources, no space before list",
			`<http://www.example.com/a> (["x"]) <http://other.example:8080/b%20c/>(["y"])`,
			[]List{
				{Resource: "/a", Conditions: []Condition{etag(`"x"`)}},
				{Resource: "/b c/", Conditions: []Condition{etag(`"y"`)}},
			}},
		{"litmus token", `(<opaquelocktoken:abc-123>)`,
			[]List{{Conditions: []Condition{tok("opaquelocktoken:abc-123")}}}},
		{"litmus no-lock with etag", `(<DAV:no-lock> ["1234-abcd"])`,
			[]List{{Conditions: []Condition{tok(NoLock), etag(`"1234-abcd"`)}}}},
		{"litmus not no-lock", `(Not <DAV:no-lock>)`,
			[]List{{Conditions: []Condition{notTok(NoLock)}}}},
		{"litmus path tag", `</litmus/lockme> (<` + tok1 + `>)`,
			[]List{{Resource: "/litmus/lockme", Conditions: []Condition{tok(tok1)}}}},
		{"litmus corrupt token", `(<foo:bar>)`,
			[]List{{Conditions: []Condition{tok("foo:bar")}}}},
		{"litmus token or etag", `(<` + tok1 + `>) (Not <DAV:no-lock> ["etag"])`,
			[]List{
				{Conditions: []Condition{tok(tok1)}},
				{Conditions: []Condition{notTok(NoLock), etag(`"etag"`)}},
			}},
		{"negated etag, tabs and newlines", "\t(Not\t[\"a\"]\r\n <" + tok2 + ">)  ",
			[]List{{Conditions: []Condition{notETag(`"a"`), tok(tok2)}}}},
		{"not without space, lower case", `(not<` + tok1 + `>)`,
			[]List{{Conditions: []Condition{notTok(tok1)}}}},
		{"etag with escaped quote", `(["a\"b"])`,
			[]List{{Conditions: []Condition{etag(`"a\"b"`)}}}},
		{"empty etag", `([""])`,
			[]List{{Conditions: []Condition{etag(`""`)}}}},
		{"dot segments cleaned", `</a/./b/../c/> ([W/"1"])`,
			[]List{{Resource: "/a/c/", Conditions: []Condition{etag(`W/"1"`)}}}},
		{"host only tag", `<http://example.com> (<` + tok1 + `>)`,
			[]List{{Resource: "/", Conditions: []Condition{tok(tok1)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIf(tt.header)
			if err != nil {
				t.Fatalf("ParseIf(%q): %v", tt.header, err)
			}
			if !reflect.DeepEqual(got.Lists, tt.want) {
				t.Errorf("ParseIf(%q)\n got %+v\nwant %+v", tt.header, got.Lists, tt.want)
			}
		})
	}
}

func TestParseIfMalformed(t *testing.T) {
	for _, header := range []string{
		``,
		`   `,
		`()`,
		`(`,
		`(<` + tok1 + `>`,
		`<` + tok1 + `>`,                  // tag without list
		`</a> (<` + tok1 + `>) </b>`,      // second tag without list
		`(<` + tok1 + `>) </a> (["x"])`,   // untagged then tagged
		`</a> (<` + tok1 + `>) (["x"]) x`, // trailing junk
		`(<` + tok1 + `>) x`,
		`(<>)`,
		`(<no scheme>)`,
		`(<noscheme>)`,
		`(<1a:b>)`,
		`(<a b:c>)`,
		`(<` + tok1 + `)`,
		`(Not)`,
		`(Not )`,
		`(Not`,
		`([etag])`,
		`(["unterminated])`,
		`(["x"`,
		`(["x" "y"])`,
		`(["x\`,
		"([\"a\x01b\"])",
		`(W/)`,
		`([W/])`,
		`(["x"] foo)`,
		`(Nope <` + tok1 + `>)`,
		`<relative/path> (["x"])`,
		`<http://[::1> (["x"])`,
		`<mailto:a@b> (["x"])`,
		`["x"]`,
		`((<` + tok1 + `>))`,
	} {
		if got, err := ParseIf(header); !errors.Is(err, ErrMalformedIf) {
			t.Errorf("ParseIf(%q) = %+v, %v; want ErrMalformedIf", header, got, err)
		}
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		header string
		want   []string
	}{
		{`(<` + tok1 + `>)`, []string{tok1}},
		{`(Not <` + tok1 + `> <` + tok2 + `>)`, []string{tok2}},
		{`(["x"]) (Not <DAV:no-lock>)`, nil},
		{`</a> (<` + tok1 + `>) </b> (<` + tok2 + `> ["y"]) (<` + tok1 + `>)`, []string{tok1, tok2}},
		{`(<DAV:no-lock>)`, []string{NoLock}},
	}
	for _, tt := range tests {
		h, err := ParseIf(tt.header)
		if err != nil {
			t.Fatalf("ParseIf(%q): %v", tt.header, err)
		}
		if got := h.Tokens(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	// The world: /a.ics exists with a strong ETag and lock tok1; /c/ is a
	// collection whose depth-infinity lock tok2 covers /c/m.ics; /w.ics has
	// a weak ETag; /gone does not exist.
	etags := map[string]string{
		"/a.ics":   `"e1"`,
		"/c/":      `"ec"`,
		"/c/m.ics": `"em"`,
		"/w.ics":   `W/"w"`,
	}
	resolve := func(p string) (string, bool) {
		e, ok := etags[p]
		return e, ok
	}
	tokenMatches := func(p, token string) bool {
		switch token {
		case tok1:
			return p == "/a.ics"
		case tok2:
			return p == "/c/" || strings.HasPrefix(p, "/c/")
		}
		return false
	}

	tests := []struct {
		name   string
		path   string
		header string
		want   bool
	}{
		{"token matches", "/a.ics", `(<` + tok1 + `>)`, true},
		{"token of another resource", "/a.ics", `(<` + tok2 + `>)`, false},
		{"unknown token", "/a.ics", `(<foo:bar>)`, false},
		{"inherited collection token", "/c/m.ics", `(<` + tok2 + `>)`, true},
		{"negated token", "/a.ics", `(Not <` + tok1 + `>)`, false},
		{"negated unrelated token", "/a.ics", `(Not <` + tok2 + `>)`, true},
		{"no-lock", "/a.ics", `(<DAV:no-lock>)`, false},
		{"not no-lock", "/a.ics", `(Not <DAV:no-lock>)`, true},
		{"not no-lock on missing resource", "/gone", `(Not <DAV:no-lock>)`, true},
		{"etag matches", "/a.ics", `(["e1"])`, true},
		{"etag differs", "/a.ics", `(["e2"])`, false},
		{"negated etag differs", "/a.ics", `(Not ["e2"])`, true},
		{"etag on missing resource", "/gone", `(["e1"])`, false},
		{"negated etag on missing resource", "/gone", `(Not ["e1"])`, true},
		{"weak etag never matches strongly", "/w.ics", `([W/"w"])`, false},
		{"weak condition against strong etag", "/a.ics", `([W/"e1"])`, false},
		{"token and etag both hold", "/a.ics", `(<` + tok1 + `> ["e1"])`, true},
		{"token holds, etag does not", "/a.ics", `(<` + tok1 + `> ["zz"])`, false},
		{"second list holds", "/a.ics", `(<foo:bar>) (["e1"])`, true},
		{"no list holds", "/a.ics", `(<foo:bar>) (["zz"])`, false},
		{"litmus: token or not-no-lock with wrong etag", "/a.ics", `(<foo:bar>) (Not <DAV:no-lock> ["zz"])`, false},
		{"litmus: token or not-no-lock with right etag", "/a.ics", `(<foo:bar>) (Not <DAV:no-lock> ["e1"])`, true},
		{"litmus: RFC 10.4.8 always true", "/a.ics", `(<foo:bar>) (Not <DAV:no-lock>)`, true},
		{"tagged: evaluated against tag, not request", "/elsewhere", `</a.ics> (<` + tok1 + `>)`, true},
		{"tagged absolute URL", "/x", `<http://h.example:8008/c/m.ics> (<` + tok2 + `> ["em"])`, true},
		{"tagged percent-encoded", "/x", `</c/%6D.ics> (["em"])`, true},
		{"tagged collection", "/x", `</c/> (["ec"])`, true},
		{"tagged: one resource fails, other holds", "/x", `</a.ics> (["zz"]) </c/> (["ec"])`, true},
		{"tagged: all fail", "/x", `</a.ics> (["zz"]) </c/> (["zz"])`, false},
		{"tagged: second list of a tag holds", "/x", `</a.ics> (["zz"]) (<` + tok1 + `>)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseIf(tt.header)
			if err != nil {
				t.Fatalf("ParseIf(%q): %v", tt.header, err)
			}
			if got := h.Evaluate(tt.path, resolve, tokenMatches); got != tt.want {
				t.Errorf("Evaluate(%q, %q) = %v, want %v", tt.path, tt.header, got, tt.want)
			}
		})
	}
	if !(If{}).Evaluate("/a.ics", resolve, tokenMatches) {
		t.Error("an absent If header must hold")
	}
}

// TestEvaluateWithManager ties the If header to real locks: tokens apply to
// members of a depth-infinity lock, and a released lock's token no longer
// matches.
func TestEvaluateWithManager(t *testing.T) {
	m := New(nil)
	l := mustCreate(t, m, Lock{Root: "/cal/", Infinite: true, Exclusive: true})
	h, err := ParseIf(`(<` + l.Token + `>)`)
	if err != nil {
		t.Fatal(err)
	}
	noETag := func(string) (string, bool) { return "", true }
	if !h.Evaluate("/cal/e.ics", noETag, func(p, tok string) bool { return m.TokenApplies(ctx, p, tok) }) {
		t.Error("token of the collection lock does not match a member")
	}
	if h.Evaluate("/other.ics", noETag, func(p, tok string) bool { return m.TokenApplies(ctx, p, tok) }) {
		t.Error("token matches a resource outside the lock")
	}
	if err := m.Check(ctx, "/cal/e.ics", false, h.Tokens()); err != nil {
		t.Errorf("Check with the submitted token: %v", err)
	}
	if err := m.Unlock(ctx, "/cal/", l.Token); err != nil {
		t.Fatal(err)
	}
	if h.Evaluate("/cal/e.ics", noETag, func(p, tok string) bool { return m.TokenApplies(ctx, p, tok) }) {
		t.Error("released token still matches")
	}
}

func FuzzParseIf(f *testing.F) {
	for _, seed := range []string{
		`(<` + tok1 + `> ["I am an ETag"]) (["I am another ETag"])`,
		`(Not <` + tok1 + `> <` + tok2 + `>)`,
		`<http://www.example.com/resource1> (<` + tok1 + `> [W/"A weak ETag"]) (["strong ETag"])`,
		`</a/%20b/> (Not <DAV:no-lock> ["x\"y"])`,
		`(<foo:bar>)`,
		`<http://[::1]:80/x> ([""])`,
		`(`,
		`<`,
		`(["`,
		`(Not`,
	} {
		f.Add(seed)
	}
	resolve := func(string) (string, bool) { return `"x"`, true }
	tokenMatches := func(_, token string) bool { return token == tok1 }
	f.Fuzz(func(t *testing.T, header string) {
		h, err := ParseIf(header)
		if err != nil {
			if !errors.Is(err, ErrMalformedIf) {
				t.Fatalf("error %v is not ErrMalformedIf", err)
			}
			return
		}
		if len(h.Lists) == 0 {
			t.Fatalf("ParseIf(%q) succeeded with no lists", header)
		}
		for _, l := range h.Lists {
			if len(l.Conditions) == 0 {
				t.Fatalf("ParseIf(%q) produced an empty list", header)
			}
			if l.Resource != "" && !strings.HasPrefix(l.Resource, "/") {
				t.Fatalf("ParseIf(%q) produced resource %q", header, l.Resource)
			}
			for _, c := range l.Conditions {
				if (c.Token == "") == (c.ETag == "") {
					t.Fatalf("ParseIf(%q) produced condition %+v", header, c)
				}
			}
		}
		h.Tokens()
		h.Evaluate("/r", resolve, tokenMatches)
	})
}
