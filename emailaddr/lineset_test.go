package emailaddr

import (
	"runtime"
	"testing"
)

func TestLineSet(t *testing.T) {
	l := newLineSet("b.com\r\na.com\n\nb.com\nc.com") // unsorted, CRLF, blank, repeated, no final newline
	if l.len() != 3 {
		t.Errorf("len %d, want 3", l.len())
	}
	for _, s := range []string{"a.com", "b.com", "c.com"} {
		if !l.has(s) {
			t.Errorf("%q missing", s)
		}
	}
	for _, s := range []string{"", "b.com\r", "d.com", "a.co", "a.comm"} {
		if l.has(s) {
			t.Errorf("%q found", s)
		}
	}
	if e := newLineSet(""); e.len() != 0 || e.has("") {
		t.Errorf("empty text: len %d", e.len())
	}
}

// TestChecker_HoldsNoPointerPerDomain: the lists are a few objects, not
// one per domain, so the garbage collector has little to mark in them.
func TestChecker_HoldsNoPointerPerDomain(t *testing.T) {
	disposableDomains() // shared by every checker: loaded before counting
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	c := NewChecker([]string{"Example.ORG", "bücher.example"})
	runtime.GC()
	runtime.ReadMemStats(&b)
	if objs := int64(b.HeapObjects) - int64(a.HeapObjects); objs > 100 {
		t.Errorf("a checker of %d personal domains holds %d objects", c.Len(), objs)
	}
	if c.Kind("a@example.org") != Personal || c.Kind("a@xn--bcher-kva.example") != Personal || c.Kind("a@acme-corp.com") != Work {
		t.Error("the extra domains are not personal")
	}
	runtime.KeepAlive(c)
}
