package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
)

// floor is an HTTP server that answers every request of a kind with the
// bytes the real server sent for one request of that kind. Running the
// phases against it measures what the tool, the loopback network and Go's
// HTTP stack cost by themselves: the fastest any server could be.
type floor struct {
	url *url.URL
	srv *http.Server
}

func startFloor(answers map[string]*recorded) (*floor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: floor: %w", err)
	}
	f := &floor{
		url: &url.URL{Scheme: "http", Host: ln.Addr().String()},
		srv: &http.Server{Handler: replay(answers)},
	}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err) // Serve fails only on a broken listener we just made
		}
	}()
	return f, nil
}

func (f *floor) close() { f.srv.Close() }

// replay serves the recorded answer for the request's kind header.
func replay(answers map[string]*recorded) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		a := answers[r.Header.Get(kindHeader)]
		if a == nil {
			http.Error(w, "no answer recorded for this kind", http.StatusNotFound)
			return
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
	})
}
