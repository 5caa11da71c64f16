package connector

import (
	"context"
	"time"

	"koyomi.dev/koyomi/internal/connector/remote"
	"koyomi.dev/koyomi/internal/store"
)

// View is a connector as shown to people (API, CLI): its settings and
// state, the local calendar by name, and never its credentials.
type View struct {
	ID        int64         `json:"id"`
	Owner     string        `json:"owner"`
	Name      string        `json:"name"`
	Calendar  string        `json:"calendar"`
	Kind      string        `json:"kind"`
	URL       string        `json:"url"`
	Username  string        `json:"username,omitempty"`
	Auth      string        `json:"auth"` // "none", "password" or "token"
	Direction string        `json:"direction"`
	Policy    string        `json:"conflict_policy"`
	Interval  time.Duration `json:"-"`
	IntervalS string        `json:"interval"`
	Enabled   bool          `json:"enabled"`
	State     string        `json:"state"`
	Reason    string        `json:"reason,omitempty"`
	NextRun   *time.Time    `json:"next_run,omitempty"`
	LastRun   *time.Time    `json:"last_run,omitempty"`
	LastOK    *time.Time    `json:"last_success,omitempty"`
	// CacheAge is how old the local copy of the remote is: the time since
	// the last successful run (empty before the first).
	CacheAge string    `json:"cache_age,omitempty"`
	Created  time.Time `json:"created"`
}

// Describe turns connectors into views.
func (m *Manager) Describe(ctx context.Context, cs ...*store.Connector) ([]View, error) {
	names := map[int64]string{}
	err := m.opts.Store.View(ctx, func(tx store.Tx) error {
		for _, c := range cs {
			if _, ok := names[c.CollectionID]; ok {
				continue
			}
			col, err := tx.GetCollectionByID(ctx, c.CollectionID)
			if err != nil {
				return err
			}
			names[c.CollectionID] = col.Name
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	now := m.now()
	views := make([]View, 0, len(cs))
	for _, c := range cs {
		v := View{ID: c.ID, Owner: c.Owner, Name: c.Name, Calendar: names[c.CollectionID], Kind: c.Kind, URL: c.URL,
			Username: c.Username, Auth: "none", Direction: c.Direction, Policy: c.Policy, Interval: c.Interval,
			IntervalS: c.Interval.String(), Enabled: c.Enabled, State: c.State, Reason: c.Reason,
			NextRun: timePtr(c.NextRun), LastRun: timePtr(c.LastRun), LastOK: timePtr(c.LastOK), Created: c.Created}
		if len(c.Secret) > 0 {
			v.Auth = map[string]string{"bearer": "token"}[c.AuthType]
			if v.Auth == "" {
				v.Auth = "password"
			}
		}
		if !runnable(c) {
			v.NextRun = nil
		}
		if !c.LastOK.IsZero() {
			v.CacheAge = now.Sub(c.LastOK).Truncate(time.Second).String()
		}
		views = append(views, v)
	}
	return views, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Discover lists the calendars reachable from a server root, principal,
// calendar home or calendar URL with the given credentials, so a user can
// pick the collection URL for a connector.
func (m *Manager) Discover(ctx context.Context, rawURL, username, password, token string) ([]remote.Calendar, error) {
	cl := remote.New(m.opts.HTTPClient, remote.Auth{Username: username, Password: password, Bearer: token})
	return cl.Discover(ctx, rawURL)
}
