package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler reads a process's memory from /proc/PID/status every 100 ms:
// the highest VmRSS since the last reset, and VmHWM (the kernel's own peak).
// A nil sampler, or one without a PID, samples nothing.
type rssSampler struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	peakRSS int64
	lastHWM int64
}

func newRSSSampler(pid int) *rssSampler {
	s := &rssSampler{pid: pid, done: make(chan struct{})}
	if pid <= 0 {
		return s
	}
	s.sample()
	s.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
				s.sample()
			}
		}
	})
	return s
}

func (s *rssSampler) sample() {
	rss, hwm, err := readStatus(s.pid)
	if err != nil {
		return // the process may have gone; the report shows what was seen
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peakRSS = max(s.peakRSS, rss)
	s.lastHWM = max(s.lastHWM, hwm)
}

// readStatus returns VmRSS and VmHWM in KiB.
func readStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: /proc/%d/status %s: %w", pid, key, err)
		}
		if key == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}

func (s *rssSampler) reset() {
	if s == nil || s.pid <= 0 {
		return
	}
	s.mu.Lock()
	s.peakRSS = 0
	s.mu.Unlock()
	s.sample()
}

// peak returns the highest VmRSS since reset, sampling once more first.
func (s *rssSampler) peak() int64 {
	if s == nil || s.pid <= 0 {
		return 0
	}
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS
}

func (s *rssSampler) hwm() int64 {
	if s == nil || s.pid <= 0 {
		return 0
	}
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHWM
}

func (s *rssSampler) stop() {
	if s == nil {
		return
	}
	close(s.done)
	s.wg.Wait()
}
