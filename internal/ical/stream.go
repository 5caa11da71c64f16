package ical

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Chunk is one component cut out of a stream, with its bytes as sent
// (folded lines kept, line breaks made CRLF).
type Chunk struct {
	// Name is the component's name, upper-cased: VEVENT, VTIMEZONE, VCARD …
	Name string
	// Line is the number of the component's BEGIN line in the stream,
	// from 1.
	Line int
	// UID is the component's own UID, "" when it has none.
	UID string
	// TZID is a VTIMEZONE's own TZID.
	TZID string
	// RecurrenceID is the value of the component's own RECURRENCE-ID,
	// preceded by its TZID ("Europe/Berlin:20260112T090000"), as sent: ""
	// for a component that is no override.
	RecurrenceID string
	// Zones are the TZIDs the component's properties name in a TZID
	// parameter, each once.
	Zones []string
	Data  []byte
	// Err is set when the component is malformed or too large: Data is
	// then incomplete, and the stream goes on after the component.
	Err error
}

// SplitOptions configure a Splitter.
type SplitOptions struct {
	// Container is the component whose children are cut out
	// ("VCALENDAR"); "" cuts the stream's top-level components, as a
	// vCard stream's cards (vCard shares the content-line grammar, RFC
	// 6350 3.2).
	Container string
	// MaxSize bounds one component's bytes; a larger one is a Chunk with
	// Err and no more of its data is kept.
	MaxSize int
}

// Splitter cuts a stream of content lines into components, one at a time,
// keeping no more than one component in memory. It does not parse or
// validate what it cuts: it finds the component boundaries and the few
// properties that decide where a component belongs.
type Splitter struct {
	r      *bufio.Reader
	opts   SplitOptions
	line   int  // number of the last physical line read
	inside bool // within the container (always true without one)
	seen   bool // a container was opened
	err    error
}

// NewSplitter returns a Splitter over r.
func NewSplitter(r io.Reader, opts SplitOptions) *Splitter {
	if opts.MaxSize <= 0 {
		opts.MaxSize = 10 << 20
	}
	return &Splitter{r: bufio.NewReaderSize(r, 64<<10), opts: opts, inside: opts.Container == ""}
}

// readLine returns the next logical line: a physical line with its
// continuation lines, each without its line break, and the line number of
// its first physical line. io.EOF at the end.
func (s *Splitter) readLine() (raw [][]byte, first int, err error) {
	for {
		l, err := s.physical()
		if err != nil {
			return nil, 0, err
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		raw = append(raw, l)
		first = s.line
		break
	}
	for {
		b, err := s.r.Peek(1)
		if err != nil || (b[0] != ' ' && b[0] != '\t') {
			return raw, first, nil
		}
		l, err := s.physical()
		if err != nil {
			return raw, first, nil
		}
		raw = append(raw, l)
	}
}

// physical reads one physical line without its line break. Of a line
// longer than MaxSize only the first MaxSize+1 bytes are kept: enough for
// the component holding it to be refused as too large, without a line
// that never ends filling the memory.
func (s *Splitter) physical() ([]byte, error) {
	var line []byte
	for {
		part, err := s.r.ReadSlice('\n')
		if room := s.opts.MaxSize + 1 - len(line); room > 0 {
			line = append(line, part[:min(len(part), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) == 0 && err != nil {
			return nil, err
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		break
	}
	if s.line == 0 {
		// A byte order mark some editors put at the start of a UTF-8
		// file is no part of the first line.
		line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	}
	s.line++
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// unfold joins a logical line's physical lines (RFC 5545 3.1).
func unfold(raw [][]byte) []byte {
	if len(raw) == 1 {
		return raw[0]
	}
	var b []byte
	for i, l := range raw {
		if i > 0 {
			l = l[1:]
		}
		b = append(b, l...)
	}
	return b
}

// Next returns the next component, or io.EOF after the last. Other errors
// end the stream: it could not be read, or it is not the kind of stream
// the options name (ErrInvalidData). A malformed component is no such
// error: it is returned as a Chunk with Err, and Next goes on after it.
func (s *Splitter) Next() (*Chunk, error) {
	if s.err != nil {
		return nil, s.err
	}
	c, err := s.next()
	if err != nil {
		s.err = err
	}
	return c, err
}

func (s *Splitter) next() (*Chunk, error) {
	for {
		raw, n, err := s.readLine()
		if errors.Is(err, io.EOF) {
			if s.opts.Container != "" && !s.seen {
				return nil, fmt.Errorf("%w: no %s", ErrInvalidData, s.opts.Container)
			}
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		name, _, value, ok := splitLine(unfold(raw))
		begin := ok && equalFold(name, "BEGIN")
		end := ok && equalFold(name, "END")
		switch {
		case !s.inside && begin && equalFold(value, s.opts.Container):
			s.inside, s.seen = true, true
		case !s.inside:
			return nil, fmt.Errorf("%w: line %d: expected BEGIN:%s", ErrInvalidData, n, s.opts.Container)
		case s.opts.Container != "" && end && equalFold(value, s.opts.Container):
			s.inside = false
		case begin:
			c := s.component(strings.ToUpper(string(bytes.TrimSpace(value))), raw, n)
			if s.err != nil {
				// The stream broke off within the component: what
				// was read of it is no entry of the file.
				return nil, s.err
			}
			return c, nil
		case s.opts.Container != "":
			// A property of the container (VERSION, PRODID, METHOD …).
		default:
			return nil, fmt.Errorf("%w: line %d: expected BEGIN", ErrInvalidData, n)
		}
	}
}

// component reads the component whose BEGIN line is begin, at line n.
func (s *Splitter) component(compName string, begin [][]byte, n int) *Chunk {
	c := &Chunk{Name: compName, Line: n}
	var data bytes.Buffer
	keep := func(raw [][]byte) {
		if c.Err != nil {
			return
		}
		for _, l := range raw {
			data.Write(l)
			data.WriteString("\r\n")
		}
		if data.Len() > s.opts.MaxSize {
			c.Err = fmt.Errorf("%w: line %d: %s larger than %d bytes", ErrTooLarge, n, compName, s.opts.MaxSize)
			data.Reset()
		}
	}
	keep(begin)
	var open []string // components open below this one
	for {
		raw, ln, err := s.readLine()
		if err != nil {
			if c.Err == nil {
				c.Err = fmt.Errorf("%w: line %d: %s not ended (END:%s missing)", ErrInvalidData, n, compName, compName)
			}
			c.Data = data.Bytes()
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			return c
		}
		line := unfold(raw)
		name, params, value, ok := splitLine(line)
		if !ok {
			keep(raw)
			if c.Err == nil {
				c.Err = fmt.Errorf("%w: line %d: %q is not a content line (NAME:VALUE)", ErrInvalidData, ln, truncate(line))
			}
			continue
		}
		// The value is looked at only for the few properties below: no
		// string is made of every line's.
		var v string
		if equalFold(name, "BEGIN") || equalFold(name, "END") || equalFold(name, "UID") ||
			equalFold(name, "RECURRENCE-ID") || equalFold(name, "TZID") {
			v = strings.TrimSpace(string(value))
		}
		switch {
		case equalFold(name, "BEGIN"):
			open = append(open, strings.ToUpper(v))
		case equalFold(name, "END") && len(open) > 0:
			if !strings.EqualFold(open[len(open)-1], v) && c.Err == nil {
				c.Err = fmt.Errorf("%w: line %d: END:%s closes BEGIN:%s", ErrInvalidData, ln, v, open[len(open)-1])
			}
			open = open[:len(open)-1]
		case equalFold(name, "END"):
			if strings.EqualFold(v, s.opts.Container) {
				// The container ends within the component: the
				// component's END is missing.
				s.inside = false
				if c.Err == nil {
					c.Err = fmt.Errorf("%w: line %d: %s not ended before END:%s", ErrInvalidData, n, compName, v)
				}
				c.Data = data.Bytes()
				return c
			}
			keep(raw)
			if !strings.EqualFold(v, compName) && c.Err == nil {
				c.Err = fmt.Errorf("%w: line %d: END:%s closes BEGIN:%s", ErrInvalidData, ln, v, compName)
			}
			c.Data = data.Bytes()
			return c
		case len(open) == 0 && equalFold(name, "UID"):
			c.UID = v
		case len(open) == 0 && equalFold(name, "RECURRENCE-ID"):
			c.RecurrenceID = v
			if id := tzidParam(params); id != "" {
				c.RecurrenceID = id + ":" + v
			}
		case len(open) == 0 && equalFold(name, "TZID") && compName == "VTIMEZONE":
			c.TZID = v
		}
		if compName != "VTIMEZONE" {
			if id := tzidParam(params); id != "" && !slices.Contains(c.Zones, id) {
				c.Zones = append(c.Zones, id)
			}
		}
		keep(raw)
	}
}

// tzidParam returns the value of a TZID parameter among params (";A=b;…"),
// without quotes, or "".
func tzidParam(params []byte) string {
	i := indexFold(params, ";TZID=")
	if i < 0 {
		return ""
	}
	v := params[i+len(";TZID="):]
	if len(v) > 0 && v[0] == '"' {
		if j := bytes.IndexByte(v[1:], '"'); j >= 0 {
			return string(v[1 : j+1])
		}
		return string(v[1:])
	}
	if j := bytes.IndexByte(v, ';'); j >= 0 {
		v = v[:j]
	}
	return string(v)
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// ErrTooLarge: a component larger than a Splitter's MaxSize.
var ErrTooLarge = errors.New("ical: component too large")

// Assemble builds a calendar object resource from components cut out by
// a Splitter: a VCALENDAR holding zones (VTIMEZONEs) first, then comps.
func Assemble(zones, comps [][]byte) []byte {
	n := 64
	for _, set := range [][][]byte{zones, comps} {
		for _, c := range set {
			n += len(c)
		}
	}
	out := make([]byte, 0, n)
	out = append(out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Koyomi//Koyomi//EN\r\n"...)
	for _, set := range [][][]byte{zones, comps} {
		for _, c := range set {
			out = append(out, c...)
		}
	}
	return append(out, "END:VCALENDAR\r\n"...)
}
