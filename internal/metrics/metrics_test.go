package metrics

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"koyomi.dev/koyomi/internal/store"
	"koyomi.dev/koyomi/internal/store/sqlite"
)

// TestTimedStore checks that transactions through the timed store are the
// real store's (optional Tx capabilities still found) and are counted by
// kind and result.
func TestTimedStore(t *testing.T) {
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := New(nil)
	timed := m.Store(st)
	if err := timed.View(t.Context(), func(tx store.Tx) error {
		if _, ok := tx.(store.DataReader); !ok {
			t.Error("the timed store's Tx lost store.DataReader")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := timed.Update(t.Context(), func(store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Update error = %v, want the function's", err)
	}
	if n := testutil.CollectAndCount(m.txLatency); n != 2 {
		t.Errorf("%d transaction series, want 2 (view ok, update error)", n)
	}
	want := `koyomi_store_tx_duration_seconds_count{kind="update",result="error"} 1`
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("scrape lacks %q", want)
	}
}

func TestMethodLabel(t *testing.T) {
	for in, want := range map[string]string{"PROPFIND": "PROPFIND", "GET": "GET", "BREW": "other", "propfind": "other"} {
		if got := Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
}
