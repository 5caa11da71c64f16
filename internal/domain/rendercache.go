package domain

import (
	"strconv"
	"sync"
	"time"

	"koyomi.dev/koyomi/internal/store"
)

// renderCache keeps what views rendered of source objects, keyed by
// everything the output depends on (the view's key, the source's place in
// the view, the object's ETag), so that clients asking the same view again
// do not re-evaluate unchanged objects. It is bounded in bytes and forgets
// the oldest entries first; a key never goes stale, it only stops being
// asked for.
type renderCache struct {
	mu    sync.Mutex
	max   int
	size  int
	m     map[string]*VCObject // nil value: the object is hidden
	order []string
}

func newRenderCache(maxBytes int) *renderCache {
	return &renderCache{max: maxBytes, m: map[string]*VCObject{}}
}

func renderKey(v *VCView, source int, o *store.Object) string {
	return v.key + "|" + strconv.Itoa(source) + "|" + strconv.FormatInt(o.CollectionID, 10) + "|" + o.Name + "|" + o.ETag
}

func (c *renderCache) get(key string) (*VCObject, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vo, ok := c.m[key]
	return vo, ok
}

func (c *renderCache) put(key string, vo *VCObject) {
	n := len(key)
	if vo != nil {
		n += len(vo.Data)
	}
	if n > c.max/16 {
		return // one huge object must not flush everything
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	for c.size+n > c.max && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		if e := c.m[old]; e != nil {
			c.size -= len(e.Data)
		}
		c.size -= len(old)
		delete(c.m, old)
	}
	c.m[key] = vo
	c.order = append(c.order, key)
	c.size += n
}

// renderCached is render through the service's cache.
func (s *Service) renderCached(v *VCView, source int, o *store.Object, now time.Time) (*VCObject, error) {
	key := renderKey(v, source, o)
	var err error
	vo, ok := s.renders.get(key)
	if observe := s.opts.RenderCacheLookup; observe != nil {
		observe(ok)
	}
	if ok {
		if vo == nil {
			return nil, nil
		}
		c := *vo
		return &c, nil
	}
	vo, err = v.render(v.sources[source], o, now)
	if err != nil {
		return nil, err
	}
	s.renders.put(key, vo)
	if vo == nil {
		return nil, nil
	}
	c := *vo
	return &c, nil
}
