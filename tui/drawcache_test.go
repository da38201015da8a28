package tui

import (
	"fmt"
	"sync"
	"testing"
)

func TestDrawCacheIsBoundedAndShared(t *testing.T) {
	c := newDrawCache(8)
	draws := 0
	get := func(seq uint64) string {
		return c.get(drawKey{width: 80, seq: seq}, func() string { draws++; return fmt.Sprint("row ", seq) })
	}
	for seq := range uint64(100) {
		if got := get(seq); got != fmt.Sprint("row ", seq) {
			t.Fatalf("#%d drawn %q", seq, got)
		}
		if n := c.len(); n > 16 {
			t.Fatalf("%d parts held, more than two generations of 8", n)
		}
	}
	draws = 0
	get(99)
	get(98)
	if draws != 0 {
		t.Fatalf("recent rows drawn again (%d)", draws)
	}
	get(0)
	if draws != 1 {
		t.Fatal("a long-gone row was still held")
	}
}

func TestDrawCacheConcurrentUse(t *testing.T) {
	c := newDrawCache(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				seq := uint64((i * (g + 1)) % 200)
				if got, want := c.get(drawKey{seq: seq}, func() string { return fmt.Sprint(seq) }), fmt.Sprint(seq); got != want {
					t.Errorf("#%d: %q", seq, got)
					return
				}
			}
		})
	}
	wg.Wait()
}
