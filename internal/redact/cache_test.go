package redact

import (
	"fmt"
	"sync"
	"testing"
)

func TestCacheSharesMatchers(t *testing.T) {
	c := NewCache(2)
	a, b := NewShared(c), NewShared(c)
	a.Add("s3cr3t-value")
	b.Add("s3cr3t-value")
	if got := a.String("x s3cr3t-value y"); got != "x *** y" {
		t.Fatalf("a: %q", got)
	}
	if got := b.String("x s3cr3t-value y"); got != "x *** y" {
		t.Fatalf("b: %q", got)
	}
	if a.matcher() != b.matcher() {
		t.Error("the same patterns built two matchers")
	}
	// A Redactor with more patterns gets its own matcher, and still masks
	// everything it registered.
	b.AddDerived("Bearer s3cr3t-value")
	if a.matcher() == b.matcher() {
		t.Error("different patterns share a matcher")
	}
	if got := b.String("Bearer s3cr3t-value and other-v4lue"); got != "*** and other-v4lue" {
		t.Errorf("b after AddDerived: %q", got)
	}
	if got := a.String("Bearer s3cr3t-value"); got != "Bearer ***" {
		t.Errorf("a is affected by b: %q", got)
	}
}

func TestCacheEvicts(t *testing.T) {
	c := NewCache(2)
	for i := 0; i < 5; i++ {
		r := NewShared(c)
		v := fmt.Sprintf("value-%d-secret", i)
		r.Add(v)
		if got := r.String(v); got != Mask {
			t.Fatalf("%d: %q", i, got)
		}
	}
	if n := len(c.m); n != 2 || len(c.order) != 2 {
		t.Errorf("cache holds %d matchers (%d keys), want 2", n, len(c.order))
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(4)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				r := NewShared(c)
				v := fmt.Sprintf("shared-secret-%d", i%6)
				r.Add(v)
				if got := r.String("<" + v + ">"); got != "<***>" {
					t.Errorf("goroutine %d: %q", g, got)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestNilCacheBuilds(t *testing.T) {
	var c *Cache
	r := NewShared(c)
	r.Add("abcdefgh")
	if got := r.String("abcdefgh"); got != Mask {
		t.Errorf("%q", got)
	}
}
