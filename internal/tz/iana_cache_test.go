package tz

import (
	"testing"
	"time"
)

// TestIANAZonesAreLoadedOnce checks that resolvers share loaded IANA zones
// and that the shared zone is the one the name names.
func TestIANAZonesAreLoadedOnce(t *testing.T) {
	a, okA := NewResolver(nil).Location("America/St_Johns")
	b, okB := NewResolver(nil).Location("America/St_Johns")
	if !okA || !okB || a != b {
		t.Fatalf("two resolvers gave %p (%v) and %p (%v), want one shared zone", a, okA, b, okB)
	}
	want, err := time.LoadLocation("America/St_Johns")
	if err != nil {
		t.Fatal("zone data is embedded (time/tzdata in package tz), yet:", err)
	}
	at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	if _, off := at.In(a).Zone(); off != func() int { _, o := at.In(want).Zone(); return o }() {
		t.Errorf("shared zone offset %d differs from time.LoadLocation's", off)
	}
	if loadIANA("No/Such_Zone") != nil || loadIANA("No/Such_Zone") != nil {
		t.Error("an unknown name resolved")
	}
}
