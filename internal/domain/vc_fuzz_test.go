package domain

import (
	"encoding/json"
	"testing"
)

// FuzzVCDefinition feeds arbitrary JSON to the virtual calendar definition
// parser and validator: nothing may panic, and a definition accepted once
// is accepted again after a round trip through JSON.
func FuzzVCDefinition(f *testing.F) {
	for _, seed := range []string{
		`{"calendar":"default"}`,
		`{"filter":{"default":"summary","zone":"Europe/Berlin","rules":[{"level":"full","from":"17:00","to":"24:00"}]},"of":{"calendar":"default"}}`,
		`{"union":[{"calendar":"a"},{"vc":"bob/x"},{"group":"team"}]}`,
		`{"filter":{"default":"hidden","rules":[{"level":"busy","weekdays":["sat","sun"],"not_weekdays":true,"zone":"UTC"}]},"of":{"filter":{"default":"full"},"of":{"calendar":"c"}}}`,
		`{"filter":{"default":"busy","rules":[{"level":"full","date_from":"2026-01-01","date_to":"2026-02-01","zone":"Asia/Tokyo","categories":["x"],"classes":["PUBLIC"],"transp":"OPAQUE"}]},"of":{"calendar":"c"}}`,
		`{"filter":{"default":"full","rules":[{"level":"summary","from":"22:00","to":"06:00","zone":"America/New_York"}]}}`,
		`{}`, `[]`, `{"union":[]}`, `{"calendar":"a","vc":"b"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n VCNode
		if json.Unmarshal(data, &n) != nil {
			return
		}
		nodes := 0
		if err := n.validate(&nodes); err != nil {
			return
		}
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var m VCNode
		if err := json.Unmarshal(again, &m); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if err := m.validate(new(int)); err != nil {
			t.Fatalf("accepted %s, refused after a round trip: %v", data, err)
		}
	})
}
