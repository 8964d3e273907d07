package access_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crierhq/crier/access"
)

// TestLimiterAccount: five failures for one account, from changing
// addresses, lock it for three minutes, then six, and so on; another
// account from the same addresses is not held up, and a success forgets
// the account's failures.
func TestLimiterAccount(t *testing.T) {
	c := newClock()
	l := access.NewLimiter(c)
	for i := range access.AccountFailures {
		addr := fmt.Sprintf("192.0.2.%d", i)
		if ok, _ := l.Allow("anna", addr); !ok {
			t.Fatalf("try %d refused", i+1)
		}
		l.Failed("anna", addr)
	}
	ok, wait := l.Allow("ANNA ", "198.51.100.1")
	if ok || wait != 3*time.Minute {
		t.Fatalf("sixth try: ok %v, wait %v; want a wait of 3m", ok, wait)
	}
	if ok, _ := l.Allow("bert", "192.0.2.1"); !ok {
		t.Error("another account refused")
	}
	c.Advance(3 * time.Minute)
	if ok, _ := l.Allow("anna", "198.51.100.1"); !ok {
		t.Fatal("refused after the wait")
	}
	l.Failed("anna", "198.51.100.1")
	if ok, wait := l.Allow("anna", "198.51.100.1"); ok || wait != 6*time.Minute {
		t.Errorf("after a further failure: ok %v, wait %v; want a wait of 6m", ok, wait)
	}
	l.Succeeded("anna", "198.51.100.1")
	if ok, _ := l.Allow("anna", "198.51.100.1"); !ok {
		t.Error("refused after a success")
	}
}

// TestLimiterAddress: one address that tries many names is stopped
// after AddressFailures; a success at one account does not lift it;
// other addresses go on.
func TestLimiterAddress(t *testing.T) {
	c := newClock()
	l := access.NewLimiter(c)
	const addr = "2001:db8:1:2::/64"
	for i := range access.AddressFailures {
		name := fmt.Sprintf("user%d", i)
		if ok, _ := l.Allow(name, addr); !ok {
			t.Fatalf("try %d refused", i+1)
		}
		l.Failed(name, addr)
	}
	if ok, _ := l.Allow("anna", addr); ok {
		t.Fatal("try past the address's limit allowed")
	}
	l.Succeeded("anna", addr)
	if ok, _ := l.Allow("bert", addr); ok {
		t.Error("a success lifted the address's limit")
	}
	if ok, _ := l.Allow("anna", "192.0.2.1"); !ok {
		t.Error("another address refused")
	}
	c.Advance(access.AddressWindow)
	if ok, _ := l.Allow("anna", addr); !ok {
		t.Error("still refused a window later")
	}
}

// TestLimiterBound: a flood of new names and addresses keeps the memory
// bounded and lifts no limit of a recent account.
func TestLimiterBound(t *testing.T) {
	c := newClock()
	l := access.NewLimiter(c)
	for range access.AccountFailures {
		l.Failed("anna", "192.0.2.1")
	}
	for i := range access.MaxTracked / 2 {
		c.Advance(time.Millisecond)
		l.Allow(fmt.Sprintf("n%d", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if ok, _ := l.Allow("anna", "198.51.100.9"); ok {
		t.Error("a flood of new keys lifted anna's limit")
	}
}
