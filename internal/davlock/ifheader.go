package davlock

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// ErrMalformedIf reports an If header that does not follow the grammar of
// RFC 4918 section 10.4.2; the engine answers 400 (Bad Request).
var ErrMalformedIf = errors.New("davlock: malformed If header")

// NoLock is the state token no resource ever has (RFC 4918 section 10.4.8);
// "(Not <DAV:no-lock>)" is therefore always true.
const NoLock = "DAV:no-lock"

// If is a parsed If request header: a disjunction of lists.
type If struct {
	Lists []List
}

// List is a conjunction of conditions on one resource.
type List struct {
	// Resource is the path of the resource the list is tagged with (its
	// percent-decoded path, any scheme and host dropped), or "" for an
	// untagged list, which applies to the request URI.
	Resource string
	// Conditions all have to hold for the list to hold.
	Conditions []Condition
}

// Condition is one state token or entity tag, possibly negated. Exactly one
// of Token and ETag is set.
type Condition struct {
	Not bool
	// Token is a state token URI, such as a lock token or NoLock.
	Token string
	// ETag is an entity tag as written, quotes and any W/ prefix included.
	ETag string
}

// ParseIf parses the value of an If header, in either the No-tag-list form
// "(<urn:uuid:...> ["etag"]) (Not <DAV:no-lock>)" or the Tagged-list form
// "<http://host/path> (<urn:uuid:...>) </other> ([W/"etag"])". A header
// mixing both forms, or empty, is malformed.
func ParseIf(header string) (If, error) {
	p := ifParser{s: header}
	h, err := p.parse()
	if err != nil {
		return If{}, fmt.Errorf("%w: %w", ErrMalformedIf, err)
	}
	return h, nil
}

// Tokens returns the distinct state tokens the header asserts (not negated),
// in order of appearance: the lock tokens a request submits.
func (h If) Tokens() []string {
	var out []string
	seen := make(map[string]bool)
	for _, l := range h.Lists {
		for _, c := range l.Conditions {
			if c.Token != "" && !c.Not && !seen[c.Token] {
				seen[c.Token] = true
				out = append(out, c.Token)
			}
		}
	}
	return out
}

// Evaluate decides the header for a request on requestPath (RFC 4918
// section 10.4.3): it holds when at least one list holds, and a list holds
// when all its conditions do. A condition is judged against the resource the
// list is tagged with, or else requestPath. An entity tag condition holds
// when resolve reports the resource exists with that entity tag under strong
// comparison; resolve returns the entity tag as in an ETag header, quotes
// included. A state token condition holds when tokenMatches reports the
// token is a current state token of the resource (for locks:
// Manager.TokenApplies). Not negates a condition. An If with no lists holds.
func (h If) Evaluate(requestPath string, resolve func(path string) (etag string, exists bool), tokenMatches func(path, token string) bool) bool {
	if len(h.Lists) == 0 {
		return true
	}
	for _, l := range h.Lists {
		target := l.Resource
		if target == "" {
			target = requestPath
		}
		if l.holds(target, resolve, tokenMatches) {
			return true
		}
	}
	return false
}

func (l List) holds(target string, resolve func(string) (string, bool), tokenMatches func(string, string) bool) bool {
	for _, c := range l.Conditions {
		var ok bool
		if c.Token != "" {
			ok = c.Token != NoLock && tokenMatches(target, c.Token)
		} else {
			etag, exists := resolve(target)
			ok = exists && strongMatch(c.ETag, etag)
		}
		if ok == c.Not {
			return false
		}
	}
	return true
}

// strongMatch compares entity tags with the strong comparison function of
// RFC 9110 section 8.8.3.2: both strong and identical.
func strongMatch(a, b string) bool {
	return a == b && !strings.HasPrefix(a, "W/") && strings.HasPrefix(a, `"`)
}

// ifParser is a recursive descent parser over RFC 4918 section 10.4.2,
// allowing linear white space between tokens.
type ifParser struct {
	s   string
	pos int
}

func (p *ifParser) parse() (If, error) {
	p.skipSpace()
	if p.eof() {
		return If{}, errors.New("empty header")
	}
	tagged := p.peek() == '<'
	var h If
	for p.skipSpace(); !p.eof(); p.skipSpace() {
		resource := ""
		if tagged {
			if p.peek() != '<' {
				return If{}, p.errorf("expected resource tag")
			}
			var err error
			if resource, err = p.resourceTag(); err != nil {
				return If{}, err
			}
			p.skipSpace()
			if p.eof() || p.peek() != '(' {
				return If{}, p.errorf("resource tag without a list")
			}
		}
		// A tagged production takes all the lists that follow its tag; an
		// untagged one is a single list.
		for {
			if p.peek() != '(' {
				return If{}, p.errorf("expected '('")
			}
			conds, err := p.list()
			if err != nil {
				return If{}, err
			}
			h.Lists = append(h.Lists, List{Resource: resource, Conditions: conds})
			p.skipSpace()
			if !tagged || p.eof() || p.peek() != '(' {
				break
			}
		}
	}
	return h, nil
}

func (p *ifParser) list() ([]Condition, error) {
	p.pos++ // '('
	var conds []Condition
	for {
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf("unterminated list")
		}
		if p.peek() == ')' {
			p.pos++
			if len(conds) == 0 {
				return nil, p.errorf("empty list")
			}
			return conds, nil
		}
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
}

func (p *ifParser) condition() (Condition, error) {
	var c Condition
	if len(p.s)-p.pos >= 3 && strings.EqualFold(p.s[p.pos:p.pos+3], "Not") {
		c.Not = true
		p.pos += 3
		p.skipSpace()
		if p.eof() {
			return c, p.errorf("Not without a condition")
		}
	}
	switch p.peek() {
	case '<':
		uri, err := p.angled()
		if err != nil {
			return c, err
		}
		if !hasScheme(uri) {
			return c, p.errorf("state token %q is not an absolute URI", uri)
		}
		c.Token = uri
	case '[':
		p.pos++
		p.skipSpace()
		etag, err := p.entityTag()
		if err != nil {
			return c, err
		}
		p.skipSpace()
		if p.eof() || p.peek() != ']' {
			return c, p.errorf("expected ']'")
		}
		p.pos++
		c.ETag = etag
	default:
		return c, p.errorf("expected state token or entity tag")
	}
	return c, nil
}

// angled reads "<...>" and returns what is between the brackets, which must
// be non-empty and free of white space.
func (p *ifParser) angled() (string, error) {
	start := p.pos + 1
	end := strings.IndexByte(p.s[start:], '>')
	if end < 0 {
		return "", p.errorf("unterminated '<'")
	}
	v := p.s[start : start+end]
	if v == "" || strings.ContainsAny(v, "< \t\r\n") {
		return "", p.errorf("bad URI %q", v)
	}
	p.pos = start + end + 1
	return v, nil
}

// resourceTag reads a Resource-Tag and returns its cleaned, percent-decoded
// path; a collection's trailing slash is kept.
func (p *ifParser) resourceTag() (string, error) {
	ref, err := p.angled()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", p.errorf("bad resource tag: %w", err)
	}
	if u.Opaque != "" || (u.Scheme == "" && !strings.HasPrefix(ref, "/")) {
		return "", p.errorf("resource tag %q is neither absolute URI nor absolute path", ref)
	}
	rp := u.Path
	if rp == "" {
		rp = "/"
	}
	if !strings.HasPrefix(rp, "/") {
		return "", p.errorf("resource tag %q has no absolute path", ref)
	}
	cleaned := path.Clean(rp)
	if strings.HasSuffix(rp, "/") && cleaned != "/" {
		cleaned += "/"
	}
	return cleaned, nil
}

// entityTag reads [W/]"opaque" and returns it as written. The opaque part
// follows the quoted-string of RFC 2616, which RFC 4918 was written against:
// its own examples carry spaces ("I am an ETag"), and a backslash quotes the
// next character.
func (p *ifParser) entityTag() (string, error) {
	start := p.pos
	if strings.HasPrefix(p.s[p.pos:], "W/") {
		p.pos += 2
	}
	if p.eof() || p.peek() != '"' {
		return "", p.errorf("expected quoted entity tag")
	}
	for p.pos++; !p.eof(); p.pos++ {
		switch b := p.peek(); {
		case b == '"':
			p.pos++
			return p.s[start:p.pos], nil
		case b == '\\':
			p.pos++
			if p.eof() {
				return "", p.errorf("unterminated entity tag")
			}
		case b < 0x20 && b != '\t', b == 0x7f:
			return "", p.errorf("control character %q in entity tag", b)
		}
	}
	return "", p.errorf("unterminated entity tag")
}

func (p *ifParser) skipSpace() {
	for !p.eof() {
		switch p.peek() {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *ifParser) eof() bool  { return p.pos >= len(p.s) }
func (p *ifParser) peek() byte { return p.s[p.pos] }

func (p *ifParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %w", p.pos, fmt.Errorf(format, args...))
}

// hasScheme reports whether uri starts with a URI scheme and ':' (RFC 3986
// section 3.1), as every state token must.
func hasScheme(uri string) bool {
	colon := strings.IndexByte(uri, ':')
	if colon < 1 {
		return false
	}
	for i := 0; i < colon; i++ {
		b := uri[i]
		letter := (b|0x20) >= 'a' && (b|0x20) <= 'z'
		if !letter && (i == 0 || !(b >= '0' && b <= '9' || b == '+' || b == '-' || b == '.')) {
			return false
		}
	}
	return true
}
