// Package publiclink serves public links: a calendar or a virtual calendar
// read without signing in, at Path(token), as one iCalendar stream with a
// strong ETag, answering conditional requests with 304 Not Modified.
//
// What a link shows, and whether it still does, is the domain's to say
// (domain.OpenPublicLink); this package turns it into HTTP. It knows
// nothing of authentication, WebDAV or the routes of the rest of the
// server.
package publiclink

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"koyomi.dev/koyomi/internal/domain"
)

// Prefix is the URL path under which public links are served.
const Prefix = "/public/"

// suffix ends every link's path, so that clients and people take it for a
// calendar file.
const suffix = ".ics"

// Path returns the URL path of the link token.
func Path(token string) string { return Prefix + token + suffix }

// Handler answers GET and HEAD of public links.
type Handler struct {
	svc    *domain.Service
	logger *slog.Logger
}

// New returns a Handler over svc; a nil logger discards.
func New(svc *domain.Service, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, logger: logger}
}

// ServeHTTP implements http.Handler.
//
// Every link that does not answer (malformed, unknown, revoked, its
// calendar deleted) is one 404 with one body, so that an answer tells
// nothing of which. A link that answers is private to whoever holds it:
// "private" keeps shared caches from storing it, "no-cache" makes every
// cache ask again (a 304 when nothing changed), so that a revocation
// takes effect on the next request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Robots-Tag", "noindex, nofollow")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "a public link is read with GET or HEAD", http.StatusMethodNotAllowed)
		return
	}
	token, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, Prefix), suffix)
	if !ok {
		notFound(w)
		return
	}
	feed, err := h.svc.OpenPublicLink(r.Context(), token)
	if err != nil {
		if !errors.Is(err, domain.ErrNotFound) {
			h.logger.ErrorContext(r.Context(), "public link failed", "err", err)
			hdr.Set("Cache-Control", "no-store")
			http.Error(w, "internal server error", http.StatusInternalServerError)
			return
		}
		notFound(w)
		return
	}
	body := feed.Data
	sum := sha256.Sum256(body)
	hdr.Set("Content-Type", "text/calendar; charset=utf-8")
	hdr.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	hdr.Set("Cache-Control", "private, no-cache")
	// ServeContent answers HEAD, If-None-Match and, when the feed has a
	// modification time, Last-Modified and If-Modified-Since.
	http.ServeContent(w, r, "", feed.Modified, bytes.NewReader(body))
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "no such public link", http.StatusNotFound)
}
