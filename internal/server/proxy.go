package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Headers a reverse proxy sets to describe the client's original request.
// They are believed only from a peer within the trusted ranges: anyone else
// could send them to fake an address (and escape a rate limit) or a host.
const (
	headerForwardedFor   = "X-Forwarded-For"
	headerForwardedProto = "X-Forwarded-Proto"
	headerForwardedHost  = "X-Forwarded-Host"
)

// peerAddr returns the address of the connection's other end.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseForwardedAddr reads one X-Forwarded-For entry, which some proxies
// write with a port.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// ClientIP returns the address of the client a request came from. When the
// peer is a trusted proxy, it walks X-Forwarded-For from the right (each
// proxy appends the address it received the request from) and returns the
// first address that is not itself a trusted proxy: entries further left
// were written by the client or by hops nobody vouches for. If every entry is
// trusted, the leftmost is the client. An entry that cannot be parsed stops
// the walk at the last address known to be genuine.
//
// With no trusted ranges, or from an untrusted peer, the headers are ignored
// and the peer's address is returned.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := peerAddr(r)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	client := peer
	hops := forwardedList(r.Header.Values(headerForwardedFor))
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseForwardedAddr(hops[i])
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client.String()
}

// forwardedList splits header lines of comma-separated values, in order.
func forwardedList(lines []string) []string {
	var out []string
	for _, l := range lines {
		for v := range strings.SplitSeq(l, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// lastForwarded returns the rightmost value of a header that may list one
// value per proxy: the one written by the proxy nearest to Koyomi, which is
// the one trusted.
func lastForwarded(r *http.Request, name string) string {
	vals := forwardedList(r.Header.Values(name))
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

type schemeKey struct{}

// RequestScheme returns "https" or "http": the scheme the client used, as
// established by the forwarded-headers middleware, or else whether this
// connection is TLS. Anything that builds an absolute URL must use it and
// r.Host rather than guess.
func RequestScheme(r *http.Request) string {
	if s, ok := r.Context().Value(schemeKey{}).(string); ok {
		return s
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// forwarded makes requests relayed by a trusted proxy look as the client
// sent them: r.Host becomes X-Forwarded-Host, so that the DAV layer's
// same-server check of a Destination header compares against the host the
// client used, and X-Forwarded-Proto sets RequestScheme. From any other peer
// the forwarding headers are removed, so nothing further in can be fooled
// into reading them.
func forwarded(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := peerAddr(r)
		if !ok || !isTrusted(peer, trusted) {
			if r.Header.Get(headerForwardedFor) != "" || r.Header.Get(headerForwardedProto) != "" || r.Header.Get(headerForwardedHost) != "" {
				r = r.Clone(r.Context())
				r.Header.Del(headerForwardedFor)
				r.Header.Del(headerForwardedProto)
				r.Header.Del(headerForwardedHost)
			}
			next.ServeHTTP(w, r)
			return
		}
		host := lastForwarded(r, headerForwardedHost)
		proto := strings.ToLower(lastForwarded(r, headerForwardedProto))
		if proto != "http" && proto != "https" {
			proto = ""
		}
		if host == "" && proto == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if proto != "" {
			ctx = context.WithValue(ctx, schemeKey{}, proto)
		}
		r = r.Clone(ctx)
		if host != "" && validHost(host) {
			r.Host = host
		}
		next.ServeHTTP(w, r)
	})
}

// validHost rejects a forwarded host that could not have been a Host header
// (and so might smuggle a path or credentials into a generated URL).
func validHost(h string) bool {
	return !strings.ContainsAny(h, "/\\@?# \t\r\n")
}

// ClientIP returns the client's address for r under the server's trusted
// proxies; see the function ClientIP.
func (s *Server) ClientIP(r *http.Request) string { return ClientIP(r, s.opts.TrustedProxies) }
