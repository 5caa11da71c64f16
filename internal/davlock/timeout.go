package davlock

import (
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTimeout is the lock lifetime when the client asks for none or
	// for one the server does not understand.
	DefaultTimeout = time.Hour
	// MaxTimeout caps every lock lifetime, "Infinite" included, so that a
	// client that vanishes cannot keep a resource locked for ever.
	MaxTimeout = 7 * 24 * time.Hour
)

// ParseTimeout reads a Timeout request header (RFC 4918 section 10.7), such
// as "Second-3600", "Infinite" or "Infinite, Second-4100000000", and returns
// the lifetime to grant: the first value understood, capped at MaxTimeout, or
// DefaultTimeout when there is none. A server may grant a different timeout
// than the one asked for, so this never fails.
func ParseTimeout(header string) time.Duration {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if strings.EqualFold(part, "Infinite") {
			return MaxTimeout
		}
		digits, ok := cutPrefixFold(part, "Second-")
		if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
			continue
		}
		n, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || n > uint64(MaxTimeout/time.Second) {
			// Too large for uint64 is, all the more, above the cap.
			return MaxTimeout
		}
		if n == 0 {
			continue
		}
		return time.Duration(n) * time.Second
	}
	return DefaultTimeout
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
