package dav

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"koyomi.dev/koyomi/internal/davlock"
)

// checkIf evaluates the If header (RFC 4918 10.4) of a request: 400 when it
// is malformed, 412 when no list holds.
func (h *Handler) checkIf(r *http.Request) error {
	raw := r.Header.Get("If")
	if raw == "" {
		return nil
	}
	ih, err := davlock.ParseIf(raw)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Msg: "malformed If header", Err: err}
	}
	ctx := r.Context()
	// A header may name one resource in thousands of conditions; each is
	// looked up once.
	type state struct {
		etag   string
		exists bool
	}
	seen := map[string]state{}
	resolve := func(p string) (string, bool) {
		p = CleanPath(p)
		if st, ok := seen[p]; ok {
			return st.etag, st.exists
		}
		var st state
		if res, err := h.Backend.Resolve(ctx, p); err == nil {
			st.exists = true
			if res.ETag != "" {
				st.etag = quoteETag(res.ETag)
			}
		}
		seen[p] = st
		return st.etag, st.exists
	}
	tokenMatches := func(p, token string) bool {
		return h.Locks != nil && h.Locks.TokenApplies(ctx, CleanPath(p), token)
	}
	if !ih.Evaluate(CleanPath(r.URL.Path), resolve, tokenMatches) {
		return Errorf(http.StatusPreconditionFailed, "If header precondition failed")
	}
	return nil
}

// submittedTokens returns the lock tokens in a request's If header.
func submittedTokens(r *http.Request) []string {
	raw := r.Header.Get("If")
	if raw == "" {
		return nil
	}
	ih, err := davlock.ParseIf(raw)
	if err != nil {
		return nil
	}
	return ih.Tokens()
}

// checkLocks refuses a modification of path (and everything below it when
// infinite) that is covered by a lock whose token was not submitted.
func (h *Handler) checkLocks(r *http.Request, path string, infinite bool) error {
	if h.Locks == nil {
		return nil
	}
	err := h.Locks.CheckAs(r.Context(), h.principal(r), path, infinite, submittedTokens(r))
	if err == nil {
		return nil
	}
	var le *davlock.LockedError
	if errors.As(err, &le) {
		return h.lockedError(r.Context(), le.Root, "lock-token-submitted")
	}
	return err
}

// lockedError reports a conflicting lock rooted at root with the 423
// precondition cond, unless the requester cannot see the locked resource:
// then they get the 404 they would get without the lock, since a 423 naming
// the lock's root would tell them what another user has and where.
func (h *Handler) lockedError(ctx context.Context, root, cond string) error {
	if _, err := h.Backend.Resolve(ctx, root); err != nil {
		if h.asError(err, root).Status == http.StatusNotFound {
			return ErrNotFound
		}
		return err
	}
	return &Error{Status: http.StatusLocked, Condition: Name(cond), ConditionBody: "<D:href>" + Href(root) + "</D:href>"}
}

func (h *Handler) principal(r *http.Request) string {
	if h.Principal == nil {
		return ""
	}
	return h.Principal(r.Context())
}

func activeLockXML(l davlock.Lock) string {
	var b strings.Builder
	b.WriteString("<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>")
	if l.Exclusive {
		b.WriteString("<D:exclusive/>")
	} else {
		b.WriteString("<D:shared/>")
	}
	b.WriteString("</D:lockscope><D:depth>")
	if l.Infinite {
		b.WriteString("infinity")
	} else {
		b.WriteString("0")
	}
	b.WriteString("</D:depth>")
	if len(l.Owner) > 0 {
		b.Write(l.Owner)
	}
	b.WriteString("<D:timeout>")
	if l.Timeout == 0 {
		b.WriteString("Infinite")
	} else {
		b.WriteString("Second-" + strconv.FormatInt(int64(l.Timeout/time.Second), 10))
	}
	b.WriteString("</D:timeout><D:locktoken><D:href>" + EscapeText(l.Token) + "</D:href></D:locktoken>")
	b.WriteString("<D:lockroot><D:href>" + Href(l.Root) + "</D:href></D:lockroot></D:activelock>")
	return b.String()
}

func writeLockResponse(w http.ResponseWriter, l davlock.Lock, status int) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(xmlSafe([]byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<D:prop xmlns:D="DAV:"><D:lockdiscovery>` + activeLockXML(l) + "</D:lockdiscovery></D:prop>\n")))
}

func (h *Handler) lock(w http.ResponseWriter, r *http.Request) error {
	if h.Locks == nil {
		return Errorf(http.StatusMethodNotAllowed, "locking is not enabled")
	}
	ctx := r.Context()
	p := CleanPath(r.URL.Path)
	body, err := h.ReadBody(r)
	if err != nil {
		return err
	}
	timeout := davlock.ParseTimeout(r.Header.Get("Timeout"))
	if len(strings.TrimSpace(string(body))) == 0 {
		// A refresh: the lock is named in the If header.
		tokens := submittedTokens(r)
		if len(tokens) == 0 {
			return Errorf(http.StatusBadRequest, "lock refresh requires an If header with the lock token")
		}
		res, err := h.Backend.Resolve(ctx, p)
		if err == nil {
			p = res.Path
		}
		for _, t := range tokens {
			l, err := h.Locks.Refresh(ctx, p, t, timeout)
			if err == nil {
				writeLockResponse(w, l, http.StatusOK)
				return nil
			}
		}
		return Precondition(http.StatusPreconditionFailed, Name("lock-token-matches-request-uri"), "no lock to refresh")
	}
	l := davlock.Lock{Principal: h.principal(r), Timeout: timeout, Infinite: true}
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Depth"))) {
	case "0":
		l.Infinite = false
	case "", "infinity":
	default:
		return Errorf(http.StatusBadRequest, "Depth must be 0 or infinity for LOCK")
	}
	d := h.XMLLimits.NewDecoder(strings.NewReader(string(body)))
	root, err := d.Root()
	if err != nil {
		return err
	}
	if root.Name != Name("lockinfo") {
		return Errorf(http.StatusBadRequest, "expected DAV:lockinfo")
	}
	scoped := false
	for {
		se, ok, err := d.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch se.Name {
		case Name("lockscope"):
			names, err := d.Names()
			if err != nil {
				return err
			}
			for _, n := range names {
				switch n {
				case Name("exclusive"):
					l.Exclusive, scoped = true, true
				case Name("shared"):
					l.Exclusive, scoped = false, true
				}
			}
		case Name("owner"):
			raw, err := d.Capture(se)
			if err != nil {
				return err
			}
			l.Owner = raw.XML
		default:
			if err := d.Skip(); err != nil {
				return err
			}
		}
	}
	if !scoped {
		return Errorf(http.StatusBadRequest, "lockinfo must name a lockscope")
	}
	res, err := h.resolveOptional(ctx, p)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if lp, ok := h.Backend.(LockPermitter); ok && res != nil {
		if err := lp.MayLock(ctx, res); err != nil {
			return err
		}
	}
	if res != nil {
		p = res.Path
		if !res.Collection {
			l.Infinite = false
		}
	}
	l.Root = p
	created, err := h.Locks.Create(ctx, l)
	if err != nil {
		var le *davlock.LockedError
		if errors.As(err, &le) {
			return h.lockedError(ctx, le.Root, "no-conflicting-lock")
		}
		return err
	}
	if res == nil {
		// Locking an unmapped URL creates an empty resource (RFC 4918 7.3).
		if _, _, err := h.Backend.Put(ctx, p, CleanPath(r.URL.EscapedPath()), nil, "application/octet-stream", Conditions{IfNoneMatch: true}); err != nil {
			h.Locks.Unlock(ctx, p, created.Token)
			return err
		}
		status = http.StatusCreated
	}
	w.Header().Set("Lock-Token", "<"+created.Token+">")
	writeLockResponse(w, created, status)
	return nil
}

func (h *Handler) unlock(w http.ResponseWriter, r *http.Request) error {
	if h.Locks == nil {
		return Errorf(http.StatusMethodNotAllowed, "locking is not enabled")
	}
	token := strings.Trim(strings.TrimSpace(r.Header.Get("Lock-Token")), "<>")
	if token == "" {
		return Errorf(http.StatusBadRequest, "Lock-Token header required")
	}
	p := CleanPath(r.URL.Path)
	if res, err := h.Backend.Resolve(r.Context(), p); err == nil {
		p = res.Path
	} else {
		return err
	}
	if err := h.Locks.Unlock(r.Context(), p, token); err != nil {
		if !errors.Is(err, davlock.ErrNoSuchLock) {
			return err
		}
		return Precondition(http.StatusConflict, Name("lock-token-matches-request-uri"), "the lock token does not apply to this resource")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
