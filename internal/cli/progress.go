package cli

import (
	"fmt"
	"io"
	"time"
)

// progress shows how far a long command is, on one line of standard error
// rewritten in place. It shows nothing when standard error is not a
// terminal, so that logs and scripts get only the result.
type progress struct {
	w           io.Writer // nil: silent
	label       string
	done, total int
	shown       time.Time
	now         func() time.Time
}

// progressEvery bounds how often the line is rewritten.
const progressEvery = 100 * time.Millisecond

// newProgress returns a progress line labelled label, silent unless
// standard error is a terminal.
func newProgress(env Env, label string) *progress {
	p := &progress{label: label, now: time.Now}
	if env.StderrIsTerminal {
		p.w = env.Stderr
	}
	return p
}

// Total sets how many steps there are, when known.
func (p *progress) Total(n int) { p.total = n }

// Add records n more steps done.
func (p *progress) Add(n int) {
	p.done += n
	if p.w == nil {
		return
	}
	if now := p.now(); now.Sub(p.shown) >= progressEvery {
		p.shown = now
		p.show()
	}
}

// Done shows the final count and ends the line.
func (p *progress) Done() {
	if p.w == nil {
		return
	}
	p.show()
	fmt.Fprintln(p.w)
}

func (p *progress) show() {
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%s: %d/%d", p.label, p.done, p.total)
		return
	}
	fmt.Fprintf(p.w, "\r%s: %d", p.label, p.done)
}

// report adapts p to the progress callbacks of check and storecopy, which
// say how many of how many are done.
func (p *progress) report(done, total int) {
	p.Total(total)
	p.Add(done - p.done)
}
